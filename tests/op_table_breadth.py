"""Op-table entries for sorting, order statistics and diagonals, and for the layers of
``autodiff.nn.functional`` added with them (transposed convolution, interpolation,
pixel shuffle, group and instance normalisation). Appended to ``op_table.OPS``."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as TF
from op_table import CUBE, UNARY, NonContig, OpInfo

import autodiff as ad
import autodiff.nn.functional as F


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

# ---- layers ------------------------------------------------------------------------------------

def _layer(name, fn, _unused, samples, **kw) -> OpInfo:
    """An entry calling ``F.<fn>`` and ``torch.nn.functional.<fn>`` with the same keywords."""
    return OpInfo(name, partial(getattr(F, fn), **kw), partial(getattr(TF, fn), **kw), samples)


BREADTH_OPS += [
    _layer("F.conv_transpose2d", "conv_transpose2d", None, [[(2, 3, 4, 3), (3, 2, 3, 2), (2,)]]),
    _layer("F.conv_transpose2d_strided", "conv_transpose2d", None, [[(1, 4, 3, 4), (4, 1, 2, 3)]],
           stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2),
    _layer("F.conv_transpose2d_dilated", "conv_transpose2d", None, [[(1, 2, 3, 3), (2, 2, 2, 2)]],
           dilation=2, output_padding=1),
    _layer("F.conv_transpose1d", "conv_transpose1d", None, [[(2, 3, 5), (3, 2, 3), (2,)], [(3, 4), (3, 2, 2)]],
           stride=2, padding=1, output_padding=1),
    _layer("F.interpolate_nearest", "interpolate", None, [[(1, 2, 3, 4)]], scale_factor=2),
    _layer("F.interpolate_nearest_size", "interpolate", None, [[(2, 1, 5, 3)]], size=(3, 7)),
    _layer("F.interpolate_nearest_exact", "interpolate", None, [[(1, 2, 5)]], scale_factor=1.6,
           mode="nearest-exact"),
    _layer("F.interpolate_linear", "interpolate", None, [[(2, 2, 5)]], size=8, mode="linear"),
    _layer("F.interpolate_bilinear", "interpolate", None, [[(1, 2, 3, 4)], [(2, 1, 5, 3)]], scale_factor=1.5,
           mode="bilinear"),
    _layer("F.interpolate_bilinear_corners", "interpolate", None, [[(1, 2, 3, 4)]], size=(5, 2), mode="bilinear",
           align_corners=True),
    _layer("F.interpolate_trilinear", "interpolate", None, [[(1, 1, 2, 3, 2)]], scale_factor=2, mode="trilinear"),
    _layer("F.interpolate_area", "interpolate", None, [[(1, 2, 6, 4)]], size=(3, 2), mode="area"),
    _layer("F.pixel_shuffle", "pixel_shuffle", None, [[(2, 8, 2, 3)], [(12, 1, 2)]], upscale_factor=2),
    _layer("F.pixel_unshuffle", "pixel_unshuffle", None, [[(2, 2, 4, 6)], [(1, 6, 4)]], downscale_factor=2),
    OpInfo("F.group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), lambda x, w, b: TF.group_norm(x, 2, w, b),
           [[(2, 4, 3, 2), (4,), (4,)], [(3, 6, 4), (6,), (6,)]]),
    OpInfo("F.instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
           lambda x, w, b: TF.instance_norm(x, weight=w, bias=b), [[(2, 3, 4, 3), (3,), (3,)], [(2, 2, 5), (2,), (2,)]]),
]

# ---- special functions: every order of derivative down the polygamma family -------------------

BREADTH_OPS += [
    _both("lgamma", lambda m, x: m.lgamma(x), UNARY, domain=(0.3, 4.0)),
    _both("digamma", lambda m, x: m.digamma(x), UNARY, domain=(6.0, 12.0)),
    _both("digamma_negative", lambda m, x: x.digamma(), [[(3, 4)]], domain=(-3.9, -3.1)),
    _both("polygamma_1", lambda m, x: m.polygamma(1, x), UNARY, domain=(6.0, 12.0)),  # torch: 1e-9 below
    _both("polygamma_3", lambda m, x: x.polygamma(3), [[(3, 4)], [NonContig((3, 4))]], domain=(0.5, 12.0)),
]

# ---- bicubic interpolation and antialiased downsampling ----------------------------------------

BREADTH_OPS += [
    _layer("F.interpolate_bicubic", "interpolate", None, [[(1, 2, 4, 5)]], scale_factor=1.7, mode="bicubic"),
    _layer("F.interpolate_bicubic_corners", "interpolate", None, [[(1, 1, 5, 4)]], size=(3, 7), mode="bicubic",
           align_corners=True),
    _layer("F.interpolate_bilinear_antialias", "interpolate", None, [[(1, 2, 9, 7)]], size=(4, 3),
           mode="bilinear", antialias=True),
    _layer("F.interpolate_bicubic_antialias", "interpolate", None, [[(1, 1, 9, 8)]], scale_factor=0.4,
           mode="bicubic", antialias=True, align_corners=True),
]
