"""Vectorisable float32/float64 elementary functions for Numba loops.

Why: inside an ``@njit`` loop, ``math.exp``, ``math.tanh``, ... lower to
scalar libm calls, so LLVM cannot vectorise the loop (a 4M-element tanh runs
~40x slower than NumPy).  The functions here use only arithmetic, selects and
bit casts; once inlined, a loop such as ``out[i] = tanh(x[i])`` vectorises
(SSE/AVX2/AVX-512, whatever the host has).

API: ``exp, expm1, log, log1p, tanh, sigmoid, sin, cos, erf`` and ``exp_term`` (exp of a
softmax term, subnormal results flushed).  Each is an
``@njit`` function specialised on its argument's type: float32 in -> float32
out, computed entirely in float32 (every constant is float32, so nothing is
promoted to float64, which would halve the SIMD width); float64 -> float64.
Call them from any jitted code, including ``cache=True`` functions::

    from kernels.cpu import vmath

    @njit(cache=True)
    def tanh_kernel(x, out):
        for i in range(x.size):
            out[i] = vmath.tanh(x[i])

They also accept Python/NumPy float scalars (other argument types are a
typing error), but are meant for jitted loops.

``maximum`` and ``minimum`` (two arguments of one numeric type) are NaN-propagating
``llvm.maximum``/``llvm.minimum``: a reduction loop written with them vectorises, where
one written with compare-and-select does not.

Methods (all branch-free: special cases are selects, so loops stay
vectorisable; no fastmath, IEEE semantics are kept; ``llvm.fmuladd`` lets
LLVM fuse multiply-adds where the host has FMA, and the results below hold
with or without it):

* exp, expm1: x = n*ln2 + r (Cody-Waite with a two-part ln2, the rounding
  error of r fed back into the polynomial), expm1(r) by a minimax
  polynomial, 2**n built from exponent bits (``math.ldexp`` does not
  vectorise).  exp scales by 2**n in two halves, so subnormal results are
  right and overflow gives inf; expm1 returns 2*(2**(n-1)*(1 + expm1(r)) - 1/2).
* log, log1p: x = m * 2**e with m in [sqrt(1/2), sqrt(2)), f = m - 1,
  log(1+f) = 2*atanh(s), s = f/(2+f), with a minimax polynomial in s**2.
  log1p adds the exact rounding error of 1+x as a correction.  Subnormal
  inputs are scaled into the normal range first.
* tanh|x| = (1 - w)/(1 + w), w = exp(-2|x|) = 2**n * (1 + expm1(r)) with
  n <= 0, so numerator and denominator are each one fused rounding (no
  cancellation for small |x|, no overflow for large); sign copied from x.
* sigmoid(x) = (1 or e)/(1 + e) with e = exp(-|x|): never overflows, and
  stays accurate for large negative x (subnormal results included).
* sin, cos: n = round(x/pi + h), r = x - (n - h)*pi with h = 0 (sin) or 1/2
  (cos, i.e. sin(x + pi/2)), then (-1)**n * sin(r) from one odd minimax
  polynomial on [-pi/2, pi/2].  pi is split Cody-Waite style into parts with
  few bits (float32: 4 parts, float64: 3) so the products are exact.
* erf: |x| < 1: x + x*P(x**2); otherwise 1 - exp(-x**2) * Q(t) with
  t = (|x| - 3)/(|x| + 3); sign copied from x.

Polynomial coefficients are weighted minimax (Remez) fits computed offline
with mpmath, rounded to the target precision.

Accuracy: max error in ulp against a correctly rounded reference (float32:
libm in float64; float64: x87 long double, mpmath for erf), measured on
5e6-8e6 random points per function and dtype (1e6 for float64 erf), spread
log-uniformly over all magnitudes (subnormal to overflow) plus dense samples
of the core range, on an AVX-512 host with and without FMA:

    function   float32   float64   domain
    exp        0.88      0.84      full range, incl. overflow and underflow
    expm1      1.48      1.56      full range
    log        0.83      0.85      all positive floats, incl. subnormals
    log1p      0.83      0.86      (-1, max]
    tanh       1.90      1.92      full range
    sigmoid    2.34      2.26      full range
    sin, cos   2.39      2.35      |x| <= 2.5e4 (float32), |x| <= 6.5e6 (float64)
    erf        1.08      1.11      full range

sin/cos: the reduction is exact while the products of n with the leading
parts of pi are, i.e. for |x| up to ~2.5e4 (float32) and ~6.5e6 (float64).
With FMA hardware it stays accurate further (measured <= 2.5 ulp up to 1e5
in float32 and 1e13 in float64); without it the error explodes past those
bounds.  For any finite x the result is within [-1, 1]; sin/cos(+-inf) = nan.

Special values: exp(+inf) = inf, exp(-inf) = 0, overflow to inf and gradual
underflow to 0; expm1(-inf) = -1; log(0) = -inf, log(x < 0) = nan,
log(inf) = inf; log1p(-1) = -inf; tanh(+-inf) = +-1; sigmoid(+-inf) = 1/0
without overflow; erf(+-inf) = +-1; NaN propagates everywhere.  Odd
functions and expm1/log1p return tiny and subnormal x unchanged, keeping
the sign of -0.0.
"""

