"""The CUDA optimizer kernel vs the CPU one (itself tested against torch), same scalars ``h``:
several parameters of uneven sizes per call, more than one launch's chunk of them."""

import numpy as np
import pytest
from numba import cuda

from kernels.cpu import optim as cpu
from kernels.cuda import launch
from kernels.cuda import optim as gpu

SIZES = (150, 1, 37, 3, 64, 5, 9, 2, 41)  # more than gpu.CHUNK: two launches, the second padded

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


class _CountingLaunches:
    """Stands for ``gpu.update_k`` and counts its launches."""

    def __init__(self, kernel):
        self.kernel, self.launches = kernel, 0

    def __getitem__(self, config):
        self.launches += 1
        return self.kernel[config]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_update_many_matches_the_cpu_kernel_over_steps(case, dtype, monkeypatch):
    kind, n_states, h = CASES[case]
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(n).astype(dtype) for n in SIZES]
    states = [[1 + np.abs(rng.standard_normal(n)).astype(dtype) for _ in range(n_states)] for n in SIZES]
    if kind == cpu.RMSPROP:
        for s in states:
            s[2] *= dtype(0.1)  # the running mean of g: small, so the centred variance stays > 0
    dparams = [cuda.to_device(p) for p in params]
    dstates = [[cuda.to_device(s) for s in ss] for ss in states]
    dh = tuple(dtype(v) for v in h) + (dtype(0),) * (gpu.N_SCALARS - len(h))
    counter = _CountingLaunches(gpu.update_k)
    monkeypatch.setattr(gpu, "update_k", counter)
    for _ in range(3):
        grads = [rng.standard_normal(n).astype(dtype) for n in SIZES]
        cpu.update_many(kind, list(zip(params, grads, states)), h)
        gpu.update_many(kind, [(p, cuda.to_device(g), s) for p, g, s in zip(dparams, grads, dstates)], dh)
    assert counter.launches == 3 * -(-len(SIZES) // gpu.CHUNK)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    for dp, p, ds, ss in zip(dparams, params, dstates, states):
        np.testing.assert_allclose(dp.copy_to_host(), p, rtol=tol, atol=tol)
        for d, s in zip(ds, ss):
            np.testing.assert_allclose(d.copy_to_host(), s, rtol=tol, atol=tol)
