"""Fused optimizer updates: one kernel pass per parameter updates the parameter and its state.

Every optimizer's update rule is a per-element function over a half-open index range,
``_<rule>(lo, hi, p, g, s0, s1, s2, h)``:

* ``p``: the flat parameter, written in place; ``g``: its flat gradient (read only);
* ``s0, s1, s2``: flat state arrays of ``p``'s dtype, written in place (unused ones are
  empty arrays, so every rule has the same signature);
* ``h``: the rule's scalars (learning rate, betas, flags...) as an array of ``p``'s
  dtype, so float32 parameters are updated in float32 arithmetic throughout, as
  PyTorch does: no float64 literal appears in the loops.

The scalar derived per step (bias corrections, decayed learning rates) are computed by
the caller in float64 and passed in ``h``. Each rule follows the operation order of
PyTorch's single-tensor (``foreach=False``) implementation, so float64 trajectories agree
to rounding.

``update(kind, p, g, states, hyper)`` is the entry point (``update_many`` runs it for
each parameter of a step, the contract the CUDA kernels share): one serial kernel below
``PARALLEL_THRESHOLD`` elements; above it, ``prange`` chunks each run the serial kernel.
Each rule has its own generated pair of kernels (``_module``), compiled on first use, so
a program compiles only the rules its optimizers use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from numba import njit

from .. import codegen
from ..guard import guard_kernels

SGD, ADAM, RMSPROP, ADAGRAD, ADADELTA, ADAMAX, NADAM, RADAM = range(8)

# A parallel launch costs tens of microseconds or more; below this many elements
# a serial pass is faster.
PARALLEL_THRESHOLD = 1 << 18
_CHUNK = 1 << 15


@njit(inline="always", error_model="numpy")
def _lerp(start, end, weight, rest):
    """PyTorch's lerp (``rest = 1 - weight``): the formula depends on the side of 0.5 the weight is on."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * rest


@njit(inline="always", error_model="numpy")
def _sgd(lo, hi, p, g, buf, s1, s2, h):
    """h = lr, weight_decay, momentum, 1 - dampening, nesterov, maximize, first_step."""
    lr, wd, mom, keep = h[0], h[1], h[2], h[3]
    nesterov, maximize, first = h[4] != 0, h[5] != 0, h[6] != 0
    for i in range(lo, hi):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            d = d + wd * p[i]
        if mom != 0:
            b = d if first else buf[i] * mom + keep * d
            buf[i] = b
            d = d + mom * b if nesterov else b
        p[i] = p[i] + (-lr) * d


@njit(inline="always", error_model="numpy")
def _adam(lo, hi, p, g, m, v, vmax, h):
    """h = -lr/bias_correction1, 1-beta1, beta2, 1-beta2, sqrt(bias_correction2), eps,
    weight_decay, 1 - lr*weight_decay (decoupled, AdamW), decoupled, amsgrad, maximize, beta1."""
    neg_step, w1, beta2, w2, bc2, eps = h[0], h[1], h[2], h[3], h[4], h[5]
    wd, decay, beta1 = h[6], h[7], h[11]
    decoupled, amsgrad, maximize = h[8] != 0, h[9] != 0, h[10] != 0
    for i in range(lo, hi):
        d = -g[i] if maximize else g[i]
        x = p[i]
        if decoupled:
            x = x * decay
        elif wd != 0:
            d = d + wd * x
        mi = _lerp(m[i], d, w1, beta1)
        vi = v[i] * beta2 + w2 * d * d
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vi = max(vmax[i], vi)
            vmax[i] = vi
        p[i] = x + neg_step * mi / (np.sqrt(vi) / bc2 + eps)


