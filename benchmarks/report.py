"""The suite's report: the comparison table and the ratio chart, from pytest-benchmark results.

Used by ``benchmarks/conftest.py`` at the end of a run and on its own for a saved run::

    python -m benchmarks.report results.json [--chart ratios.png] [--readme benchmarks/README.md]

Input is pytest-benchmark's JSON form (a list of benchmark dicts with ``group``,
``params["lib"]``, ``stats["median"]`` and ``extra_info``). One row per group (workload):
the median time of each library, autodiff/torch and autodiff/NumPy ratios (< 1: autodiff
is faster), and the rate autodiff and torch reach where the benchmark declared its work
(``extra_info["flops"]`` → GFLOP/s, ``extra_info["bytes"]`` → GB/s).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import NamedTuple

LIBS = ("autodiff", "numpy", "torch")
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


class Row(NamedTuple):
    group: str
    times: dict  # lib -> median seconds
    rates: dict  # lib -> formatted rate ("12.3 GB/s")
    note: str

    def ratio(self, other: str) -> float | None:
        a, b = self.times.get("autodiff"), self.times.get(other)
        return a / b if a is not None and b else None


def _lib(bench: dict) -> str:
    return (bench.get("params") or {}).get("lib") or bench["name"].split("[")[-1].split("-")[0].rstrip("]")


def _rate(extra: dict, seconds: float) -> str:
    if "flops" in extra:
        return f"{extra['flops'] / seconds / 1e9:.3g} GFLOP/s"
    if "bytes" in extra:
        return f"{extra['bytes'] / seconds / 1e9:.3g} GB/s"
    return ""


def rows(benchmarks: list[dict]) -> list[Row]:
    """One row per group, sorted by group name."""
    by_group: dict[str, Row] = {}
    for bench in benchmarks:
        group = bench["group"] or bench["name"]
        row = by_group.setdefault(group, Row(group, {}, {}, ""))
        lib, median, extra = _lib(bench), bench["stats"]["median"], bench.get("extra_info") or {}
        row.times[lib] = median
        row.rates[lib] = _rate(extra, median)
        if extra.get("note") and lib == "autodiff":
            by_group[group] = row._replace(note=extra["note"])
    return [by_group[g] for g in sorted(by_group)]


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}"


HEADER = ("workload", "autodiff", "numpy", "torch", "ad/torch", "ad/numpy", "autodiff rate", "torch rate")


def _cells(row: Row) -> tuple:
    return (row.group, *(_time(row.times.get(lib)) for lib in LIBS), _ratio(row.ratio("torch")),
            _ratio(row.ratio("numpy")), row.rates.get("autodiff", ""), row.rates.get("torch", ""))


def text_table(table: list[Row]) -> str:
    """Fixed-width table for the terminal; notes (start-up splits) listed below it."""
    lines = [HEADER, *(_cells(r) for r in table)]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(HEADER))]
    out = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
           for line in lines]
    out += [f"  {r.group}: {r.note}" for r in table if r.note]
    return "\n".join(out)


def markdown_table(table: list[Row]) -> str:
    """The same table in Markdown (for benchmarks/README.md)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(str(c) for c in _cells(r)) + " |" for r in table]
    lines += [f"\n- **{r.group}**: {r.note}" for r in table if r.note]
    return "\n".join(lines)


def chart(table: list[Row], path: Path, title: str) -> None:
    """Horizontal bars of autodiff/torch and autodiff/NumPy per workload (log scale; 1 = parity)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = [r for r in table if r.ratio("torch") or r.ratio("numpy")]
    fig, ax = plt.subplots(figsize=(10, 0.28 * len(table) + 1.4))
    ys = range(len(table))
    for offset, other, colour in ((-0.2, "torch", "tab:red"), (0.2, "numpy", "tab:blue")):
        ax.barh([y + offset for y in ys], [r.ratio(other) or 0 for r in table], height=0.4,
                color=colour, label=f"autodiff / {other}")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(list(ys), [r.group for r in table], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio (< 1: autodiff faster)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


def machine_line(machine_info: dict) -> str:
    """The stated machine: CPU, cores, threads, mode (see conftest's machine-info hook)."""
    info = machine_info.get("autodiff_bench") or {}
    return (f"{info.get('cpu', '?')}, {info.get('cores', '?')} cores; threads: {info.get('threads', '?')} each for "
            f"autodiff (Numba), torch and BLAS; {info.get('mode', '?')} mode; torch {info.get('torch', '-')}, "
            f"numba {info.get('numba', '?')}, numpy {info.get('numpy', '?')}")


def chart_title(machine_info: dict) -> str:
    info = machine_info.get("autodiff_bench") or {}
    return f"{info.get('cpu', '?')}, threads: {info.get('threads', '?')}, {info.get('mode', '?')} mode"


def update_readme(readme: Path, table: list[Row], machine_info: dict, chart_path: Path) -> None:
    """Replace the results section of ``readme`` (between the marker comments)."""
    text = readme.read_text()
    body = (f"{README_START}\nMachine: {machine_line(machine_info)}.\n\n{markdown_table(table)}\n\n"
            f"![autodiff time ratios]({chart_path.name})\n{README_END}")
    pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no {README_START} ... {README_END} section to replace")
    readme.write_text(pattern.sub(lambda _: body, text))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.split("\n")[0])
    parser.add_argument("json", type=Path, help="pytest-benchmark JSON (--benchmark-json)")
    parser.add_argument("--chart", type=Path, help="write the ratio chart (PNG) here")
    parser.add_argument("--readme", type=Path, help="rewrite this README's results section (needs --chart)")
    args = parser.parse_args(argv)
    data = json.loads(args.json.read_text())
    table = rows(data["benchmarks"])
    print(machine_line(data.get("machine_info", {})))
    print(text_table(table))
    if args.chart:
        chart(table, args.chart, chart_title(data.get("machine_info", {})))
    if args.readme:
        if not args.chart:
            parser.error("--readme needs --chart")
        update_readme(args.readme, table, data.get("machine_info", {}), args.chart)


if __name__ == "__main__":
    main()
