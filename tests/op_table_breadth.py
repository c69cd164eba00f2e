"""Op-table entries for sorting, order statistics and diagonals, and for the layers of
``autodiff.nn.functional`` added with them (transposed convolution, interpolation,
pixel shuffle, group and instance normalisation). Appended to ``op_table.OPS``."""

from __future__ import annotations

import torch
from op_table import CUBE, UNARY, NonContig, OpInfo

import autodiff as ad


def _both(name, f, samples, **kw) -> OpInfo:
    """An entry whose function is written once for both libraries (``m`` is ad or torch)."""
    return OpInfo(name, lambda *a: f(ad, *a), lambda *a: f(torch, *a), samples, **kw)


MATRIX = [[(3, 4)], [NonContig((4, 3))], [(4, 4)]]

BREADTH_OPS = [
    _both("sort", lambda m, x: x.sort().values, UNARY),
    _both("sort_dim0_descending", lambda m, x: m.sort(x, 0, descending=True)[0], CUBE),
    _both("msort", lambda m, x: m.msort(x), UNARY[:1] + UNARY[3:]),
    _both("topk", lambda m, x: x.topk(2).values, [[(3, 4)], [NonContig((3, 4))], [(2, 3, 4)]]),
    _both("topk_smallest_dim0", lambda m, x: m.topk(x, 2, dim=0, largest=False)[0], CUBE[:2]),
    _both("kthvalue", lambda m, x: x.kthvalue(2).values, [[(3, 4)], [NonContig((3, 4))], [(2, 3, 4)]]),
    _both("kthvalue_keepdim", lambda m, x: m.kthvalue(x, 3, 1, keepdim=True)[0], CUBE[:2]),
    _both("median", lambda m, x: x.median(), [[(3, 4)], [(5,)], [NonContig((3, 4))]]),
    _both("median_dim", lambda m, x: x.median(dim=-1).values, [[(3, 5)], [NonContig((3, 4))], [(2, 3, 4)]]),
    _both("median_dim0_keepdim", lambda m, x: m.median(x, 0, True).values, CUBE[:2]),
    _both("diag_vector", lambda m, x: m.diag(x, 1), [[(3,)], [(0,)]]),
    _both("diag_matrix", lambda m, x: m.diag(x, -1), MATRIX),
    _both("diag_embed", lambda m, x: m.diag_embed(x, 1, 0, 2), [[(2, 3)], [NonContig((2, 3))], [(2, 0)]]),
    _both("diag_embed_default", lambda m, x: m.diag_embed(x), CUBE[:2] + [[(4,)]]),
    _both("trace", lambda m, x: m.trace(x), MATRIX),
]
