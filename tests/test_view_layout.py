"""Which ops return views, the strides of new results, and overlap checks on writes, against torch.

For each case the same program runs in torch and autodiff from the same float64 values; the
results' shape, strides, contiguity, view-ness (``_base`` set) and grad_fn name must agree,
and the meta device must give the same strides.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad


def _inputs(lib, shapes, requires_grad=True):
    return [lib.tensor(np.random.RandomState(i).randn(*s), requires_grad=requires_grad)
            for i, s in enumerate(shapes)]


def _layout(t) -> tuple:
    return (tuple(t.shape), tuple(t.stride()), t.is_contiguous(), t._base is not None,
            type(t.grad_fn).__name__ if t.grad_fn is not None else None)


LAYOUTS = {
    # copying ops: new tensors
    "dot": ([(4,), (4,)], lambda L, v, w: v @ w),
    "vector@matrix": ([(4,), (4, 5)], lambda L, v, m: v @ m),
    "matrix@vector": ([(5, 4), (4,)], lambda L, m, v: m @ v),
    "batch@vector": ([(2, 5, 4), (4,)], lambda L, b, v: b @ v),
    "vector@batch": ([(4,), (2, 4, 5)], lambda L, v, b: v @ b),
    "repeat": ([(3, 4)], lambda L, x: x.repeat(2, 1, 3)),
    "tile": ([(3, 4)], lambda L, x: x.tile(2)),
    "index list": ([(3, 4)], lambda L, x: x[[0, 2]]),
    "index two lists": ([(3, 4)], lambda L, x: x[[0, 1], [1, 2]]),
    "index column list": ([(3, 4)], lambda L, x: x[:, [0, 2]]),
    "bool mask": ([(3, 4)], lambda L, x: x[x > 0]),
    "reshape of a transpose": ([(3, 4)], lambda L, x: x.t().reshape(12)),
    "flatten of a transpose": ([(3, 4)], lambda L, x: x.t().flatten()),
    # einsum: views where torch's are, contiguous where torch's are
    "einsum ij->ij": ([(3, 4)], lambda L, x: L.einsum("ij->ij", x)),
    "einsum ij->ji": ([(3, 4)], lambda L, x: L.einsum("ij->ji", x)),
    "einsum ij,jk->ki": ([(3, 4), (4, 5)], lambda L, a, b: L.einsum("ij,jk->ki", a, b)),
    "einsum bij,bjk->bik": ([(2, 5, 4), (2, 4, 5)], lambda L, a, b: L.einsum("bij,bjk->bik", a, b)),
    "einsum i,j->ij": ([(4,), (3,)], lambda L, a, b: L.einsum("i,j->ij", a, b)),
    "einsum ij,ij->ji": ([(3, 4), (3, 4)], lambda L, a, b: L.einsum("ij,ij->ji", a, b)),
    # elementwise results follow the operands' layout
    "transpose * 2": ([(3, 4)], lambda L, x: x.t() * 2),
    "transpose + contiguous": ([(3, 4)], lambda L, x: x.t() + x.t().contiguous()),
    "contiguous + transpose": ([(3, 4)], lambda L, x: x.t().contiguous() + x.t()),
    "permuted exp": ([(2, 3, 4)], lambda L, x: x.permute(2, 0, 1).exp()),
    "strided slice * 2": ([(3, 4)], lambda L, x: x[:, ::2] * 2),
    "transpose + row": ([(3, 4), (3,)], lambda L, x, r: x.t() + r),
    "expanded * 2": ([(3, 1)], lambda L, x: x.expand(3, 4) * 2),
    "broadcast size-1 dim": ([(4, 1, 3), (1, 1, 3)], lambda L, x, y: x.permute(1, 0, 2) + y),
    "where of transposes": ([(3, 4)], lambda L, x: L.where(x.t() > 0, x.t(), 0.0)),
    "clone of a transpose": ([(3, 4)], lambda L, x: x.t().clone()),
    "to() of a transpose": ([(3, 4)], lambda L, x: x.t().to(L.float32)),
    "reshape of an elementwise transpose": ([(3, 4)], lambda L, x: (x.t() * 2).reshape(12)),
}


@pytest.mark.parametrize("name", LAYOUTS)
def test_result_layout_and_view_ness_match_torch(name):
    shapes, f = LAYOUTS[name]
    expected = _layout(f(torch, *_inputs(torch, shapes)))
    assert _layout(f(ad, *_inputs(ad, shapes))) == expected


META_LAYOUTS = ["transpose * 2", "transpose + row", "permuted exp", "broadcast size-1 dim", "repeat",
                "vector@batch", "index list", "clone of a transpose"]


@pytest.mark.parametrize("name", META_LAYOUTS)
def test_meta_strides_match_torch(name):
    shapes, f = LAYOUTS[name]
    expected = f(torch, *[torch.empty(s, device="meta") for s in shapes])
    got = f(ad, *[ad.empty(s, device="meta") for s in shapes])
    assert (got.shape, got.stride()) == (expected.shape, expected.stride())


def _both(program):
    """The program's returned arrays under torch and autodiff (an exception's type and message instead)."""
    out = []
    for lib in (torch, ad):
        try:
            out.append([np.asarray(t.detach().numpy()) if t is not None else None for t in program(lib)])
        except RuntimeError as e:
            out.append(("RuntimeError", str(e)))
    return out


def _repeat_keeps_values(L):
    x = L.arange(3.0)
    r = x.repeat(2, 1)
    x.add_(100)
    r[0, 0] = -1.0  # a repeat result is writable (not an overlapping view)
    return [r, x]


def _index_result_write_reaches_w(L):
    x, w = L.arange(4.0, requires_grad=True), L.tensor([3.0], requires_grad=True)
    z = x[L.tensor([2, 0, 1])]
    z[0:1] = w * 2
    (z * L.arange(3.0)).sum().backward()
    return [z, x.grad, w.grad]


def _detach_index_and_matmul_results(L):
    x = L.arange(4.0, requires_grad=True)
    z, d = x[L.tensor([1, 2])], x @ x
    z.detach_()
    d.detach_()
    return [z, d]


def _hook_sees_both_paths(L):
    x = L.arange(4.0, requires_grad=True)
    seen = []
    v = x[x > 1]
    v.register_hook(lambda g: seen.append(g.clone()))
    y = x.view(2, 2) @ x[:2]
    y.register_hook(lambda g: seen.append(g.clone()))
    v = v * 1
    v.add_(v)
    (v.sum() + y.sum()).backward()
    return seen + [x.grad]


def _reshape_copy_is_independent(L):
    x = L.arange(6.0).reshape(2, 3)
    m = x.t() * 2
    flat = m.reshape(6)
    m.add_(1)
    return [flat, m]


def _einsum_identity_is_a_view(L):
    x = L.arange(4.0).reshape(2, 2)
    e = L.einsum("ij->ij", x)
    e.mul_(3)
    return [x, L.tensor([float(e is x)]), L.einsum("ij,jk->ki", x, x).view(-1)]


@pytest.mark.parametrize("program", [_repeat_keeps_values, _index_result_write_reaches_w,
                                     _detach_index_and_matmul_results, _hook_sees_both_paths,
                                     _reshape_copy_is_independent, _einsum_identity_is_a_view],
                         ids=lambda f: f.__name__.strip("_"))
def test_new_tensors_behave_as_torch(program):
    expected, got = _both(program)
    assert not isinstance(expected, tuple), expected
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e)


def _version(L):
    x = L.arange(6.0).reshape(2, 3)
    made = [x.repeat(1, 2), x[[0]], x.t().reshape(6), x[0] @ x[1]]
    x.add_(1)
    return [int(t._version) for t in made]


def test_copying_ops_have_their_own_version_counter():
    assert _version(ad) == _version(torch) == [0, 0, 0, 0]


OVERLAPS = {
    "copy_ partly overlapping": lambda L, y: y[1:].copy_(y[:-1]),
    "add_ partly overlapping": lambda L, y: y[1:].add_(y[:-1]),
    "add_ of own transpose": lambda L, y: y[:4].view(2, 2).add_(y[:4].view(2, 2).t()),
    "index_put from itself": lambda L, y: y.__setitem__(L.tensor([1, 0, 2, 4, 3]), y),
    "index_put from a part": lambda L, y: y.__setitem__(L.tensor([0, 1]), y[1:3]),
    "index_copy_ from itself": lambda L, y: y.index_copy_(0, L.tensor([1, 0, 2, 4, 3]), y),
    "add_ into an expand": lambda L, y: y[:3].view(3, 1).expand(3, 4).add_(1),
    "copy_ into an expand": lambda L, y: y[:3].view(3, 1).expand(3, 4).copy_(L.ones(3, 4, dtype=L.float64)),
    "index_add_ into an expand": lambda L, y: y[:3].view(3, 1).expand(3, 4).index_add_(
        0, L.tensor([0]), L.ones(1, 4, dtype=L.float64)),
    "scatter_ into an expand": lambda L, y: y[:3].view(3, 1).expand(3, 4).scatter_(0, L.tensor([[0]]), 1.0),
    # allowed: the same elements, or disjoint ones
    "add_ of itself": lambda L, y: y.add_(y),
    "copy_ of a disjoint part": lambda L, y: y[:2].copy_(y[3:]),
}


@pytest.mark.parametrize("name", OVERLAPS)
def test_overlapping_writes_as_torch(name):
    def program(L):
        y = L.arange(5.0, dtype=L.float64)
        OVERLAPS[name](L, y)
        return [y]

    expected, got = _both(program)
    if isinstance(expected, tuple):
        assert got == expected
    else:
        np.testing.assert_allclose(got[0], expected[0])


PIECES = {
    "split": (lambda x: x.split(2, 1), [0, 2]),
    "split sizes": (lambda x: x.split([1, 2, 3], 1), [2]),
    "chunk": (lambda x: x.chunk(3, 1), [0, 2]),
    "unbind": (lambda x: x.unbind(1), [1, 4]),
    "split one piece": (lambda x: x.split(4), [0]),
}


@pytest.mark.parametrize("name", PIECES)
def test_split_family_is_one_multi_output_view_node(name):
    f, used = PIECES[name]
    grads, names = [], []
    for lib in (torch, ad):
        x = lib.tensor(np.arange(24.0).reshape(4, 6), requires_grad=True)
        y = x * 1
        pieces = f(y)
        assert all(p._base is y for p in pieces) and len({id(p.grad_fn) for p in pieces}) == 1
        names.append(type(pieces[0].grad_fn).__name__)
        sum((pieces[i] ** 2).sum() * (i + 1) for i in used).backward()
        grads.append(x.grad.numpy())
    assert names[1] == names[0]
    np.testing.assert_allclose(grads[1], grads[0])
    assert all(p._creation_meta == "multi_output" for p in f(ad.ones(4, 6) * 1))


def test_split_double_backward_and_meta():
    results = []
    for lib in (torch, ad):
        x = lib.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        g, = lib.autograd.grad((x.unbind(0)[2] ** 3).sum() + (x.split(3, 1)[1] ** 3).sum(), x,
                               create_graph=True)
        (g ** 2).sum().backward()
        results.append(x.grad.numpy())
    np.testing.assert_allclose(results[1], results[0])
    meta = [(p.shape, p.stride()) for p in ad.empty(4, 6, device="meta").split([1, 5], 1)]
    assert meta == [(p.shape, p.stride()) for p in torch.empty(4, 6, device="meta").split([1, 5], 1)]


@pytest.mark.parametrize("no_copy_reshape", [True, False])
def test_backend_view_is_a_view_or_none(monkeypatch, no_copy_reshape):
    """The backend's view: shares memory where the strides allow it, None (and no copy)
    where they do not, by np.reshape(copy=False) or, on older NumPy, the shape setter."""
    from autodiff.backends import base, backend_of

    if no_copy_reshape and not base._NO_COPY_RESHAPE:
        pytest.skip("this NumPy has no reshape(copy=False)")
    monkeypatch.setattr(base, "_NO_COPY_RESHAPE", no_copy_reshape)
    heads = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    be = backend_of(heads)
    moved = heads.transpose(0, 2, 1, 3)  # (batch, tokens, heads, dim): heads moved back
    assert be.view(moved, (2, 4, 15)) is None
    split = be.view(moved, (2, 4, 3, 5, 1))  # a size-1 dim added: still a view
    assert split is not None and np.shares_memory(split, heads)
    np.testing.assert_array_equal(split[..., 0], moved)
    flat = be.view(heads[:, :, 1], (6, 5))  # a slice whose outer dims merge
    assert flat is not None and np.shares_memory(flat, heads)
    np.testing.assert_array_equal(flat, heads[:, :, 1].reshape(6, 5))
    t = ad.tensor(heads).transpose(1, 2)
    assert t.reshape(2, 4, 15)._base is None  # torch: a copy of its own
    np.testing.assert_array_equal(t.reshape(2, 4, 15).numpy(), moved.reshape(2, 4, 15))
