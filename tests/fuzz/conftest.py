"""The fuzz suite's session worker process and its closing count of generated cases."""

from __future__ import annotations

import pytest

from fuzz.budget import COUNTS
from fuzz.guard import Worker


@pytest.fixture(scope="session")
def worker():
    w = Worker()
    yield w
    w.close()


def pytest_terminal_summary(terminalreporter):
    if COUNTS:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items()))
        terminalreporter.write_line(f"fuzz: {sum(COUNTS.values())} generated cases run ({parts})")
