"""The separate-process workloads compute the same thing in every library.

``benchmarks/workloads.py`` defines each training step once for autodiff and torch and
once in JAX; ``python -m benchmarks.separate_processes`` times them. Here one GPT step
runs in autodiff and in torch from the same weights on the same batch, and the loss and
the updated weights must agree (so the timed steps are the same computation). Timing
lives in separate_processes.py, not here.
"""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from benchmarks import workloads


def _gpt_step_state(T, state=None, build=workloads.gpt_step):
    step, model = build(T, with_model=True)
    if state is not None:
        model.load_state_dict({k: T.from_numpy(v.copy()) for k, v in state.items()})
    loss = float(step().item())
    return loss, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("build", [workloads.gpt_step, workloads.gpt_sdpa_step], ids=["gpt", "gpt_sdpa"])
def test_gpt_step_matches_torch(torch, build):
    init = {k: v.detach().numpy().copy() for k, v in build(ad, with_model=True)[1].state_dict().items()}
    loss_ad, after_ad = _gpt_step_state(ad, init, build)
    loss_torch, after_torch = _gpt_step_state(torch, init, build)
    np.testing.assert_allclose(loss_ad, loss_torch, rtol=1e-4)
    assert after_ad.keys() == after_torch.keys()
    d = workloads.GPT["d"]
    for k in after_ad:  # Adam moves each weight by up to lr = 1e-3: agree to a tenth of that
        ours, theirs, start = after_ad[k], after_torch[k], init[k]
        if k.endswith("qkv.bias"):  # the key bias's gradient is 0 (softmax ignores a constant per row),
            keep = np.r_[0:d, 2 * d:3 * d]  # so Adam's step there, g / (|g| + eps), is rounding noise
            ours, theirs, start = ours[keep], theirs[keep], start[keep]
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4, err_msg=k)
        assert np.abs(ours - start).max() > 5e-4, f"{k} did not move"
