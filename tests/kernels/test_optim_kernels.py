"""kernels.cpu.optim on plain arrays: the parallel path equals the serial one, dtypes are kept."""

import numpy as np
import pytest

from kernels.cpu import optim as ok

# (kind, number of state arrays, hyper-parameters exercising most branches)
RULES = [
    (ok.SGD, 1, [0.01, 0.1, 0.9, 0.7, 1, 0, 0]),
    (ok.ADAM, 3, [-0.01, 0.1, 0.99, 0.01, 0.9, 1e-8, 0.1, 0.999, 0, 1, 1, 0.9]),
    (ok.RMSPROP, 3, [0.01, 0.9, 0.1, 1e-8, 0.1, 0.9, 1, 0]),
    (ok.ADAGRAD, 1, [-0.1, 0.1, 1e-10, 1]),
]


@pytest.mark.parametrize("kind,nstates,hyper", RULES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parallel_equals_serial_and_keeps_dtype(kind, nstates, hyper, dtype):
    n = 100_003  # not a multiple of the chunk size
    rs = np.random.RandomState(kind)
    p, g = rs.randn(n).astype(dtype), rs.randn(n).astype(dtype)
    states = [np.abs(rs.randn(n)).astype(dtype) for _ in range(nstates)]
    empty = [np.empty(0, dtype)] * (3 - nstates)
    h = np.asarray(hyper, dtype)
    serial = [p.copy()] + [s.copy() for s in states]
    parallel = [p.copy()] + [s.copy() for s in states]
    ok.update_serial(kind, serial[0], g, *serial[1:], *empty, h)
    ok.update_parallel(kind, parallel[0], g, *parallel[1:], *empty, h)
    for a, b in zip(serial, parallel):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(serial[0], p)


def test_update_entry_point_reshapes_in_place():
    p = np.ones((3, 4), np.float32)
    buf = np.zeros((3, 4), np.float32)
    ok.update(ok.SGD, p, np.full((3, 4), 2, np.float32), [buf], [0.5, 0, 0.9, 1, 0, 0, 1])
    assert p.dtype == np.float32 and np.all(p == 0) and np.all(buf == 2)
