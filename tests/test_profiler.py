"""autodiff.profiler: the ops and backward nodes of a known graph, with counts, against torch.profiler."""

import re

import numpy as np
import pytest
import torch
from numba import njit

import autodiff as ad
from autodiff import profiler


def _graph(lib, x, w):
    """y = sum(tanh(x * w)); backward: one node per forward op."""
    y = (x * w).tanh().sum()
    y.backward()
    return y


def _counts(avgs) -> dict:
    return {(e.key, getattr(e, "phase", None)): e.count for e in avgs}


def test_known_graph_rows_and_counts_match_torch():
    a, b = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    x, w = ad.tensor(a, requires_grad=True), ad.tensor(b, requires_grad=True)
    _graph(ad, x, w)  # kernels loaded before profiling
    x.grad = w.grad = None
    with profiler.profile(activities=[profiler.ProfilerActivity.CPU]) as prof:  # torch's arguments
        _graph(ad, x, w)
    ours = _counts(prof.key_averages())

    tx, tw = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    with torch.profiler.profile() as tprof:
        _graph(torch, tx, tw)
    theirs = {e.key: e.count for e in tprof.key_averages()}

    def calls(op):  # torch counts an op's calls in forward and backward together
        return sum(n for (key, _), n in ours.items() if key == f"autodiff::{op}")

    for op in ("mul", "tanh", "sum", "expand", "tanh_backward"):
        assert calls(op) == theirs[f"aten::{op}"], op
    for op in ("mul", "tanh", "sum"):  # the forward ops, once each
        assert ours[(f"autodiff::{op}", "forward")] == 1
    for node in ("SumBackward0", "TanhBackward0", "MulBackward0"):  # one evaluation per node
        assert ours[(node, "backward")] == theirs[node] == 1
    assert ours[("autograd::backward", "backward")] == 1
    # MulBackward0's rules are grad * other and grad * self: the backward phase's two muls
    assert ours[("autodiff::mul", "backward")] == 2
    assert all(phase in ("forward", "backward") for _, phase in ours)


def test_self_and_total_time_nest():
    x = ad.randn(3, 4, requires_grad=True)
    (x * 2).tanh().sum().backward()
    with profiler.profile() as prof:
        (x * 2).tanh().sum().backward()
    by_key = {(e.key, e.phase): e for e in prof.key_averages()}
    node = by_key[("MulBackward0", "backward")]
    child = by_key[("autodiff::mul", "backward")]
    assert node.cpu_time_total >= node.self_cpu_time_total >= 0
    assert node.cpu_time_total >= child.cpu_time_total  # the node's total includes the mul it ran
    whole = by_key[("autograd::backward", "backward")]
    backward_self = sum(e.self_cpu_time_total for e in prof.key_averages() if e.phase == "backward")
    assert whole.cpu_time_total == pytest.approx(backward_self, rel=1e-6, abs=1e-3)
    totals = prof.phase_totals()
    assert set(totals) == {"forward", "backward"}


def test_fused_ops_and_user_functions_are_events():
    """Ops built as autograd.Functions (layer_norm, scaled_dot_product_attention) and a
    user's Function record their forward calls, like every other op."""
    class Double(ad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = ad.randn(2, 3, 8, 4, requires_grad=True)
    F = ad.nn.functional

    def run():
        y = F.layer_norm(x, (4,))
        y = F.scaled_dot_product_attention(y, y, y, is_causal=True)
        Double.apply(y).sum().backward()

    run()
    with profiler.profile() as prof:
        run()
    ours = _counts(prof.key_averages())
    for name in ("autodiff::layer_norm", "autodiff::scaled_dot_product_attention", "Double"):
        assert ours[(name, "forward")] == 1, name
    assert ours[("autodiff::mul", "forward")] == 1  # the op inside Double's forward, nested in it
    assert ours[("NativeLayerNormBackward0", "backward")] == 1


def test_table_is_torch_shaped_sorted_and_limited():
    x = ad.randn(5, requires_grad=True)
    with profiler.profile() as prof:
        for _ in range(3):
            (x * x).sum().backward()
    avgs = prof.key_averages()
    text = avgs.table(sort_by="count", row_limit=2)
    lines = text.splitlines()
    assert re.fullmatch(r"-+(  -{12})+  ", lines[0]) and lines[2] == lines[0]
    header = lines[1].split()
    assert header[0] == "Name" and "Self CPU %" in lines[1] and "# of Calls" in lines[1]
    rows = lines[3:5]
    assert lines[5] == lines[0] and lines[6].startswith("Self CPU time total: ")
    counts = [int(r.split()[-2]) for r in rows]
    expected = sorted((e.count for e in avgs), reverse=True)[:2]
    # the most frequent row: x * x's backward rules (grad * other, grad * self), 2 muls x 3 steps
    assert counts == expected and counts[0] == 6 and "autodiff::mul" in rows[0] and "backward" in rows[0]
    assert "Numba compile time total" in text
    with pytest.raises(AttributeError, match="cannot sort by"):
        avgs.table(sort_by="nonsense")


def test_compile_time_is_separate_from_cpu_time():
    @njit(cache=False)
    def fresh(a):  # a kernel no cache holds: profiling must see it compile
        return a * 2.0 + 1.0

    with profiler.profile() as prof, profiler.record_function("first_call"):
        fresh(np.ones(3))
    names = [name for name, _, _ in prof.compiled_kernels]
    assert any("fresh" in n for n in names)
    event = {e.key: e for e in prof.key_averages()}["first_call"]
    assert event.count == 1 and event.compile_time_total > 0
    compiled_us = sum(s for _, _, s in prof.compiled_kernels) * 1e6
    assert event.compile_time_total == pytest.approx(compiled_us, rel=1e-6)
    assert "1 kernel signatures compiled" in prof.key_averages().table()


def test_off_outside_the_block_and_errors_keep_it_consistent():
    assert not profiler.active
    x = ad.ones(2, requires_grad=True)
    with profiler.profile() as prof:
        assert profiler.active
        with pytest.raises(RuntimeError):
            ad.ones(2, 3) + ad.ones(4)  # a failing op: its event still closes
        y = (x + 1).sum()
    assert not profiler.active
    y.backward()  # not recorded
    keys = _counts(prof.key_averages())
    assert keys[("autodiff::add", "forward")] == 2 and ("autograd::backward", "backward") not in keys
    assert profiler._local.stack == []


def test_inplace_ops_are_their_own_rows():
    x = ad.ones(3)
    with profiler.profile() as prof:
        x.mul_(2)
        x.add_(1)
    keys = _counts(prof.key_averages())
    assert keys[("autodiff::mul_", "forward")] == 1 and keys[("autodiff::add_", "forward")] == 1


def test_kernel_progress_counts_compiles():
    @njit(cache=False)
    def fresh_twice(a):
        return a - 1.0

    with profiler.kernel_progress(leave=False) as progress:
        fresh_twice(1.0)  # one new signature: one compile
        fresh_twice(2.0)  # the same signature: nothing to do
        fresh_twice(np.ones(2))  # a second signature
    assert progress.compiled == 2 and progress.count == 2
    with profiler.kernel_progress() as quiet:
        fresh_twice(3.0)
    assert quiet.count == 0 and quiet._bar is None  # nothing compiled: no bar at all
