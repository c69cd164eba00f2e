"""Op-table entries for ``autodiff.nn.functional`` (layers and losses), small shapes.

Appended to ``op_table.OPS`` so the generic tests run forward/gradients against torch,
gradcheck and gradgradcheck on each. Integer operands (class indices, embedding
indices) and class weights are fixed constants inside the lambdas.
"""

from __future__ import annotations

import torch
import torch.nn.functional as TF

import autodiff as ad
import autodiff.nn.functional as F
from op_table import OpInfo

TARGET = [1, 0, 4]
TARGET_2D = [[[0, 2], [1, 1]], [[2, 0], [0, 1]]]
CLASS_W = [0.5, 1.0, 2.0, 0.3, 1.5]
INDICES = [[1, 3, 3], [0, 2, 1]]


def _on(lib, x, values):
    """``values`` as a tensor of ``lib`` in x's float dtype (weights must match the input)."""
    return lib.tensor(values, dtype=x.dtype)


def _ce(lib, fn, weighted: bool = False, **kw):
    def call(x):
        weight = _on(lib, x, CLASS_W) if weighted else None
        return fn(x, lib.tensor(TARGET), weight=weight, **kw)
    return call


NN_OPS = [
    OpInfo("F.linear", F.linear, TF.linear, [[(3, 4), (5, 4), (5,)], [(2, 3, 4), (5, 4), (5,)], [(4,), (2, 4), (2,)]]),
    OpInfo("F.bilinear", F.bilinear, TF.bilinear, [[(3, 2), (3, 4), (5, 2, 4), (5,)]]),
    OpInfo("F.conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1),
           lambda x, w, b: TF.conv2d(x, w, b, stride=(2, 1), padding=1), [[(2, 3, 5, 4), (4, 3, 3, 2), (4,)]]),
    OpInfo("F.conv2d_groups_dilation", lambda x, w: F.conv2d(x, w, groups=2, dilation=(1, 2)),
           lambda x, w: TF.conv2d(x, w, groups=2, dilation=(1, 2)), [[(1, 4, 5, 6), (6, 2, 2, 2)]]),
    OpInfo("F.conv1d", lambda x, w, b: F.conv1d(x, w, b, padding=2, stride=2),
           lambda x, w, b: TF.conv1d(x, w, b, padding=2, stride=2), [[(2, 3, 7), (4, 3, 3), (4,)]]),
    OpInfo("F.max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1),
           [[(2, 2, 5, 6)], [(3, 4, 4)]]),
    OpInfo("F.max_pool2d_dilation_ceil", lambda x: F.max_pool2d(x, 2, 2, dilation=2, ceil_mode=True),
           lambda x: TF.max_pool2d(x, 2, 2, dilation=2, ceil_mode=True), [[(1, 2, 7, 6)]]),
    OpInfo("F.avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
           lambda x: TF.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [[(2, 2, 5, 6)]]),
    OpInfo("F.avg_pool2d_padded", lambda x: F.avg_pool2d(x, 2, padding=1),
           lambda x: TF.avg_pool2d(x, 2, padding=1), [[(1, 2, 5, 4)]]),
    OpInfo("F.adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
           lambda x: TF.adaptive_avg_pool2d(x, (3, 2)), [[(2, 2, 5, 7)], [(2, 4, 4)]]),
    OpInfo("F.cross_entropy", _ce(ad, F.cross_entropy), _ce(torch, TF.cross_entropy), [[(3, 5)]]),
    OpInfo("F.cross_entropy_weight_smoothing_ignore",
           _ce(ad, F.cross_entropy, weighted=True, label_smoothing=0.2, ignore_index=0),
           _ce(torch, TF.cross_entropy, weighted=True, label_smoothing=0.2, ignore_index=0), [[(3, 5)]]),
    OpInfo("F.cross_entropy_spatial_sum",
           lambda x: F.cross_entropy(x, ad.tensor(TARGET_2D), reduction="sum"),
           lambda x: TF.cross_entropy(x, torch.tensor(TARGET_2D), reduction="sum"), [[(2, 3, 2, 2)]]),
    OpInfo("F.cross_entropy_probs", lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1),
           lambda x, y: TF.cross_entropy(x, y, label_smoothing=0.1), [[(3, 5), (3, 5)]], domain=(0.1, 1.0)),
    OpInfo("F.nll_loss", _ce(ad, F.nll_loss, weighted=True), _ce(torch, TF.nll_loss, weighted=True), [[(3, 5)]]),
    OpInfo("F.mse_loss", F.mse_loss, TF.mse_loss, [[(3, 4), (3, 4)]]),
    OpInfo("F.l1_loss", lambda x, y: F.l1_loss(x, y, reduction="sum"),
           lambda x, y: TF.l1_loss(x, y, reduction="sum"), [[(3, 4), (3, 4)]]),
    OpInfo("F.smooth_l1_loss", lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
           lambda x, y: TF.smooth_l1_loss(x, y, beta=0.5), [[(3, 4), (3, 4)]]),
    OpInfo("F.huber_loss", lambda x, y: F.huber_loss(x, y, delta=0.7, reduction="none"),
           lambda x, y: TF.huber_loss(x, y, delta=0.7, reduction="none"), [[(3, 4), (3, 4)]]),
    OpInfo("F.binary_cross_entropy", F.binary_cross_entropy, TF.binary_cross_entropy,
           [[(3, 4), (3, 4)]], domain=(0.1, 0.9)),
    OpInfo("F.binary_cross_entropy_with_logits",
           lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=_on(ad, x, [1.0, 2.0, 0.5, 3.0])),
           lambda x, y: TF.binary_cross_entropy_with_logits(x, y, pos_weight=_on(torch, x, [1.0, 2.0, 0.5, 3.0])),
           [[(3, 4), (3, 4)]]),
    OpInfo("F.kl_div", lambda x, y: F.kl_div(x, y, reduction="batchmean"),
           lambda x, y: TF.kl_div(x, y, reduction="batchmean"), [[(3, 4), (3, 4)]], domain=(0.2, 3.0)),
    OpInfo("F.kl_div_log_target", lambda x, y: F.kl_div(x, y, reduction="sum", log_target=True),
           lambda x, y: TF.kl_div(x, y, reduction="sum", log_target=True), [[(3, 4), (3, 4)]]),
    OpInfo("F.layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b),
           lambda x, w, b: TF.layer_norm(x, (4,), w, b), [[(3, 4), (4,), (4,)], [(2, 3, 4), (4,), (4,)]]),
    OpInfo("F.batch_norm_training", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
           lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
           [[(4, 3), (3,), (3,)], [(2, 3, 2, 2), (3,), (3,)]]),
    OpInfo("F.leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2),
           [[(3, 4)], [()]], away_from_zero=True),
    OpInfo("F.elu", lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7), [[(3, 4)], [()]], away_from_zero=True),
    OpInfo("F.embedding", lambda w: F.embedding(ad.tensor(INDICES), w),
           lambda w: TF.embedding(torch.tensor(INDICES), w), [[(5, 3)]]),
]
