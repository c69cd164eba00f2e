"""Differential random-program fuzzing: programs of 5-40 steps mixing views, copies,
elementwise ops, reductions, in-place writes, no-grad blocks, detach, hooks and
``retain_grad``, ending in ``backward`` or ``autograd.grad`` (sometimes second order),
run from the same float64 leaves under torch (here) and autodiff (in the worker process).
Every value, flag, gradient, hook call and exception class must be torch's; a failure is
shrunk to a small program and printed as Python (see ``fuzz/programs``).

Default: fixed seeds, programs of 5-20 steps, about a minute with a warm kernel cache.
``AUTODIFF_FUZZ=long``: 25x the programs, fresh seeds, sizes up to 40.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from .budget import SCALE
from .programs.check import check
from .programs.generate import generate, sizes

BATCHES = 8
PER_BATCH = 20
LONG = SCALE > 1
LARGEST = 40 if LONG else 20
BASE_SEED = int(os.environ.get("AUTODIFF_FUZZ_SEED", np.random.SeedSequence().entropy % 10**6 if LONG else 0))


@pytest.mark.parametrize("batch", range(BATCHES))
def test_random_programs_match_torch(worker, batch):
    """``PER_BATCH`` (scaled) programs from seeds ``BASE_SEED + batch * 10**6 + k``."""
    count = max(1, int(PER_BATCH * SCALE))
    rng = np.random.default_rng(BASE_SEED + batch)
    for k, size in enumerate(sizes(rng, count, LARGEST)):
        seed = BASE_SEED + batch * 10**6 + k
        check(worker, generate(seed, size), label=f"seed {seed} (size {size}): ")
