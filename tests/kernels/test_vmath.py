"""Tests for kernels.cpu.vmath: accuracy in ulp, IEEE special values, dtype
preservation, vectorisation of a plain loop, and on-disk caching."""

import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numba import njit, types

from kernels.cpu import vmath

ROOT = Path(__file__).resolve().parents[2]
DTYPES = (np.float32, np.float64)
N = 30_000  # points per sample group (a few groups per function)

# Max error in ulp against a correctly rounded reference (module docstring
# lists the measured values; these leave a little headroom).
MAX_ULP = {
    "exp": (1.0, 1.0),
    "expm1": (2.0, 2.0),
    "log": (1.0, 1.0),
    "log1p": (1.0, 1.0),
    "tanh": (2.5, 2.5),
    "sigmoid": (3.0, 3.0),
    "sin": (3.0, 3.0),
    "cos": (3.0, 3.0),
    "erf": (1.5, 1.5),
}
# Range over which sin/cos reduce exactly even without FMA hardware.
TRIG_RANGE = {np.float32: 2.5e4, np.float64: 6.5e6}


@njit
def _map(f, x, out):
    """The loop kernel under test: one specialisation per (function, dtype)."""
    for i in range(x.size):
        out[i] = f(x[i])


def _apply(name, x):
    out = np.empty_like(x)
    _map(getattr(vmath, name), x, out)
    return out


def _map_llvm(name, dt):
    fn = getattr(vmath, name)
    _apply(name, np.ones(4, dt))
    nbt = types.float32 if dt == np.float32 else types.float64
    sig = next(s for s in _map.signatures if s[0].dispatcher is fn and s[1].dtype == nbt)
    return _map.inspect_llvm(sig)


# --- reference and error measure ----------------------------------------------

# x87 long double carries 64 bits: enough for a correctly rounded float64
# reference.  Elsewhere (e.g. aarch64 quad, or MSVC double) fall back to
# float64 and allow one more ulp for the reference's own rounding.
_LONG = np.finfo(np.longdouble).nmant >= 63
_math_erf = np.frompyfunc(math.erf, 1, 1)


def _reference(name, x):
    """(reference values in a wider type, extra ulp allowed for the reference)."""
    wide = np.float64 if x.dtype == np.float32 or not _LONG else np.longdouble
    extra = 0.0 if wide != x.dtype else 1.0
    if name == "erf":  # libm erf, float64 only
        return _math_erf(x.astype(np.float64)).astype(np.float64), 0.0 if x.dtype == np.float32 else 1.0
    xw = x.astype(wide)
    with np.errstate(all="ignore"):
        if name == "sigmoid":
            return 1 / (1 + np.exp(-xw)), extra
        return getattr(np, name)(xw), extra


def _ulp_error(ours, ref, dt):
    """|ours - ref| in units of the dt ulp at ref (subnormal spacing below tiny).

    Results equal to ref rounded to dt count as exact, which covers inf, 0 and NaN.
    """
    fi = np.finfo(dt)
    with np.errstate(all="ignore"):
        rounded = ref.astype(dt)
        _, e = np.frexp(np.abs(ref))
        ulp = np.ldexp(np.ones_like(ref), np.maximum(e.astype(np.int64) - 1, fi.minexp) - fi.nmant)
        err = np.abs(ours.astype(ref.dtype) - ref) / ulp
    same = (ours == rounded) | (np.isnan(ours) & np.isnan(rounded))
    return np.where(same, 0.0, np.where(np.isnan(err), np.inf, err))


# --- samples ------------------------------------------------------------------


def _logu(rng, lo, hi, n=N):
    """n values log-uniform in [lo, hi] (lo > 0)."""
    return np.exp2(rng.uniform(np.log2(lo), np.log2(hi), n))


def _signed(rng, v):
    return v * rng.choice([-1.0, 1.0], v.size)