import collections
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload
from ..guard import guard_kernels

__all__ = ["exp", "expm1", "log", "log1p", "tanh", "sigmoid", "sin", "cos", "erf"]  # the unary functions


# ---------------------------------------------------------------------------
# Bit-level intrinsics.  They work on the native width of the float (i32 for
# float32, i64 for float64); Numba's own integer arithmetic would promote
# int32 to int64 and break the float32 vector width.
# ---------------------------------------------------------------------------

# numba float type -> (integer width, mantissa bits, exponent bias, numpy type)
_LAYOUT = {
    types.float32: (32, 23, 127, np.float32),
    types.float64: (64, 52, 1023, np.float64),
}


def _int_view(builder, value, width):
    """Bit cast of a float LLVM value to the integer of the same width."""
    return builder.bitcast(value, ir.IntType(width))


def _minmax_codegen(float_name, int_name):
    def codegen(context, builder, sig, args):
        ty = args[0].type
        fnty = ir.FunctionType(ty, [ty, ty])
        if isinstance(sig.return_type, types.Float):
            name = float_name
        else:
            name = ("s" if sig.return_type.signed else "u") + int_name
        fn = builder.module.declare_intrinsic("llvm." + name, [ty], fnty)
        return builder.call(fn, args)
    return codegen


def _minmax_sig(a, b):
    if a == b and isinstance(a, (types.Float, types.Integer)):
        return a(a, b)
    return None


@intrinsic
def maximum(typingctx, a, b):
    """max(a, b) of one numeric type, propagating NaN (``llvm.maximum``): unlike
    compare-and-select, LLVM vectorises it inside reductions."""
    return _minmax_sig(a, b), _minmax_codegen("maximum", "max")


@intrinsic
def shift_max(typingctx, a, b):
    """max(a, b) of floats for the shift of a softmax-like sum (``llvm.maxnum`` flagged
    ``nnan``: a bare vmaxps, and a reduction LLVM vectorises with short rows' remainders
    cheap; ``maximum``'s NaN handling cost 5x over rows of 64). Where a NaN is among the
    values the result is some value (NaN or not), which is harmless there: the NaN
    reaches the result through its own exp term, whatever the shift."""
    if not (a == b and isinstance(a, types.Float)):
        return None

    def codegen(context, builder, sig, args):
        ty = args[0].type
        fn = builder.module.declare_intrinsic("llvm.maxnum", [ty], ir.FunctionType(ty, [ty, ty]))
        return builder.call(fn, args, fastmath=("nnan",))
    return a(a, b), codegen


@intrinsic
def minimum(typingctx, a, b):
    """min(a, b) propagating NaN (``llvm.minimum``), see ``maximum``."""
    return _minmax_sig(a, b), _minmax_codegen("minimum", "min")


