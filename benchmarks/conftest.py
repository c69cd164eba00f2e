"""Shared set-up for the benchmark suite: options, equal threads, and the closing report.

Each workload is a pytest-benchmark *group*; its benchmarks are named after the ``lib``
parameter: ``autodiff``, ``torch`` and ``numpy``. The run ends with the table of
:mod:`benchmarks.report` (times, ratios, GB/s or GFLOP/s); with ``--benchmark-json=X.json``
the ratio chart is written to ``X.png`` beside it, and ``--update-readme`` rewrites the
results section of ``benchmarks/README.md`` and its chart. See benchmarks/README.md.

Options added here: ``--quick`` (smaller sizes and fewer rounds: the whole suite in under
3 minutes on 2 cores) and ``--threads N`` (threads for autodiff's Numba kernels, torch
and NumPy's BLAS alike; default: every core).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numba
import numpy as np
import pytest

from benchmarks import report

HERE = Path(__file__).parent
QUICK_TIMING = {"benchmark_max_time": 0.2, "benchmark_min_rounds": 3}


def pytest_addoption(parser):
    group = parser.getgroup("autodiff benchmarks")
    group.addoption("--quick", action="store_true",
                    help="smaller sizes and fewer rounds (whole suite < 3 min on 2 cores)")
    group.addoption("--threads", type=int, default=min(os.cpu_count() or 1, numba.config.NUMBA_NUM_THREADS),
                    help="threads for autodiff (Numba), torch and NumPy's BLAS (default: all cores)")
    group.addoption("--update-readme", action="store_true",
                    help="write the table and chart into benchmarks/README.md")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _limit_threads(threads: int) -> dict:
    """Give Numba, torch and NumPy's BLAS ``threads`` threads; the versions in use. SciPy's
    BLAS, which autodiff's kernels call, stays at one thread: autodiff threads its GEMMs
    itself (``kernels/cpu/blas.py``)."""
    numba.set_num_threads(threads)
    info = {"numba": numba.__version__, "numpy": np.__version__}
    try:
        import torch

        torch.set_num_threads(threads)
        info["torch"] = torch.__version__
    except ImportError:
        pass
    from threadpoolctl import threadpool_limits

    from kernels.cpu.blas import ready_blas

    threadpool_limits(threads)
    ready_blas.cache_clear()  # re-apply after the blanket limit above
    ready_blas()
    return info


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its timing options
def pytest_configure(config):
    if config.getoption("quick", False):
        for name, value in QUICK_TIMING.items():
            setattr(config.option, name, value)
    threads = config.getoption("threads", None)
    if threads is None:  # this conftest was not loaded at start-up (benchmarks not selected)
        return
    config._autodiff_bench = {"cpu": _cpu_model(), "cores": os.cpu_count(), "threads": threads,
                              "mode": "quick" if config.getoption("quick") else "full",
                              **_limit_threads(threads)}


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["autodiff_bench"] = getattr(config, "_autodiff_bench", {})


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled or not session.benchmarks:
        return
    table = report.rows([b.as_dict(include_data=False) for b in session.benchmarks])
    machine_info = {"autodiff_bench": getattr(config, "_autodiff_bench", {})}
    tr = terminalreporter
    tr.section("autodiff vs NumPy and torch (median times; ratio < 1: autodiff faster)")
    tr.write_line(report.machine_line(machine_info))
    tr.write_line(report.text_table(table))
    if config.getoption("benchmark_json"):
        png = Path(config.getoption("benchmark_json")).with_suffix(".png")
        report.chart(table, png, report.chart_title(machine_info))
        tr.write_line(f"ratio chart: {png}")
    if config.getoption("update_readme"):
        png = HERE / "ratios.png"
        report.chart(table, png, report.chart_title(machine_info))
        report.update_readme(HERE / "README.md", table, machine_info, png)
        tr.write_line(f"updated {HERE / 'README.md'} and {png}")


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="torch is not installed: torch columns are skipped")