@njit(inline="always", error_model="numpy")
def _rmsprop(lo, hi, p, g, sq, buf, avg_g, h):
    """h = lr, alpha, 1-alpha, eps, weight_decay, momentum, centered, maximize."""
    lr, alpha, w, eps, wd, mom = h[0], h[1], h[2], h[3], h[4], h[5]
    centered, maximize = h[6] != 0, h[7] != 0
    for i in range(lo, hi):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            d = d + wd * p[i]
        s = sq[i] * alpha + w * d * d
        sq[i] = s
        if centered:
            a = _lerp(avg_g[i], d, w, alpha)
            avg_g[i] = a
            s = s + (-a) * a
        den = np.sqrt(s) + eps
        if mom > 0:
            b = buf[i] * mom + d / den
            buf[i] = b
            p[i] = p[i] + (-lr) * b
        else:
            p[i] = p[i] + (-lr) * d / den


@njit(inline="always", error_model="numpy")
def _adagrad(lo, hi, p, g, acc, s1, s2, h):
    """h = -lr / (1 + (step-1)*lr_decay), weight_decay, eps, maximize."""
    neg_clr, wd, eps, maximize = h[0], h[1], h[2], h[3] != 0
    for i in range(lo, hi):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            d = d + wd * p[i]
        a = acc[i] + d * d
        acc[i] = a
        p[i] = p[i] + neg_clr * d / (np.sqrt(a) + eps)


@njit(inline="always", error_model="numpy")
def _adadelta(lo, hi, p, g, sq, acc, s2, h):
    """h = lr, rho, 1-rho, eps, weight_decay, maximize."""
    lr, rho, w, eps, wd, maximize = h[0], h[1], h[2], h[3], h[4], h[5] != 0
    for i in range(lo, hi):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            d = d + wd * p[i]
        s = sq[i] * rho + w * d * d
        sq[i] = s
        delta = np.sqrt(acc[i] + eps) / np.sqrt(s + eps) * d
        acc[i] = acc[i] * rho + w * delta * delta
        p[i] = p[i] + (-lr) * delta


@njit(inline="always", error_model="numpy")
def _adamax(lo, hi, p, g, m, u, s2, h):
    """h = -lr/bias_correction1, 1-beta1, beta1, beta2, eps, weight_decay, maximize."""
    neg_clr, w1, beta1, beta2, eps, wd, maximize = h[0], h[1], h[2], h[3], h[4], h[5], h[6] != 0
    for i in range(lo, hi):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            d = d + wd * p[i]
        mi = _lerp(m[i], d, w1, beta1)
        m[i] = mi
        ui = max(u[i] * beta2, abs(d) + eps)
        u[i] = ui
        p[i] = p[i] + neg_clr * mi / ui


@njit(inline="always", error_model="numpy")
def _nadam(lo, hi, p, g, m, v, s2, h):
    """h = -lr*(1-mu)/(1-mu_product), -lr*mu_next/(1-mu_product_next), 1-beta1, beta1, beta2,
    1-beta2, bias_correction2, eps, weight_decay, 1 - lr*weight_decay, decoupled, maximize."""
    c_grad, c_avg, w1, beta1, beta2, w2, bc2, eps = h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
    wd, decay, decoupled, maximize = h[8], h[9], h[10] != 0, h[11] != 0
    for i in range(lo, hi):
        d = -g[i] if maximize else g[i]
        x = p[i]
        if wd != 0:
            if decoupled:
                x = x * decay
            else:
                d = d + wd * x
        mi = _lerp(m[i], d, w1, beta1)
        vi = v[i] * beta2 + w2 * d * d
        m[i] = mi
        v[i] = vi
        den = np.sqrt(vi / bc2) + eps
        x = x + c_grad * d / den
        p[i] = x + c_avg * mi / den


@njit(inline="always", error_model="numpy")
def _radam(lo, hi, p, g, m, v, s2, h):
    """h = lr, 1-beta1, beta1, beta2, 1-beta2, bias_correction1, rectify, rect,
    sqrt(bias_correction2), eps, weight_decay, 1 - lr*weight_decay, decoupled, maximize."""
    lr, w1, beta1, beta2, w2, bc1 = h[0], h[1], h[2], h[3], h[4], h[5]
    rectify, rect, bc2, eps = h[6] != 0, h[7], h[8], h[9]
    wd, decay, decoupled, maximize = h[10], h[11], h[12] != 0, h[13] != 0
    for i in range(lo, hi):
        d = -g[i] if maximize else g[i]
        x = p[i]
        if wd != 0:
            if decoupled:
                x = x * decay
            else:
                d = d + wd * x
        mi = _lerp(m[i], d, w1, beta1)
        vi = v[i] * beta2 + w2 * d * d
        m[i] = mi
        v[i] = vi
        step = mi / bc1 * lr
        if rectify:
            step = step * (bc2 / (np.sqrt(vi) + eps)) * rect
        p[i] = x - step