@intrinsic
def _fma(typingctx, a, b, c):
    """a*b + c, fused when the target has FMA (llvm.fmuladd), else mul+add."""
    if a not in _LAYOUT or b != a or c != a:
        return None

    def codegen(context, builder, sig, args):
        fty = args[0].type
        fn = builder.module.declare_intrinsic(
            "llvm.fmuladd", [fty], ir.FunctionType(fty, [fty, fty, fty])
        )
        return builder.call(fn, args)

    return a(a, b, c), codegen


@intrinsic
def _pow2(typingctx, k):
    """2.0**n, where k = n + shifter holds the integer n in its low mantissa bits.

    (shifter = 1.5 * 2**mantissa_bits, see the constant tables.)  n must lie in
    the normal exponent range, e.g. [-1022, 1023] for float64.
    """
    if k not in _LAYOUT:
        return None
    width, mant, bias, _ = _LAYOUT[k]

    def codegen(context, builder, sig, args):
        ity = ir.IntType(width)
        bits = builder.shl(_int_view(builder, args[0], width), ity(mant))
        bits = builder.add(bits, ity(bias << mant))
        return builder.bitcast(bits, args[0].type)

    return k(k), codegen


@intrinsic
def _flip_sign_if_odd(typingctx, y, k):
    """-y if the integer n held in k = n + shifter is odd, else y."""
    if y not in _LAYOUT or k != y:
        return None
    width = _LAYOUT[y][0]

    def codegen(context, builder, sig, args):
        odd = builder.shl(_int_view(builder, args[1], width), ir.IntType(width)(width - 1))
        bits = builder.xor(_int_view(builder, args[0], width), odd)
        return builder.bitcast(bits, args[0].type)

    return y(y, k), codegen


@intrinsic
def _frexp(typingctx, x):
    """(m, e) with x = m * 2**e, m in [sqrt(1/2), sqrt(2)) and e integral.

    Only meaningful for positive normal x.
    """
    if x not in _LAYOUT:
        return None
    width, mant, _, npty = _LAYOUT[x]
    sqrt_half_bits = int(np.sqrt(npty(0.5)).view(f"int{width}"))
    sig = types.UniTuple(x, 2)(x)

    def codegen(context, builder, sig, args):
        ity = ir.IntType(width)
        bits = _int_view(builder, args[0], width)
        e = builder.ashr(builder.sub(bits, ity(sqrt_half_bits)), ity(mant))
        m = builder.bitcast(builder.sub(bits, builder.shl(e, ity(mant))), args[0].type)
        ef = builder.sitofp(e, args[0].type)
        return context.make_tuple(builder, sig.return_type, (m, ef))

    return sig, codegen


# ---------------------------------------------------------------------------
# Constants, one table per float type.  Jitted code gets the table matching
# its argument with _consts(x); all fields then have that float type.
# ---------------------------------------------------------------------------

_h = float.fromhex

_COMMON = dict(
    zero=0.0, half=0.5, one=1.0, two=2.0, inf=math.inf, nan=math.nan,
    log2e=1.4426950408889634,
    inv_pi=0.3183098861837907,
    erf_t=1.0,  # erf switches from the x**2 series to the erfc form here
    erf_k=3.0,  # centre of the erfc variable t = (|x| - k)/(|x| + k)
)

