"""The CUDA optimizer kernel vs the CPU one (itself tested against torch), same scalars ``h``."""

import numpy as np
import pytest
from numba import cuda

from kernels.cpu import optim as cpu
from kernels.cuda import launch
from kernels.cuda import optim as gpu

N = 150

# (kind, number of states, h as each CPU rule's docstring lays it out)
CASES = {
    "sgd": (cpu.SGD, 0, [0.1, 0.0, 0.0, 1.0, 0, 0, 0]),
    "sgd momentum nesterov wd": (cpu.SGD, 1, [0.1, 0.01, 0.9, 0.9, 1, 0, 0]),
    "adam": (cpu.ADAM, 2, [-0.001 / 0.1, 0.1, 0.999, 0.001, 0.001 ** 0.5, 1e-8, 0, 1, 0, 0, 0, 0.9]),
    "adamw amsgrad": (cpu.ADAM, 3, [-0.001 / 0.19, 0.1, 0.999, 0.001, 0.002 ** 0.5, 1e-8, 0.01, 1 - 1e-5,
                                    1, 1, 0, 0.9]),
    "adam maximize, lerp weight > 0.5": (cpu.ADAM, 2, [-0.01, 0.7, 0.9, 0.1, 0.3, 1e-8, 0.1, 1, 0, 0, 1, 0.3]),
    "rmsprop centered momentum": (cpu.RMSPROP, 3, [0.01, 0.99, 0.01, 1e-8, 0.01, 0.9, 1, 0]),
    "adagrad": (cpu.ADAGRAD, 1, [-0.01, 0.01, 1e-10, 0]),
}


@pytest.fixture(autouse=True)
def small_launches():
    launch.configure(threads=32, max_blocks=2)
    yield
    launch.configure(threads=256, max_blocks=4096)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_update_matches_the_cpu_kernel_over_steps(case, dtype):
    kind, n_states, h = CASES[case]
    rng = np.random.default_rng(0)
    p = rng.standard_normal(N).astype(dtype)
    states = [1 + np.abs(rng.standard_normal(N)).astype(dtype) for _ in range(n_states)]
    if kind == cpu.RMSPROP:
        states[2] *= dtype(0.1)  # the running mean of g: small, so the centred variance stays > 0
    dp, ds = cuda.to_device(p), [cuda.to_device(s) for s in states]
    dh = cuda.to_device(np.asarray(h, dtype))
    for _ in range(3):
        g = rng.standard_normal(N).astype(dtype)
        cpu.update(kind, p, g, states, h)
        gpu.update(kind, dp, cuda.to_device(g), ds, dh)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(dp.copy_to_host(), p, rtol=tol, atol=tol)
    for d, s in zip(ds, states):
        np.testing.assert_allclose(d.copy_to_host(), s, rtol=tol, atol=tol)