RULES = ("_sgd", "_adam", "_rmsprop", "_adagrad", "_adadelta", "_adamax", "_nadam", "_radam")  # by kind

_TEMPLATE = """\
# Generated by kernels.cpu.optim for the rule {rule}; optim source hash {digest}.
import numpy as np
from numba import njit, prange
from kernels.cpu.optim import {rule} as rule, _CHUNK


@njit(cache=True, error_model="numpy")
def serial(p, g, s0, s1, s2, h):
    rule(0, p.size, p, g, s0, s1, s2, h)


@njit(inline="always")
def _part(a, lo, hi):
    return a[lo:hi] if a.size else a  # unused state slots are empty


@njit(cache=True, error_model="numpy", parallel=True)
def parallel(p, g, s0, s1, s2, h):
    # each chunk calls the serial kernel on slices: the rule's loop from 0 over a slice
    # vectorises as the serial one does (an offset range into the whole arrays ran ~3.5x slower)
    n = p.size
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        lo = c * _CHUNK
        hi = min(n, lo + _CHUNK)
        serial(p[lo:hi], g[lo:hi], _part(s0, lo, hi), _part(s1, lo, hi), _part(s2, lo, hi), h)
"""

_kernels: dict[int, object] = {}


def _module(kind: int):
    """The generated module of rule ``kind``: one serial kernel over the whole arrays and one
    parallel kernel whose ``prange`` chunks call it on slices (a call, not an inlined copy, keeps the
    parallel kernel small to compile and its loops as fast as the serial one's). One
    module per rule, so a program compiles only the rules it uses: the eight inlined into
    one kernel took ~6-12 s to compile."""
    mod = _kernels.get(kind)
    if mod is None:
        source = _TEMPLATE.format(rule=RULES[kind], digest=codegen.source_hash(Path(__file__)))
        mod = _kernels[kind] = codegen.load_module("optim", RULES[kind].lstrip("_"), source)
    return mod


def update_serial(kind: int, p: np.ndarray, g: np.ndarray, s0: np.ndarray, s1: np.ndarray,
                  s2: np.ndarray, h: np.ndarray) -> None:
    """Rule ``kind`` over all of the flat ``p`` on the calling thread."""
    _module(kind).serial(p, g, s0, s1, s2, h)


def update_parallel(kind: int, p: np.ndarray, g: np.ndarray, s0: np.ndarray, s1: np.ndarray,
                    s2: np.ndarray, h: np.ndarray) -> None:
    """Rule ``kind`` over the flat ``p`` in ``prange`` chunks of ``_CHUNK`` elements."""
    _module(kind).parallel(p, g, s0, s1, s2, h)


def update(kind: int, p: np.ndarray, g: np.ndarray, states: Sequence[np.ndarray],
           hyper: Sequence[float]) -> None:
    """Apply rule ``kind`` in place to C-contiguous ``p`` and ``states`` (same shape and dtype)."""
    flat = p.reshape(-1)
    s = [a.reshape(-1) for a in states]
    s += [np.empty(0, p.dtype)] * (3 - len(s))
    h = np.asarray(hyper, dtype=p.dtype)
    run = update_parallel if flat.size >= PARALLEL_THRESHOLD else update_serial
    run(kind, flat, g.reshape(-1), s[0], s[1], s[2], h)


def update_many(kind: int, items: Sequence[tuple], hyper: Sequence[float]) -> None:
    """``update`` of every ``(p, g, states)`` of ``items`` (the backends' multi-parameter
    entry point; on the CPU each parameter is one kernel call all the same)."""
    for p, g, states in items:
        update(kind, p, g, states, hyper)


guard_kernels(globals())