_PER_TYPE = {
    np.float32: dict(
        shifter=1.5 * 2.0**23,  # x + shifter rounds x to an integer held in the low bits
        tiny=2.0**-25,  # below this expm1(x) = log1p(x) = x
        ln2_hi=_h("0x1.62e4p-1"),  # 16 bits: n*ln2_hi exact for |n| < 2**8
        ln2_lo=_h("0x1.7f7d1cp-20"),
        exp_bound=150.0,  # exp saturates to inf/0 beyond; keeps n/2 in exponent range
        term_lo=-87.0, term_hi=88.0,  # exp_term's range: one 2**n in the normal exponents
        expm1_lo=-25.0,  # expm1 = -1 below
        expm1_hi=89.0,  # expm1 = inf above
        # expm1(r) = r + r**2 * P(r) on |r| <= ln2/2
        expm1_p=(0.4999999701976776, 0.16666539013385773, 0.041667740792036057,
                 0.00836704857647419, 0.0013840183382853866),
        min_normal=2.0**-126,
        subnormal_scale=2.0**25,
        subnormal_exp=25.0,
        # log(1+f) = 2s + s*z*P(z), s = f/(2+f), z = s**2 <= 0.0295
        log_p=(0.6666677594184875, 0.39977553486824036, 0.2987213730812073),
        # pi as a sum: all parts but the last have <= 10 bits, so m*part is exact
        # for |2m| < 2**14; only the last (small) product and subtraction round
        pi_parts=(_h("0x1.92p+1"), _h("0x1.fbp-11"), _h("0x1.51p-21"), _h("0x1.0b4612p-33")),
        # sin(r) = r + r**3 * P(r**2) on |r| <= pi/2
        sin_p=(-0.16666659712791443, 0.00833306834101677, -0.00019809664809145033,
               2.6057768991449848e-06),
        erf_amax=4.0,  # erf rounds to +-1 beyond
        # erf(x) = x + x*P(x**2) on |x| < erf_t
        erf_p=(0.12837916612625122, -0.3761262595653534, 0.11283578723669052, -0.026853347197175026,
               0.005187162198126316, -0.0007997853099368513, 7.806903158780187e-05),
        # erfc(a) = exp(-a**2) * P(t), t = (a - erf_k)/(a + erf_k), erf_t <= a <= erf_amax
        erfc_p=(0.1790003478527069, -0.32625505328178406, 0.245382621884346, -0.15127764642238617,
                0.06827208399772644, -0.029866714030504227),
    ),
    np.float64: dict(
        shifter=1.5 * 2.0**52,
        tiny=2.0**-54,
        ln2_hi=_h("0x1.62e42fefa38p-1"),  # 42 bits: n*ln2_hi exact for |n| < 2**11
        ln2_lo=_h("0x1.ef35793c7673p-45"),
        exp_bound=1000.0,  # |n| <= 1443: both halves of n stay in exponent range
        term_lo=-708.0, term_hi=709.0,
        expm1_lo=-50.0,
        expm1_hi=710.0,
        expm1_p=(0.5, 0.16666666666666677, 0.041666666666666685, 0.00833333333332183,
                 0.0013888888888896043, 0.00019841269885158695, 2.480158726228347e-05,
                 2.755724501247633e-06, 2.755735495986948e-07, 2.5108922309019862e-08,
                 2.0882334980017643e-09),
        min_normal=2.0**-1022,
        subnormal_scale=2.0**54,
        subnormal_exp=54.0,
        log_p=(0.6666666666666735, 0.39999999999408586, 0.28571428743969723,
               0.22222198391064701, 0.18183574705481964, 0.15313763595575816,
               0.14799020263607035),
        # 31-bit parts: exact products for |2m| < 2**22
        pi_parts=(_h("0x1.921fb544p+1"), _h("0x1.0b4611a4p-33"), _h("0x1.13198a2e03707p-64")),
        sin_p=(-0.16666666666666666, 0.008333333333333207, -0.0001984126984121248,
               2.755731921156948e-06, -2.5052106904421076e-08, 1.605894100208668e-10,
               -7.643019362186996e-13, 2.7214194246896456e-15),
        erf_amax=6.0,
        erf_p=(0.12837916709551256, -0.37612638903183343, 0.1128379167093695, -0.026866170641959154,
               0.005223977596736197, -0.0008548325485024743, 0.00012055280497661014,
               -1.4924465665460425e-05, 1.6444150923385252e-06, -1.6183993906347621e-07,
               1.361671003965944e-08, -7.607828059843064e-10),
        erfc_p=(0.1790011511813538, -0.326233560045902, 0.24560380166428306, -0.15011593634402004,
                0.07166585012801008, -0.02439232788703655, 0.0042703537856807385,
                0.0007131753221685362, -0.000581091986444103, 7.639445264677808e-05,
                0.00010295225863576646, 1.5203463315029676e-05),
    ),
}

