"""Differential random-program fuzzing: programs of 5-40 steps mixing views, copies,
elementwise ops, reductions, in-place writes, no-grad blocks, detach, hooks and
``retain_grad``, ending in ``backward`` or ``autograd.grad`` (sometimes second order),
run from the same float64 leaves under torch (here) and autodiff (in the worker process).
Every value, flag, gradient, hook call and exception class must be torch's; a failure is
shrunk to a small program and printed as Python (see ``fuzz/programs``).

Default: 240 programs from fixed seeds, 5-20 steps, about a minute with a warm kernel cache.
``AUTODIFF_FUZZ=long``: 25x the programs (6000), fresh seeds (``AUTODIFF_FUZZ_SEED`` repeats a
run), sizes up to 40.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import autodiff as ad

from .budget import SCALE
from .programs.check import check
from .programs.generate import generate, sizes
from .programs.shrink import shrink

BATCHES = 8
PER_BATCH = 30
SHRUNK = 3  # failures of a batch reported as shrunk programs; the rest by seed only
LONG = SCALE > 1
LARGEST = 40 if LONG else 20
BASE_SEED = int(os.environ.get("AUTODIFF_FUZZ_SEED", np.random.SeedSequence().entropy % 10**6 if LONG else 0))


@pytest.mark.parametrize("batch", range(BATCHES))
def test_random_programs_match_torch(worker, batch):
    """``PER_BATCH`` (scaled) programs from seeds ``BASE_SEED + batch * 10**6 + k``; every
    difference is reported, the first few as shrunk programs."""
    count = max(1, int(PER_BATCH * SCALE))
    rng = np.random.default_rng(BASE_SEED + batch)
    failures: list[str] = []
    for k, size in enumerate(sizes(rng, count, LARGEST)):
        seed = BASE_SEED + batch * 10**6 + k
        found = check(worker, generate(seed, size), label=f"seed {seed} (size {size}): ",
                      shrinking=len(failures) < SHRUNK)
        if found:
            failures.append(found)
    assert not failures, f"{len(failures)} of {count} programs differ from torch:\n\n" + "\n\n".join(failures)


# ---- regressions: defect classes the program fuzzer found, each its smallest program ---------


def _both(program) -> list:
    """``program(lib)`` under autodiff and torch (each returns a list of comparable results)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [program(lib) for lib in (ad, torch)]


def _np(t):
    return None if t is None else t.detach().numpy().tolist()


def _value_or_error(step, *args):
    """``step(*args)``, or the message of the RuntimeError it raised (compared with torch's)."""
    try:
        return step(*args)
    except RuntimeError as e:
        return str(e)


def test_flatten_that_merges_nothing_returns_the_input():
    """torch's flatten returns the input itself (not a view) when start_dim == end_dim."""
    def program(lib):
        x, y = lib.ones(4, dtype=lib.float64), lib.ones(2, 3, dtype=lib.float64)
        z = lib.ones((), dtype=lib.float64)
        return [x.flatten() is x, y.flatten(1) is y, y.flatten(-1, -1) is y, y.flatten(0, 1) is y,
                z.flatten() is z, z.flatten()._base is z]
    ours, theirs = _both(program)
    assert ours == theirs


def test_backward_inputs_non_leaf_keeps_retaining_its_grad():
    """``backward(inputs=[y])`` of a non-leaf ``y`` makes it retain its gradient: later
    backward and autograd.grad runs through ``y`` accumulate into ``y.grad``."""
    def program(lib):
        x = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
        y = x * 2
        (y * 3).sum().backward(retain_graph=True, inputs=[y, y])
        first = (_np(y.grad), y.retains_grad, _np(x.grad))
        lib.autograd.grad((y * 5).sum(), [x], retain_graph=True)
        (y * y).sum().backward()
        return [first, _np(y.grad), _np(x.grad)]
    ours, theirs = _both(program)
    assert ours == theirs


