"""Sparse COO tensors against torch: construction and its errors, coalesce, to_dense,
to_sparse, sparse @ dense with gradients for the values and the dense operand (also
second order), and a graph convolution layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad

INDICES = [[0, 2, 1, 0, 2], [1, 0, 3, 1, 2]]  # (0, 1) twice
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")
VALUES = [1.0, -2.0, 0.5, 3.0, 4.0]


def _pair(dtype=np.float64, requires_grad=False):
    ours = ad.sparse_coo_tensor(ad.tensor(INDICES), ad.tensor(np.array(VALUES, dtype)), (3, 4),
                                requires_grad=requires_grad)
    theirs = torch.sparse_coo_tensor(torch.tensor(INDICES), torch.tensor(np.array(VALUES, dtype)), (3, 4),
                                     requires_grad=requires_grad)
    return ours, theirs


def test_metadata_coalesce_and_to_dense_match_torch():
    ours, theirs = _pair()
    assert (ours.shape, ours._nnz(), ours.is_coalesced(), ours.sparse_dim(), ours.dense_dim(), ours.is_sparse) == (
        tuple(theirs.shape), theirs._nnz(), theirs.is_coalesced(), theirs.sparse_dim(), theirs.dense_dim(), True)
    assert repr(ours) == repr(theirs).replace("torch.", "autodiff.")
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())
    a, t = ours.coalesce(), theirs.coalesce()
    np.testing.assert_array_equal(a.indices().numpy(), t.indices().numpy())
    np.testing.assert_array_equal(a.values().numpy(), t.values().numpy())
    assert a.is_coalesced() and not ad.ones(2).is_sparse
    inferred = ad.sparse_coo_tensor(INDICES, VALUES)
    assert inferred.shape == tuple(torch.sparse_coo_tensor(INDICES, VALUES).shape)


def test_to_sparse_round_trip_and_gradient():
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    ours = ad.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    a, t = ours.to_sparse(), theirs.to_sparse()
    np.testing.assert_array_equal(a.indices().numpy(), t.indices().numpy())
    np.testing.assert_array_equal(a.values().detach().numpy(), t.values().detach().numpy())
    np.testing.assert_array_equal(a.to_dense().detach().numpy(), x)
    (a.values() * ad.tensor([1.0, 2.0, 3.0], dtype=ad.float64)).sum().backward()
    (t.values() * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("call", [
    lambda m: m.sparse_coo_tensor(m.tensor([0, 1]), m.ones(2), (2, 2)),
    lambda m: m.sparse_coo_tensor(m.tensor([[0, 1], [1, 0]]), m.ones(3), (2, 2)),
    lambda m: m.sparse_coo_tensor(m.tensor([[0, 1], [1, 0]]), m.ones(2), (2, 2)).indices(),
    lambda m: m.sparse.mm(m.sparse_coo_tensor([[0], [1]], [1.0], (2, 3)), m.ones(4, 2)),
    lambda m: m.sparse.mm(m.sparse_coo_tensor([[0], [1]], [1.0], (2, 3)), m.ones(3, 2, dtype=m.float64)),
])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(ad)
    assert str(ours.value) == str(theirs.value)


def test_out_of_range_indices_are_refused():
    with pytest.raises(RuntimeError, match="size is inconsistent with indices: for dim 0, size is 2 but found index 2"):
        ad.sparse_coo_tensor([[0, 2], [1, 0]], [1.0, 1.0], (2, 2))
    with pytest.raises(RuntimeError, match="negative index"):
        ad.sparse_coo_tensor([[0, -1], [1, 0]], [1.0, 1.0], (2, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dense_first", [False, True])
def test_mm_values_and_gradients_match_torch(dtype, dense_first):
    rng = np.random.default_rng(0)
    d = rng.standard_normal((2, 4) if dense_first else (4, 5)).astype(dtype)
    leaf_ours, leaf_theirs = ours, theirs = _pair(dtype, requires_grad=True)
    if dense_first:
        ours, theirs = ours.t(), theirs.t()
    od, td = ad.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    out = ad.sparse.mm(od, ours) if dense_first else ours @ od
    ref = torch.sparse.mm(td, theirs) if dense_first else torch.sparse.mm(theirs, td)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12}
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **tol)
    seed = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(ad.tensor(seed))
    ref.backward(torch.tensor(seed))
    np.testing.assert_allclose(od.grad.numpy(), td.grad.numpy(), **tol)
    a, t = leaf_ours.grad, leaf_theirs.grad.coalesce()
    np.testing.assert_array_equal(a.indices().numpy(), t.indices().numpy())
    np.testing.assert_allclose(a.values().numpy(), t.values().numpy(), **tol)


def test_mm_gradcheck_and_gradgradcheck():
    values = ad.tensor(VALUES, dtype=ad.float64, requires_grad=True)
    dense = ad.randn(4, 3, dtype=ad.float64, requires_grad=True)

    def f(v, d):
        return ad.sparse.mm(ad.sparse_coo_tensor(INDICES, v, (3, 4)), d).tanh()

    assert ad.autograd.gradcheck(f, (values, dense))
    assert ad.autograd.gradgradcheck(f, (values, dense))
    assert ad.autograd.gradgradcheck(lambda v: ad.sparse_coo_tensor(INDICES, v, (3, 4)).coalesce().to_dense() ** 2,
                                     (values,))


def _normalised_adjacency(n: int, edges: list) -> tuple:
    """D^-1/2 (A + I) D^-1/2 as COO (indices, values), the GCN propagation matrix."""
    pairs = set(edges) | {(j, i) for i, j in edges} | {(i, i) for i in range(n)}
    rows, cols = map(np.array, zip(*sorted(pairs)))
    degree = np.bincount(rows, minlength=n).astype(np.float64)
    return np.stack([rows, cols]), 1 / np.sqrt(degree[rows] * degree[cols])


def test_graph_convolution_layer_matches_torch():
    rng = np.random.default_rng(3)
    indices, values = _normalised_adjacency(6, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 3)])
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    results = []
    for m in (ad, torch):
        adj = m.sparse_coo_tensor(m.tensor(indices), m.tensor(values), (6, 6))
        xt, wt, bt = (m.tensor(a, requires_grad=True) for a in (x, w, b))
        h = m.relu(m.sparse.mm(adj, xt @ wt) + bt)
        loss = (m.sparse.mm(adj, h) ** 2).sum()
        loss.backward()
        results.append([loss.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()])
    for a, t in zip(*results):
        np.testing.assert_allclose(a, t, rtol=1e-12)


# ---- hybrid tensors (dense trailing dims in the values) --------------------------------------

def test_hybrid_coalesce_to_dense_and_gradient_match_torch():
    rng = np.random.default_rng(1)
    v = rng.standard_normal((5, 2))
    ours_v, theirs_v = ad.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    ours = ad.sparse_coo_tensor(ad.tensor(INDICES), ours_v, (3, 4, 2))
    theirs = torch.sparse_coo_tensor(torch.tensor(INDICES), theirs_v, (3, 4, 2))
    assert (ours.sparse_dim(), ours.dense_dim()) == (theirs.sparse_dim(), theirs.dense_dim()) == (2, 1)
    a, t = ours.coalesce(), theirs.coalesce()
    np.testing.assert_array_equal(a.indices().numpy(), t.indices().numpy())
    np.testing.assert_allclose(a.values().detach().numpy(), t.values().detach().numpy())
    seed = rng.standard_normal((3, 4, 2))
    (ours.to_dense() * ad.tensor(seed)).sum().backward()
    (theirs.to_dense() * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(ours_v.grad.numpy(), theirs_v.grad.numpy())
    assert ad.sparse_coo_tensor(INDICES, v).shape == tuple(torch.sparse_coo_tensor(INDICES, v).shape)


@pytest.mark.parametrize("sparse_dim", [1, 2, 3])
def test_to_sparse_with_dense_dims_matches_torch(sparse_dim):
    x = np.array([[[0.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [2.0, 3.0]], [[0.0, 0.0], [0.0, 0.0]]])
    a, t = ad.tensor(x).to_sparse(sparse_dim), torch.tensor(x).to_sparse(sparse_dim)
    assert (a.sparse_dim(), a.dense_dim()) == (t.sparse_dim(), t.dense_dim())
    np.testing.assert_array_equal(a.indices().numpy(), t.indices().numpy())
    np.testing.assert_array_equal(a.values().numpy(), t.values().numpy())
    np.testing.assert_array_equal(a.to_dense().numpy(), x)


@pytest.mark.parametrize("call", [
    lambda m: m.sparse_coo_tensor(m.tensor(INDICES), m.ones(5, 2), (3, 4)),
    lambda m: m.sparse_coo_tensor(m.tensor(INDICES), m.ones(5, 2), (3, 4, 3)),
])
def test_hybrid_errors_match_torch(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(ad)
    assert str(ours.value) == str(theirs.value)


# ---- mm / matmul / @ dispatch to sparse.mm ----------------------------------------------------

@pytest.mark.parametrize("product", [
    lambda m, s, d: m.mm(s, d), lambda m, s, d: m.matmul(s, d), lambda m, s, d: s @ d, lambda m, s, d: s.mm(d),
    lambda m, s, d: m.mm(d.T, s.t()), lambda m, s, d: d.T @ s.t(), lambda m, s, d: d.T.matmul(s.t()),
    lambda m, s, d: m.matmul(s, d[:, 0]), lambda m, s, d: m.matmul(d[:, 0], s.t()),
])
def test_dense_products_with_a_sparse_operand_match_torch(product):
    d = np.random.default_rng(2).standard_normal((4, 3))
    ours, theirs = _pair()
    od, td = ad.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    out, ref = product(ad, ours, od), product(torch, theirs, td)
    assert not getattr(out, "is_sparse") and out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(od.grad.numpy(), td.grad.numpy(), rtol=1e-12)