def _samples(name, dt, rng):
    """Points spread over every magnitude (subnormal to max) plus the core range."""
    fi = np.finfo(dt)
    tiny, big = float(fi.smallest_subnormal), float(fi.max)
    every = _logu(rng, tiny, big)
    small = _logu(rng, tiny, 4.0)
    hi = math.log(big)  # exp overflows beyond
    lo = math.log(tiny)  # exp underflows to 0 beyond
    groups = {
        "exp": [_signed(rng, every), rng.uniform(lo - 5, hi + 5, N), rng.uniform(hi - 1, hi + 1, N),
                rng.uniform(lo - 1, lo + 1, N)],
        "expm1": [_signed(rng, every), _signed(rng, small), rng.uniform(-60, hi + 5, N)],
        "log": [every, rng.uniform(0.5, 2.0, N), 1 + _signed(rng, _logu(rng, 1e-12, 0.3))],
        "log1p": [every, -_logu(rng, tiny, 1.0), -1 + _logu(rng, 1e-12, 1.0)],
        "tanh": [_signed(rng, every), rng.uniform(-20, 20, N)],
        "sigmoid": [_signed(rng, every), rng.uniform(lo - 5, -lo + 5, N)],
        "erf": [_signed(rng, every), rng.uniform(-7, 7, N)],
    }
    trig = TRIG_RANGE[dt]
    groups["sin"] = groups["cos"] = [_signed(rng, _logu(rng, tiny, trig)), rng.uniform(-trig, trig, N),
                                     rng.uniform(-10, 10, N)]
    x = np.concatenate(groups[name]).astype(dt)
    return x[np.isfinite(x)]


# --- tests --------------------------------------------------------------------


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", vmath.__all__)
def test_accuracy_ulp(name, dt):
    x = _samples(name, dt, np.random.default_rng(sorted(vmath.__all__).index(name)))
    ours = _apply(name, x)
    ref, extra = _reference(name, x)
    err = _ulp_error(ours, ref, dt)
    worst = int(np.argmax(err))
    bound = MAX_ULP[name][DTYPES.index(dt)] + extra
    assert err[worst] <= bound, f"{name}({x[worst]!r}) = {ours[worst]!r}, ref {ref[worst]!r}: {err[worst]:.2f} ulp"


INF, NAN = math.inf, math.nan
SPECIAL = {
    "exp": [(INF, INF), (-INF, 0.0), (NAN, NAN), (0.0, 1.0), (-0.0, 1.0), (1000.0, INF), (-1000.0, 0.0)],
    "expm1": [(INF, INF), (-INF, -1.0), (NAN, NAN), (0.0, 0.0), (-0.0, -0.0), (1000.0, INF), (-1000.0, -1.0)],
    "log": [(0.0, -INF), (-0.0, -INF), (-1.0, NAN), (-INF, NAN), (INF, INF), (NAN, NAN), (1.0, 0.0)],
    "log1p": [(-1.0, -INF), (-2.0, NAN), (-INF, NAN), (INF, INF), (NAN, NAN), (0.0, 0.0), (-0.0, -0.0)],
    "tanh": [(INF, 1.0), (-INF, -1.0), (NAN, NAN), (0.0, 0.0), (-0.0, -0.0), (1e30, 1.0), (-1e30, -1.0)],
    "sigmoid": [(INF, 1.0), (-INF, 0.0), (NAN, NAN), (0.0, 0.5), (-0.0, 0.5), (1e30, 1.0), (-1e30, 0.0)],
    "sin": [(INF, NAN), (-INF, NAN), (NAN, NAN), (0.0, 0.0), (-0.0, -0.0)],
    "cos": [(INF, NAN), (-INF, NAN), (NAN, NAN), (0.0, 1.0), (-0.0, 1.0)],
    "erf": [(INF, 1.0), (-INF, -1.0), (NAN, NAN), (0.0, 0.0), (-0.0, -0.0), (10.0, 1.0), (-10.0, -1.0)],
}


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", vmath.__all__)
def test_special_values(name, dt):
    x, expected = (np.array(v, dtype=dt) for v in zip(*SPECIAL[name]))
    ours = _apply(name, x)
    np.testing.assert_array_equal(ours, expected)
    zero = expected == 0
    np.testing.assert_array_equal(np.signbit(ours[zero]), np.signbit(expected[zero]))


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.__name__)
def test_tiny_arguments_pass_through(dt):
    """Odd functions and expm1/log1p return x itself for subnormal and tiny x."""
    fi = np.finfo(dt)
    x = np.array([fi.smallest_subnormal, fi.tiny, 1e-30, 1e-20], dtype=dt)
    x = np.concatenate([x, -x])
    for name in ("expm1", "log1p", "tanh", "sin"):
        np.testing.assert_array_equal(_apply(name, x), x, err_msg=name)


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.__name__)
def test_trig_bounded_beyond_accurate_range(dt):
    rng = np.random.default_rng(0)
    x = _signed(rng, _logu(rng, TRIG_RANGE[dt], float(np.finfo(dt).max))).astype(dt)
    for name in ("sin", "cos"):
        y = _apply(name, x)
        assert np.all(np.abs(y) <= 1), name