def test_writes_into_expanded_tensors_match_torch():
    """index_put and masked_fill_ may write into an expanded tensor, an empty window of one
    takes any write, and so does a window of one whose elements do not overlap; index_add_
    into one, or a write into an overlapping window, is torch's overlap error (not a kernel
    failure)."""
    writes = [lambda lib, e: e.__setitem__(lib.tensor([1]), lib.tensor([5.0, 6, 7, 8], dtype=lib.float64)),
              lambda lib, e: e.__setitem__((slice(None), lib.tensor([2])), 9.0),
              lambda lib, e: e.masked_fill_(lib.tensor([[True, False, True, False]] * 2), -1.0),
              lambda lib, e: e[:0].fill_(3.0),
              lambda lib, e: e[:, 1:1].copy_(lib.ones(2, 0, dtype=lib.float64)),
              lambda lib, e: e[:0].add_(1.0),
              lambda lib, e: e.index_add_(0, lib.tensor([1]), lib.ones(1, 4, dtype=lib.float64)),
              lambda lib, e: e[1].mul_(2.0),
              lambda lib, e: e[0, 1:3].copy_(lib.tensor([7.0, 8.0], dtype=lib.float64)),
              lambda lib, e: e[:, 1:3].add_(1.0)]

    def program(lib):
        seen = []
        for write in writes:
            x = lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)
            try:
                write(lib, x.expand(2, -1))
                seen.append(x.tolist())
            except RuntimeError as e:
                seen.append(str(e)[:60])
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64)
        e = x.t()[0].expand(3, 2)  # of a non-contiguous column
        e[1].add_(10.0)
        e[2].view(2).mul_(2.0)
        return seen + [x.tolist()]
    ours, theirs = _both(program)
    assert ours == theirs


def test_masked_fill_into_a_view_keeps_gradients():
    """masked_fill_ writes through index_put now: values and gradients of the base and of
    a 0-d value tensor are torch's."""
    def program(lib):
        x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype=lib.float64, requires_grad=True)
        v = lib.tensor(2.5, dtype=lib.float64, requires_grad=True)
        y = x * 1
        y.t().masked_fill_(lib.tensor([[True], [False], [True]]), v)
        y.masked_fill_(lib.tensor([[False], [True]]), 7.0)
        s = y.sum()
        s.masked_fill_(lib.tensor(True), v * 2)
        y = y * s
        (y * lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=lib.float64)).sum().backward()
        return [_np(y), _np(x.grad), _np(v.grad)]
    ours, theirs = _both(program)
    assert ours == theirs


def test_chunk_of_an_empty_dim_gives_chunks_pieces():
    def program(lib):
        return [[list(p.shape) for p in lib.empty(*shape).chunk(n, dim)]
                for shape, n, dim in [((0,), 2, 0), ((2, 0), 3, 1), ((0,), 1, 0), ((3, 0, 2), 2, 1), ((5,), 2, 0)]]
    ours, theirs = _both(program)
    assert ours == theirs


def test_grad_of_a_multi_output_view_after_a_write_to_its_base_reads():
    """torch refuses the history of a split output after its base was written, but its
    ``.grad`` still reads (None)."""
    def program(lib):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        a, b = (x * 1).split(1, 0)
        a.detach().fill_(0.0)
        try:
            a.grad_fn
            refused = False
        except RuntimeError:
            refused = True
        return [refused, a.grad]
    ours, theirs = _both(program)
    assert ours == theirs


