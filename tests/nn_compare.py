"""Helpers to run an autodiff module and its torch twin from identical weights."""

from __future__ import annotations

import numpy as np
import torch

import autodiff as ad

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-10)}


def copy_weights(ours, theirs) -> None:
    """Load ``theirs`` (torch) parameters and buffers into ``ours`` (autodiff), by name."""
    state = dict(theirs.named_parameters()) | dict(theirs.named_buffers())
    with ad.no_grad():
        for name, t in list(ours.named_parameters()) + list(ours.named_buffers()):
            t.copy_(ad.from_numpy(state[name].detach().numpy().copy()))


def compare(ours, theirs, *inputs: np.ndarray, dtype=np.float64, grad_inputs: bool = True) -> None:
    """Forward and every gradient (inputs and parameters) of both modules agree."""
    ours.to(ad.float64 if dtype == np.float64 else ad.float32)
    theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    copy_weights(ours, theirs)
    a_in = [ad.from_numpy(x.copy()).requires_grad_(grad_inputs and x.dtype.kind == "f") for x in inputs]
    t_in = [torch.from_numpy(x.copy()).requires_grad_(grad_inputs and x.dtype.kind == "f") for x in inputs]
    out, ref = ours(*a_in), theirs(*t_in)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL[dtype])
    seed = np.random.default_rng(1).standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(ad.from_numpy(seed))
    ref.backward(torch.from_numpy(seed))
    for a, t in zip(a_in, t_in):
        if t.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), **TOL[dtype])
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), **TOL[dtype],
                                   err_msg=name)
