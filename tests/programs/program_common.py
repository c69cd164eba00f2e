"""Shared by the end-to-end programs: run one program under autodiff and under torch from
the same initial weights, and compare the losses step for step.

Each program is written once against ``lib`` (``autodiff`` or ``torch``), as a user would
write it for torch and then run it with the import swapped.
"""

import numpy as np
import torch

import autodiff as ad




def compare(program, *args, rtol: float = 2e-4, atol: float = 1e-5) -> list:
    """Run ``program(lib, make_model, *args) -> list of losses`` in both libraries; the torch
    model starts from the autodiff model's initial weights."""
    ad.manual_seed(0)
    initial = {}

    def make(lib, build):
        model = build(lib)
        if lib is ad:  # the initial weights, before the autodiff run trains them
            initial.update((k, v.numpy().copy()) for k, v in model.state_dict().items())
        else:
            model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
        return model

    ours = program(ad, make, *args)
    theirs = program(torch, make, *args)
    assert len(ours) == len(theirs) > 0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)
    return ours
