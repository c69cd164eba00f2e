"""The harness itself: a case that kills the worker fails with ``Crash`` naming the case,
and the next case runs in a fresh worker."""

from __future__ import annotations

import numpy as np
import pytest

from .cases import Case, TensorSpec
from .check import differential
from .guard import Crash


def test_a_crash_is_reported_and_the_next_case_runs(worker):
    with pytest.raises(Crash, match="harness.abort"):
        worker.run(Case("harness.abort", ()))
    differential(worker, Case("unary.exp", (TensorSpec(np.ones(3, np.float32), (), True),)), "guard")