def test_fill_and_zero_write_into_expanded_tensors():
    """fill_ and zero_ (not other in-place ops) may write into an expanded tensor, as torch;
    fill_ takes a 0-d tensor value (its gradient is the sum) and refuses a 1-d one."""
    def program(lib):
        out = []
        for write in (lambda e: e.fill_(2.0), lambda e: e.zero_(), lambda e: e.relu_(),
                      lambda e: e.fill_(lib.ones(2, dtype=lib.float64))):
            x = lib.tensor([1.0, -2.0], dtype=lib.float64)
            try:
                write(x.expand(3, 2))
                out.append(x.tolist())
            except RuntimeError as e:
                out.append(str(e)[:40])
        x = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
        v = lib.tensor(1.5, dtype=lib.float64, requires_grad=True)
        y = x * 2
        y[1:].fill_(v * 3)
        (y * lib.tensor([1.0, 2.0, 4.0], dtype=lib.float64)).sum().backward()
        return out + [_np(y), _np(x.grad), _np(v.grad)]
    ours, theirs = _both(program)
    assert ours == theirs


def test_backward_with_repeated_inputs_accumulates_once():
    def program(lib):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64, requires_grad=True)
        y = x * 2
        (y * 3).sum().backward(inputs=[x, y, x, y])
        return [_np(x.grad), _np(y.grad)]
    ours, theirs = _both(program)
    assert ours == theirs


def test_generated_programs_replay_in_torch_and_shrink():
    """The harness itself: a generated program replays in torch as the generator ran it (a
    refused step only at its end); removing a step removes what reads its values; the
    shrinker keeps a failure and its printed program runs in torch."""
    from .programs.interpret import run

    for seed in range(5):
        program = generate(seed, 12)
        trace = run(torch, program)
        assert all(r[0] == "ok" for r in trace[:-1]) and len(trace) == len(program.steps) + 1
        for i, step in enumerate(program.steps):
            rest = program.without({i})
            assert step not in rest.steps
            assert all(s.refs() <= {lf.id for lf in rest.leaves} | {o for t in rest.steps for o in t.outs}
                       for s in rest.steps)
    # a synthetic failure, "some step divides", shrinks to one division and what it reads
    program = next(p for p in map(lambda s: generate(s, 15), range(50))
                   if sum(s.name == "/" for s in p.steps) >= 1 and len(p.steps) > 8)
    small = shrink(program, lambda p: any(s.name == "/" for s in p.steps))
    assert sum(s.name == "/" for s in small.steps) == 1 and len(small.steps) <= 4
    namespace: dict = {}
    exec(small.code(), namespace)  # noqa: S102 - the printed program is Python that runs


def test_hooks_on_outputs_no_gradient_reached_are_called_with_none():
    """torch calls a hook on an output of a multi-output node that runs (split, unbind) with
    None where no gradient reached that output."""
    def program(lib):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64, requires_grad=True)
        seen = []
        a, b = (x * 1).split(2)
        b.register_hook(lambda g: seen.append(("b", _np(g))))
        a.register_hook(lambda g: seen.append(("a", _np(g))))
        p, q = x.view(2, 2).unbind(0)
        q.register_hook(lambda g: seen.append(("q", _np(g))))
        (a * 2).sum().backward()
        (p * 3).sum().backward()
        return [seen, _np(x.grad)]
    ours, theirs = _both(program)
    assert ours == theirs


def test_views_of_a_base_that_left_the_graph_stay_non_leaves_leading_nowhere():
    """After ``base.detach_()`` and a write to it, torch re-makes a live view's history
    with no way back: the view is still a non-leaf that requires grad, and its backward
    reaches nothing (also when the base was itself computed from a leaf)."""
    def program(lib):
        out = []
        for computed in (False, True):
            x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
            base = x * 1 if computed else x
            v = base.t()
            base.detach_()
            base[0] = 5.0
            out.append((v.requires_grad, v.is_leaf, v.tolist()))
            (v * 2).sum().backward()
            out.append(_np(x.grad))
        return out
    ours, theirs = _both(program)
    assert ours == theirs


def test_retain_grad_of_a_no_grad_view_after_a_write_to_its_base():
    """torch refuses the history of a view made under no_grad once its base was written
    with grad, but ``retain_grad()`` on it is a no-op, not an error."""
    def program(lib):
        out = []
        for multi in (False, True):
            x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
            y = x * 1
            with lib.no_grad():
                v = y.unbind(0)[1] if multi else y[1]
            y.mul_(2)
            out.append((v.retain_grad(), v.requires_grad, v.grad))
        return out
    ours, theirs = _both(program)
    assert ours == theirs


