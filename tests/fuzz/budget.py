"""How many examples each fuzz test runs, and the count of cases actually run.

Default: a short, derandomized run sized for CI (about two minutes on two cores with a
warm kernel cache). ``AUTODIFF_FUZZ=long`` runs 25x as many examples with fresh random
seeds; ``AUTODIFF_FUZZ=<n>`` scales every test to about n/40 times its default.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_MODE = os.environ.get("AUTODIFF_FUZZ", "")
SCALE = 25.0 if _MODE == "long" else (int(_MODE) / 40 if _MODE.isdigit() else 1.0)
COUNTS: dict[str, int] = {}

settings.register_profile("fuzz", deadline=None, derandomize=_MODE == "", database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much])


def examples(n: int) -> settings:
    """Settings for a fuzz test: ``n`` examples by default, scaled in the long modes."""
    return settings(settings.get_profile("fuzz"), max_examples=max(1, int(n * SCALE)))


def count(name: str) -> None:
    """Record that one generated case of family ``name`` ran."""
    COUNTS[name] = COUNTS.get(name, 0) + 1