_Consts = collections.namedtuple("_Consts", sorted(_COMMON.keys() | _PER_TYPE[np.float32].keys()))


def _make_consts(npty):
    """The constant table for one float type, every value converted to npty."""
    values = {**_COMMON, **_PER_TYPE[npty]}
    return _Consts(**{
        name: tuple(npty(c) for c in v) if isinstance(v, tuple) else npty(v)
        for name, v in values.items()
    })


_F32 = _make_consts(np.float32)
_F64 = _make_consts(np.float64)


def _consts(x):
    """Constant table matching the float type of x (jitted code only)."""
    raise NotImplementedError("_consts is only callable from jitted code")


@overload(_consts)
def _consts_impl(x):
    if x == types.float32:
        return lambda x: _F32
    if x == types.float64:
        return lambda x: _F64
    return None


# ---------------------------------------------------------------------------
# Shared building blocks
# ---------------------------------------------------------------------------

# IEEE division (x/0 -> inf/nan) instead of Python's ZeroDivisionError check,
# which would also put a branch into every vectorised loop.
_jit = njit(error_model="numpy")


@_jit
def _poly(u, coeffs):
    """coeffs[0] + coeffs[1]*u + ... by Horner's rule (unrolled by LLVM)."""
    acc = coeffs[-1]
    for i in range(len(coeffs) - 2, -1, -1):
        acc = _fma(acc, u, coeffs[i])
    return acc


@_jit
def _min(x, hi):
    """min(x, hi) that keeps NaN."""
    return hi if x > hi else x


@_jit
def _max(x, lo):
    """max(x, lo) that keeps NaN."""
    return lo if x < lo else x


@_jit
def _clamp(x, lo, hi):
    """x clamped to [lo, hi]; NaN stays NaN."""
    return _max(_min(x, hi), lo)


@_jit
def _expm1_reduced(c, x):
    """Split x = n*ln2 + r, |r| <= ln2/2; return (k, expm1(r)) with k = n + shifter."""
    k = _fma(x, c.log2e, c.shifter)
    n = k - c.shifter
    hi = _fma(-n, c.ln2_hi, x)  # exact
    r = _fma(-n, c.ln2_lo, hi)
    dr = _fma(-n, c.ln2_lo, hi - r)  # rounding error of r, fed back below
    return k, r + _fma(r * r, _poly(r, c.expm1_p), dr)


@_jit
def _log_kernel(c, f, e, tail):
    """e*ln2 + log(1 + f) + tail for f in [sqrt(1/2) - 1, sqrt(2) - 1] and a small tail."""
    s = f / (c.two + f)
    z = s * s
    hfsq = c.half * f * f
    # log(1+f) = 2*atanh(s) = f - hfsq + s*(hfsq + R(z)), R(z) = z*P(z)
    r = z * _poly(z, c.log_p)
    return _fma(e, c.ln2_hi, f - (hfsq - _fma(s, hfsq + r, tail)))


@_jit
def _sin_shifted(x, half):
    """(-1)**n * sin(x - (n - half)*pi) with n = round(x/pi + half).

    This is sin(x) for half = 0 and cos(x) = sin(x + pi/2) for half = 1/2.
    """
    c = _consts(x)
    k = _fma(x, c.inv_pi, half) + c.shifter
    m = (k - c.shifter) - half
    r = x
    for part in c.pi_parts:
        r = _fma(-m, part, r)
    z = r * r
    s = _fma(r * z, _poly(z, c.sin_p), r)
    s = r if r == c.zero else s  # sin(-0.0) = -0.0
    # rounding can give 1 + ulp near r = pi/2, and past the exact-reduction
    # range r (and s) can be anything: keep the result in [-1, 1]
    return _flip_sign_if_odd(_clamp(s, -c.one, c.one), k)


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