def test_in_place_on_a_view_that_requires_grad_by_itself():
    """``requires_grad_()`` on a view of a leaf that needs no grad: in-place writes into it,
    or into a view of it, are torch's "a view of a leaf Variable" error."""
    def program(lib):
        def through_view(write):
            x = lib.ones(2, 3, dtype=lib.float64)
            v = x.unsqueeze(0)
            v.requires_grad_()
            write(v)
            return x.tolist()
        return [_value_or_error(through_view, write) for write in (
            lambda v: v.mul_(0.25), lambda v: v.flatten(0).mul_(0.25), lambda v: v.detach().mul_(0.25))]
    ours, theirs = _both(program)
    assert ours == theirs


def test_copy_into_a_one_element_view_with_other_dims_of_the_same_memory():
    """``v[:, None] = v`` of a one-element ``v``: the same element in another number of dims
    is a partial overlap to torch (its strides differ), so the write is refused."""
    def program(lib):
        def into_itself(write):
            v = lib.tensor([[2.0]], dtype=lib.float64)
            write(v)
            return v.tolist()
        return [_value_or_error(into_itself, write) for write in (
            lambda v: v[:, None].copy_(v), lambda v: v.__setitem__((slice(None), None), v),
            lambda v: v[:].copy_(v))]
    ours, theirs = _both(program)
    assert ours == theirs


def test_index_add_of_its_own_memory_with_alpha_is_refused():
    def program(lib):
        def add_itself(alpha):
            x = lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)
            return x.index_add_(0, lib.tensor([3, 0, 1, 2]), x, alpha=alpha).tolist()
        return [_value_or_error(add_itself, alpha) for alpha in (1, 2.0)]
    ours, theirs = _both(program)
    assert ours == theirs


def test_copy_of_a_tensor_into_itself_and_grad_of_an_input_whose_node_is_not_needed():
    """``e.copy_(e)`` is fine even for an expanded ``e`` (torch returns first) but still
    moves the version on; autograd.grad for a non-leaf input takes its gradient without
    running that input's own backward (which may read a tensor written since)."""
    def program(lib):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64, requires_grad=True)
        e = lib.tensor([1.0, 2.0], dtype=lib.float64).expand(3, 2)
        e.copy_(e)
        y = x * 1
        d = y @ y  # saves y
        y.detach().mul_(2.0)
        g, = lib.autograd.grad(d.contiguous() * 3, [d])
        z = x * 1
        p = z * z
        z.copy_(z)
        try:
            p.sum().backward()
            refused = False
        except RuntimeError:
            refused = True
        return [e.tolist(), _np(g), refused]
    ours, theirs = _both(program)
    assert ours == theirs


def test_overlap_of_a_detached_alias_and_retain_grad_of_a_refused_multi_output_view():
    """``x.detach().index_add_(0, i, x)`` is judged like two tensors of one storage (torch:
    too hard to tell for a non-dense x, so allowed; refused for a dense one); retain_grad of
    a split output whose base was written raises as torch (only no-grad views let it be)."""
    def program(lib):
        def add_into_alias(make):
            v = make(lib.ones(2, 3, 4, dtype=lib.float64))
            v.detach().index_add_(1, lib.tensor([2, 1, 0]), v)
            return v.sum().item()
        out = [_value_or_error(add_into_alias, make) for make in (lambda b: b.split(2, 2)[0], lambda b: b)]
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        y = x * 1
        p, = y.split(2, 0)
        y[:1] = 0.25
        try:
            p.retain_grad()
            out.append("retained")
        except RuntimeError as e:
            out.append(str(e)[:40])
        return out
    ours, theirs = _both(program)
    assert ours == theirs
