"""Shared set-up for the benchmark suite: equal threads for autodiff and torch, and a
closing table of autodiff/torch and autodiff/NumPy time ratios per workload.

Each workload is a pytest-benchmark *group*; its benchmarks are named ``autodiff``,
``torch`` and ``numpy``. Run with ``python -m pytest benchmarks --benchmark-enable``.
"""

from __future__ import annotations

import numba
import pytest

THREADS = 2


def pytest_configure(config):
    numba.set_num_threads(THREADS)
    try:
        import torch

        torch.set_num_threads(THREADS)
    except ImportError:
        pass


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled or not session.benchmarks:
        return
    groups: dict[str, dict[str, float]] = {}
    for bench in session.benchmarks:
        name = bench["name"].split("[")[-1].rstrip("]")
        stats = bench["stats"]  # a dict in some pytest-benchmark versions, a Stats object in others
        median = stats["median"] if isinstance(stats, dict) else stats.median
        groups.setdefault(bench["group"], {})[name.split("-")[0]] = median
    tr = terminalreporter
    tr.section(f"autodiff vs torch and NumPy (median times, {THREADS} threads each)")
    tr.write_line(f"{'workload':45s} {'autodiff':>11s} {'torch':>11s} {'numpy':>11s} {'ad/torch':>9s} {'ad/numpy':>9s}")
    for group, times in sorted(groups.items()):
        ad_t, th_t, np_t = times.get("autodiff"), times.get("torch"), times.get("numpy")

        def fmt(t):
            return f"{t * 1e6:9.1f}us" if t is not None else f"{'-':>11s}"

        def ratio(a, b):
            return f"{a / b:9.2f}" if a is not None and b is not None else f"{'-':>9s}"

        tr.write_line(f"{group:45s} {fmt(ad_t)} {fmt(th_t)} {fmt(np_t)} {ratio(ad_t, th_t)} {ratio(ad_t, np_t)}")


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="torch is not installed: torch columns are skipped")