@_jit
def exp(x):
    """e**x."""
    c = _consts(x)
    x = _clamp(x, -c.exp_bound, c.exp_bound)
    k, p = _expm1_reduced(c, x)
    # 2**n as 2**n1 * 2**(n - n1), n1 = round(n/2): covers subnormal results and overflow
    n = k - c.shifter
    k1 = _fma(n, c.half, c.shifter)
    k2 = (n - (k1 - c.shifter)) + c.shifter
    return (c.one + p) * _pow2(k1) * _pow2(k2)


@_jit
def exp_term(x):
    """e**x for a softmax term, x <= 0 (a score less its row's maximum), where a result
    below the smallest normal number is negligible beside the maximum's term 1 and is
    flushed to 0 (e**-87 for float32): one scaling by 2**n instead of ``exp``'s two, a
    quarter fewer operations. NaN stays NaN, -inf gives 0; accurate up to x = 88 (float32)."""
    c = _consts(x)
    k, p = _expm1_reduced(c, _clamp(x, c.term_lo, c.term_hi))
    return c.zero if x < c.term_lo else (c.one + p) * _pow2(k)


@_jit
def expm1(x):
    """e**x - 1, accurate for small |x|."""
    c = _consts(x)
    k, p = _expm1_reduced(c, _clamp(x, c.expm1_lo, c.expm1_hi))
    t = _pow2(k - c.one)  # 2**(n-1): stays finite for n = 1024 (float64)
    y = c.two * _fma(t, p, t - c.half)
    return x if abs(x) < c.tiny else y


@_jit
def log(x):
    """Natural logarithm."""
    c = _consts(x)
    sub = x < c.min_normal
    m, e = _frexp(x * c.subnormal_scale if sub else x)
    e = e - c.subnormal_exp if sub else e
    y = _log_kernel(c, m - c.one, e, e * c.ln2_lo)
    y = y if x < c.inf else x
    return y if x > c.zero else (-c.inf if x == c.zero else c.nan)


@_jit
def log1p(x):
    """log(1 + x), accurate for small |x|."""
    c = _consts(x)
    u = c.one + x
    # exact rounding error of u = 1 + x (Fast2Sum with the larger operand first)
    err = (c.one - (u - x)) if x > c.one else (x - (u - c.one))
    m, e = _frexp(u)
    y = _log_kernel(c, m - c.one, e, _fma(e, c.ln2_lo, err / u))
    y = y if x < c.inf else x
    y = y if x > -c.one else (-c.inf if x == -c.one else c.nan)
    return x if abs(x) < c.tiny else y


@_jit
def tanh(x):
    """Hyperbolic tangent."""
    c = _consts(x)
    # tanh|x| = (1 - w)/(1 + w) with w = exp(-2|x|) = t*(1 + p), t = 2**n, n <= 0:
    # 1 - t and 1 + t are exact (or t is negligible), so numerator and denominator
    # are each one fused rounding.  Below expm1_lo, w no longer matters.
    k, p = _expm1_reduced(c, _max(-c.two * abs(x), c.expm1_lo))
    t = _pow2(k)
    return math.copysign(_fma(-t, p, c.one - t) / _fma(t, p, c.one + t), x)


@_jit
def sigmoid(x):
    """Logistic function 1/(1 + e**-x)."""
    c = _consts(x)
    e = exp(-abs(x))
    return (c.one if x >= c.zero else e) / (c.one + e)


@_jit
def sin(x):
    """Sine (see the module docstring for the accurate argument range)."""
    return _sin_shifted(x, _consts(x).zero)


@_jit
def cos(x):
    """Cosine (see the module docstring for the accurate argument range)."""
    return _sin_shifted(x, _consts(x).half)


@_jit
def erf(x):
    """Error function."""
    c = _consts(x)
    small = _fma(x, _poly(x * x, c.erf_p), x)
    a = _min(abs(x), c.erf_amax)
    t = (a - c.erf_k) / (a + c.erf_k)
    large = math.copysign(c.one - exp(-a * a) * _poly(t, c.erfc_p), x)
    return small if abs(x) < c.erf_t else large



guard_kernels(globals())