@pytest.mark.parametrize("name", vmath.__all__)
def test_dtype_preserved(name):
    """float32 in -> float32 out, with no float64 arithmetic in a float32 loop."""
    fn = getattr(vmath, name)
    for nbt in (types.float32, types.float64):
        fn.compile((nbt,))
        assert fn.overloads[(nbt,)].signature.return_type == nbt
    assert "double" not in _map_llvm(name, np.float32)


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", vmath.__all__)
def test_loop_vectorises(name, dt):
    elem = "float" if dt == np.float32 else "double"
    assert re.search(rf"<\d+ x {elem}>", _map_llvm(name, dt))


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.__name__)
def test_exp_term_is_exp_down_to_the_normal_range_then_zero(dt):
    """The softmax terms' exp: bit for bit ``exp`` from its lower bound up (and a little
    above 0), 0 below the bound and at -inf, NaN kept; it vectorises in its own dtype."""
    lo = dt(-87.0 if dt == np.float32 else -708.0)
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(lo, 0, N), rng.uniform(-1e-3, 0, 1000), [lo, 0.0, -0.0, 1e-6, 10.0]]).astype(dt)
    np.testing.assert_array_equal(_apply("exp_term", x), _apply("exp", x))
    below = np.array([np.nextafter(lo, dt(-np.inf)), lo - 5, -1e30, -np.inf], dt)
    np.testing.assert_array_equal(_apply("exp_term", below), np.zeros(4, dt))
    assert np.isnan(_apply("exp_term", np.array([np.nan], dt))[0])
    elem = "float" if dt == np.float32 else "double"
    llvm = _map_llvm("exp_term", dt)
    assert re.search(rf"<\d+ x {elem}>", llvm)
    if dt == np.float32:
        assert "double" not in llvm


def test_cache_hit_in_second_process(tmp_path):
    """A cache=True kernel using vmath is loaded from disk by a new process."""
    script = tmp_path / "vmath_user.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from numba import njit
        from kernels.cpu import vmath

        @njit(cache=True)
        def kernel(x, out):
            for i in range(x.size):
                out[i] = vmath.tanh(x[i]) + vmath.log1p(x[i] * x[i])

        x = np.linspace(-2, 2, 64).astype(np.float32)
        out = np.empty_like(x)
        kernel(x, out)
        print(sum(kernel.stats.cache_hits.values()), repr(float(out.sum())))
    """))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    runs = [
        subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=True)
        .stdout.split()
        for _ in range(2)
    ]
    assert runs[0][0] == "0" and runs[1][0] == "1"
    assert runs[0][1] == runs[1][1]


@njit
def _max_min(x):
    hi, lo = x[0], x[0]
    for i in range(1, x.size):
        hi, lo = vmath.maximum(hi, x[i]), vmath.minimum(lo, x[i])
    return hi, lo


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.int64])
def test_maximum_minimum_propagate_nan(dt):
    x = (np.random.default_rng(0).standard_normal(100) * 50).astype(dt)
    assert _max_min(x) == (x.max(), x.min())
    if dt != np.int64:
        x[37] = np.nan
        assert all(np.isnan(v) for v in _max_min(x))
