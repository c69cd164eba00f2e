"""The xoroshiro128+ kernels: Numba's own stream, the right distributions, reproducible seeds."""

import numpy as np
import pytest
from numba import cuda
from numba.cuda.random import create_xoroshiro128p_states, xoroshiro128p_uniform_float64
from scipy import stats

from kernels.cuda import random as rnd

BLOCKS, THREADS, N = 2, 32, 1000  # each thread draws ~16 elements

pytestmark = [
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),  # uint64 arithmetic wraps
    # numba's state set-up runs in object mode under the simulator, and says so
    pytest.mark.filterwarnings("ignore:\\nCompilation is falling back to object mode"),
]


def _gen(seed=7):
    return rnd.Generator(seed, blocks=BLOCKS, threads=THREADS)


def test_float64_uniforms_are_numbas_xoroshiro128p_stream():
    out = cuda.device_array(N, np.float64)
    _gen().uniform(out)
    ref = create_xoroshiro128p_states(BLOCKS * THREADS, seed=7).copy_to_host()
    grid = BLOCKS * THREADS
    want = np.empty(N)
    for i in range(N):
        want[i] = xoroshiro128p_uniform_float64(ref, i % grid)
    np.testing.assert_array_equal(out.copy_to_host(), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_and_normal_distributions(dtype):
    g = _gen()
    u = cuda.device_array(N, dtype)
    g.uniform(u, -1.0, 3.0)
    u = u.copy_to_host()
    assert u.dtype == dtype and u.min() >= -1 and u.max() < 3
    assert stats.kstest(u, stats.uniform(-1, 4).cdf).pvalue > 1e-3
    z = cuda.device_array(N, dtype)
    g.normal(z, 2.0, 0.5)
    assert stats.kstest(z.copy_to_host(), stats.norm(2.0, 0.5).cdf).pvalue > 1e-3


def test_same_seed_same_numbers_and_state_advances():
    a, b, c = (cuda.device_array(N, np.float32) for _ in range(3))
    g1 = _gen(3)
    g1.normal(a)
    g1.normal(c)
    _gen(3).normal(b)
    np.testing.assert_array_equal(a.copy_to_host(), b.copy_to_host())
    assert not np.array_equal(a.copy_to_host(), c.copy_to_host())
    d = cuda.device_array(N, np.float32)
    _gen(4).normal(d)
    assert not np.array_equal(a.copy_to_host(), d.copy_to_host())


def test_randint_covers_the_range_evenly():
    out = cuda.device_array(N, np.int64)
    _gen().randint(out, -3, 5)
    got = out.copy_to_host()
    assert got.min() == -3 and got.max() == 4
    counts = np.bincount(got + 3, minlength=8)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_dropout_mask_is_scaled_bernoulli():
    out = cuda.device_array(N, np.float32)
    _gen().dropout_mask(out, 0.3)
    got = out.copy_to_host()
    assert set(np.unique(got)) <= {np.float32(0), np.float32(1 / 0.7)}
    kept = int((got != 0).sum())
    assert stats.binomtest(kept, N, 0.7).pvalue > 1e-3
