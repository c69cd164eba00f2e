"""grad_fn names of layers that run as several autodiff ops or as one op serving several
torch nodes: they read as torch's (ConvolutionBackward0, UpsampleBilinear2DBackward0...)."""

import pytest
import torch
import torch.nn.functional as TF

import autodiff as ad
import autodiff.nn.functional as F

CASES = [
    ("conv_transpose2d", lambda m, f, x: f.conv_transpose2d(x, m.ones(2, 3, 3, 3), m.ones(3), stride=2), (1, 2, 4, 4)),
    ("conv_transpose2d_no_bias", lambda m, f, x: f.conv_transpose2d(x, m.ones(2, 3, 2, 2)), (1, 2, 4, 4)),
    ("nearest1d", lambda m, f, x: f.interpolate(x, scale_factor=2), (1, 2, 4)),
    ("nearest2d", lambda m, f, x: f.interpolate(x, scale_factor=2), (1, 2, 4, 4)),
    ("nearest3d", lambda m, f, x: f.interpolate(x, size=(3, 3, 3)), (1, 1, 2, 2, 2)),
    ("nearest_exact", lambda m, f, x: f.interpolate(x, scale_factor=2, mode="nearest-exact"), (1, 2, 4, 4)),
    ("linear", lambda m, f, x: f.interpolate(x, size=7, mode="linear"), (1, 2, 4)),
    ("bilinear", lambda m, f, x: f.interpolate(x, scale_factor=2, mode="bilinear"), (1, 2, 4, 4)),
    ("bicubic", lambda m, f, x: f.interpolate(x, scale_factor=2, mode="bicubic"), (1, 2, 4, 4)),
    ("trilinear", lambda m, f, x: f.interpolate(x, scale_factor=2, mode="trilinear"), (1, 1, 2, 2, 2)),
    ("bilinear_aa", lambda m, f, x: f.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True),
     (1, 2, 4, 4)),
    ("bicubic_aa", lambda m, f, x: f.interpolate(x, scale_factor=0.5, mode="bicubic", antialias=True),
     (1, 2, 4, 4)),
]


@pytest.mark.parametrize("name, f, shape", CASES, ids=[c[0] for c in CASES])
def test_grad_fn_name_matches_torch(name, f, shape):
    ours = f(ad, F, ad.ones(shape, requires_grad=True))
    theirs = f(torch, TF, torch.ones(shape, requires_grad=True))
    assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__


def test_antialias_needs_bilinear_or_bicubic_on_4d():
    for m, f in ((ad, F), (torch, TF)):
        with pytest.raises(ValueError, match="Anti-alias option is restricted"):
            f.interpolate(m.ones(1, 1, 4), scale_factor=0.5, mode="linear", antialias=True)
