"""Scalar special functions, written once in plain Python and compiled for each target.

``digamma``, ``hurwitz_zeta``, ``polygamma`` (n >= 1) and ``gamma_sample_grad`` of float64 values. They are
plain functions, so ``portable.compile_for(FUNCTIONS, jit)`` compiles the set with any Numba decorator
(``njit`` for the CPU kernels, ``cuda.jit(device=True)`` for the CUDA ones; see
``kernels.portable``); the CPU and the GPU results come from one definition.

digamma shifts small arguments up with the recurrence ``psi(x) = psi(x + 1) - 1/x``, uses
the asymptotic series from x >= 6, and reflects negative arguments; at the poles (0, -1,
-2, ...) digamma is -inf at 0 and NaN elsewhere, as torch's is. polygamma(n) is the
Hurwitz zeta function summed directly up to 9 and by Euler-Maclaurin beyond, for any
order n. Everything is float64: the recurrences and series lose accuracy in float32.
"""

from __future__ import annotations

import math

import numpy as np

# B_2j / (2j)! for j = 1..12: the Euler-Maclaurin tail of the Hurwitz zeta function
BERNOULLI_OVER_FACTORIAL = np.array([
    1.0 / 12, -1.0 / 720, 1.0 / 30240, -1.0 / 1209600, 1.0 / 47900160,
    -691.0 / 1307674368000, 1.0 / 74724249600, -3617.0 / 10670622842880000,
    43867.0 / 5109094217170944000, -174611.0 / 802857662698291200000,
    77683.0 / 14101100039391805440000, -236364091.0 / 1693824136731743669452800000])


def digamma_positive(x):
    """psi(x) for x > 0."""
    acc = 0.0
    while x < 6.0:
        acc -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))))
    return acc + math.log(x) - 0.5 / x - series


def digamma(x):
    """psi(x) for any x (reflection below 0; no recursion, which device code cannot do)."""
    if x == 0.0:
        return -np.inf if math.copysign(1.0, x) > 0 else np.inf
    if x < 0.0:
        if x == math.floor(x):
            return np.nan
        return digamma_positive(1.0 - x) - math.pi / math.tan(math.pi * x)
    return digamma_positive(x)


def hurwitz_zeta(s, q):
    """zeta(s, q) = sum_k (q + k)^-s for integer s >= 2: direct terms until q + k > 9, then
    the Euler-Maclaurin tail; q may be negative (not a pole), as polygamma needs."""
    acc = 0.0
    while q <= 9.0:
        acc += (q ** -s)
        q += 1.0
    acc += q ** (1.0 - s) / (s - 1.0) + 0.5 * q ** -s
    rising = s  # s (s + 1) ... (s + 2j - 2)
    power = q ** (-s - 1.0)
    for j in range(BERNOULLI_OVER_FACTORIAL.size):
        acc += BERNOULLI_OVER_FACTORIAL[j] * rising * power
        rising *= (s + 2 * j + 1) * (s + 2 * j + 2)
        power /= q * q
    return acc


def polygamma(n, x):
    """psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x) for n >= 1; +inf (n odd) or -inf at the poles."""
    if x <= 0.0 and x == math.floor(x):
        return np.inf if n % 2 == 1 else -np.inf
    factorial = 1.0
    for k in range(2, n + 1):
        factorial *= k
    sign = 1.0 if n % 2 == 1 else -1.0
    return sign * factorial * hurwitz_zeta(n + 1.0, x)


def gamma_sample_grad(x, alpha):
    """dx/dalpha of a Gamma(alpha, 1) sample x held at its CDF value (implicit
    reparameterisation): -(dP(alpha, x)/dalpha) / (dP(alpha, x)/dx), P the regularised lower
    incomplete gamma. With P = sum_n x^(alpha+n) e^-x / Gamma(alpha+n+1), the ratio is
    -sum_n r_n (log x - psi(alpha+n+1)), r_0 = x / alpha, r_n = r_(n-1) x / (alpha+n);
    summed until the terms past the peak (n > x) fall below 1e-17 of the total."""
    if x <= 0.0:
        return 0.0
    logx = math.log(x)
    r = x / alpha
    psi = digamma(alpha + 1.0)
    acc = -r * (logx - psi)
    n = 0
    while True:
        n += 1
        psi += 1.0 / (alpha + n)
        r *= x / (alpha + n)
        term = r * (logx - psi)
        acc -= term
        if n > x and abs(term) <= 1e-17 * abs(acc) or n > 100000:
            return acc


FUNCTIONS = (digamma_positive, digamma, hurwitz_zeta, polygamma, gamma_sample_grad)  # for portable.compile_for
