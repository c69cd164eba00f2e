"""F.scaled_dot_product_attention against torch: forward and the gradients of query, key
and value (float32 and float64), boolean/additive/causal masks, broadcast batch dims,
fully masked rows, the mask's own gradient, double backward, errors, and what the fused
op saves for backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff.nn import functional as F

R = np.random.default_rng(0)
TOL = {np.float32: {"rtol": 2e-4, "atol": 2e-5}, np.float64: {"rtol": 1e-9, "atol": 1e-10}}


def _pair(x: np.ndarray, grad: bool = True):
    return (ad.from_numpy(x.copy()).requires_grad_(grad), torch.from_numpy(x.copy()).requires_grad_(grad))


def _run(shapes, dtype, mask=None, **kw):
    arrays = [R.standard_normal(s).astype(dtype) for s in shapes]
    ours, theirs = zip(*(_pair(a) for a in arrays))
    amask = tmask = None
    if mask is not None:
        amask, tmask = ad.from_numpy(mask.copy()), torch.from_numpy(mask.copy())
    out = F.scaled_dot_product_attention(*ours, attn_mask=amask, **kw)
    ref = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=tmask, **kw)
    tol = TOL[dtype]
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **tol)
    seed = R.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(ad.from_numpy(seed))
    ref.backward(torch.from_numpy(seed))
    for name, a, t in zip("qkv", ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), **tol, err_msg=name)
    return out


CASES = [
    ("plain", [(2, 3, 70, 16), (2, 3, 300, 16), (2, 3, 300, 8)], {}),
    ("long_query", [(1, 2, 300, 8), (1, 2, 40, 8), (1, 2, 40, 8)], {}),
    ("3d", [(4, 9, 5), (4, 7, 5), (4, 7, 3)], {}),
    ("2d", [(6, 4), (5, 4), (5, 2)], {}),
    ("5d", [(2, 2, 2, 5, 4), (2, 2, 2, 6, 4), (2, 2, 2, 6, 4)], {}),
    ("broadcast_batch", [(2, 3, 5, 4), (1, 3, 6, 4), (2, 1, 6, 4)], {}),
    ("causal", [(2, 2, 130, 8), (2, 2, 130, 8), (2, 2, 130, 8)], {"is_causal": True}),
    ("causal_rect", [(1, 2, 9, 4), (1, 2, 300, 4), (1, 2, 300, 4)], {"is_causal": True}),
    ("scale", [(1, 2, 7, 4), (1, 2, 7, 4), (1, 2, 7, 4)], {"scale": 0.7}),
    # short sequences take 32-row query blocks: two of them, one partial
    ("short_blocks_causal", [(2, 2, 50, 8), (2, 2, 50, 8), (2, 2, 50, 8)], {"is_causal": True}),
    ("short_blocks_long_keys", [(1, 3, 40, 8), (1, 3, 300, 8), (1, 3, 300, 8)], {}),
    # more keys than one key tile (BK): the online softmax rescales across tiles
    ("key_tiles", [(1, 2, 70, 8), (1, 2, 1100, 8), (1, 2, 1100, 8)], {}),
    ("key_tiles_causal", [(1, 1, 600, 4), (1, 1, 600, 4), (1, 1, 600, 4)], {"is_causal": True}),
    # one head of three query blocks: the backward splits the blocks over several jobs
    ("one_head", [(300, 8), (260, 8), (260, 8)], {}),
    ("one_head_causal", [(300, 8), (300, 8), (300, 8)], {"is_causal": True}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,shapes,kw", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, shapes, kw, dtype):
    out = _run(shapes, dtype, **kw)
    assert out.grad_fn.name() == "ScaledDotProductFlashAttentionForCpuBackward0"


def test_the_cases_cross_the_kernels_tiles():
    from kernels.cpu import attention
    assert max(shapes[1][-2] for _, shapes, _ in CASES) > attention.BK  # several key tiles
    assert any(attention.BQ_SHORT < shapes[0][-2] <= 2 * attention.BQ_SHORT for _, shapes, _ in CASES)
    assert max(shapes[0][-2] for _, shapes, _ in CASES) > attention.BQ  # several query tiles


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bool_mask_with_fully_masked_row(dtype):
    L, S = 6, 300
    mask = R.random((2, 1, L, S)) > 0.3
    mask[0, 0, 2] = False  # a row that sees no key: zero output and gradients, as torch
    _run([(2, 3, L, 8), (2, 3, S, 8), (2, 3, S, 8)], dtype, mask=mask)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_additive_mask_broadcast(dtype):
    mask = R.standard_normal((5, 7)).astype(dtype)
    mask[1, :3] = -np.inf
    _run([(2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)], dtype, mask=mask)


def test_causal_excludes_mask():
    q = ad.randn(1, 2, 2)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ad.ones(2, 2, dtype=ad.bool), is_causal=True)


def test_mask_gradient_through_the_composite_path():
    q, k, v, m = (R.standard_normal(s) for s in [(2, 5, 4), (2, 6, 4), (2, 6, 3), (5, 6)])
    ours = [_pair(x) for x in (q, k, v, m)]
    out = F.scaled_dot_product_attention(*(a for a, _ in ours))
    ref = torch.nn.functional.scaled_dot_product_attention(*(t for _, t in ours))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-10)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    for a, t in ours:
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-10)


def _second_order(lib, sdpa, ts, mask):
    out = sdpa(*ts, attn_mask=mask)
    grads = lib.autograd.grad((out * out).sum(), ts, create_graph=True)
    second = lib.autograd.grad(sum((g * g).sum() for g in grads), ts)
    return [g.detach().numpy() for g in grads + second]


def test_double_backward():
    arrays = [R.standard_normal(s) for s in [(2, 2, 5, 4), (2, 2, 6, 4), (2, 2, 6, 3)]]
    mask = R.random((5, 6)) > 0.3
    ours, theirs = zip(*(_pair(a) for a in arrays))
    got = _second_order(ad, F.scaled_dot_product_attention, ours, ad.from_numpy(mask))
    want = _second_order(torch, torch.nn.functional.scaled_dot_product_attention, theirs, torch.from_numpy(mask))
    for a, t in zip(got, want):
        np.testing.assert_allclose(a, t, rtol=1e-8, atol=1e-10)


def test_gradgradcheck():
    q, k, v = (ad.from_numpy(R.standard_normal(s)).requires_grad_() for s in [(1, 3, 2), (1, 4, 2), (1, 4, 2)])
    assert ad.autograd.gradcheck(lambda *t: F.scaled_dot_product_attention(*t, is_causal=True), (q, k, v))
    assert ad.autograd.gradgradcheck(lambda *t: F.scaled_dot_product_attention(*t), (q, k, v))


def test_dropout_statistics_and_zero_p_in_eval():
    q, k, v = (ad.ones(1, 1, 4, 2) for _ in range(3))
    ad.manual_seed(0)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    # every probability is 1/4, kept ones scaled by 2: each output is (kept count) / 2
    np.testing.assert_allclose(out.numpy() * 2 % 1, 0)
    assert F.scaled_dot_product_attention(q, k, v, dropout_p=0.0).numpy().tolist() == q.numpy().tolist()


def test_heads_split_out_of_a_fused_projection_keep_their_layout():
    # q, k, v cut out of one (N, L, 3 * H * D) projection, heads moved forward, as GPT blocks do:
    # the result and the gradients are laid out as their operands, so merging the heads back
    # (transpose + reshape) is a view, as in torch, and the values match torch's
    N, L, H, D = 2, 9, 3, 4
    x = R.standard_normal((N, L, 3 * H * D)).astype(np.float32)
    seed = R.standard_normal((N, L, H * D)).astype(np.float32)
    outs = {}
    for lib, make in (("ad", ad.from_numpy), ("torch", torch.from_numpy)):
        t = make(x.copy()).requires_grad_()
        q, k, v = (part.reshape(N, L, H, D).transpose(1, 2) for part in t.split(H * D, dim=2))
        y = (ad.nn.functional if lib == "ad" else torch.nn.functional).scaled_dot_product_attention(
            q, k, v, is_causal=True)
        merged = y.transpose(1, 2)
        assert merged.is_contiguous()
        merged.reshape(N, L, H * D).backward(make(seed.copy()))
        outs[lib] = (y.detach().numpy(), t.grad.numpy())
    for got, want in zip(outs["ad"], outs["torch"]):
        np.testing.assert_allclose(got, want, **TOL[np.float32])



def test_gradients_of_a_split_projection_are_written_side_by_side_and_join_without_a_copy():
    from autodiff.backends.cpu import CPUBackend
    from kernels.cpu.attention import like_three

    N, L, H, D = 2, 5, 3, 4
    qkv = np.empty((N, L, 3 * H * D), np.float32)
    q, k, v = (qkv[:, :, i * H * D:(i + 1) * H * D].reshape(N, L, H, D).transpose(0, 2, 1, 3) for i in range(3))
    grads = like_three(q, k, v)
    assert all(g.strides == q.strides for g in grads) and np.may_share_memory(grads[0], grads[2])
    for g in grads:
        g[...] = R.standard_normal(g.shape)
    pieces = [g.transpose(0, 2, 1, 3).reshape(N, L, H * D) for g in grads]
    joined = CPUBackend().joined_view(pieces, 2)
    np.testing.assert_array_equal(joined, np.concatenate(pieces, 2))
    assert joined.flags.c_contiguous and np.shares_memory(joined, pieces[0])
    be = CPUBackend()
    assert be.joined_view(pieces[::-1], 2) is None  # out of order
    assert be.joined_view([pieces[0], pieces[2]], 2) is None  # a gap between them
    assert be.joined_view([p.copy() for p in pieces], 2) is None  # three storages
    apart = [np.empty((N, H, L, D), np.float32) for _ in range(3)]  # not slices of one array
    separate = like_three(*apart)
    assert not any(np.may_share_memory(a, b) for a, b in zip(separate, separate[1:]))

def test_rows_without_unit_stride_and_a_broadcast_gradient():
    # q's rows strided (a transposed view), v's heads interleaved, and the gradient of a sum
    # (stride 0 everywhere): the kernels' row loops get unit-stride copies where needed
    base = R.standard_normal((2, 3, 8, 70)).astype(np.float32)
    kv = R.standard_normal((2, 90, 3, 8)).astype(np.float32)
    outs = {}
    for lib, make in (("ad", ad.from_numpy), ("torch", torch.from_numpy)):
        b, x = make(base.copy()).requires_grad_(), make(kv.copy()).requires_grad_()
        q, k = b.transpose(-2, -1), x.transpose(1, 2)
        f = ad.nn.functional if lib == "ad" else torch.nn.functional
        y = f.scaled_dot_product_attention(q, k, k * 0.5, is_causal=True)
        y.sum().backward()
        outs[lib] = (y.detach().numpy(), b.grad.numpy(), x.grad.numpy())
    for got, want in zip(outs["ad"], outs["torch"]):
        np.testing.assert_allclose(got, want, **TOL[np.float32])


def test_a_nan_score_among_masked_ones_gives_nan_as_torch():
    q, k, v = (R.standard_normal(s).astype(np.float32) for s in ((1, 1, 3, 4), (1, 1, 5, 4), (1, 1, 5, 2)))
    k[0, 0, 2, 1] = np.nan
    mask = np.ones((3, 5), bool)
    mask[1] = False
    mask[1, 2] = True  # row 1 sees only the NaN key; row 2 none (its NaN key score stays NaN)
    mask[2] = False
    got = F.scaled_dot_product_attention(*map(ad.from_numpy, (q, k, v)), attn_mask=ad.from_numpy(mask))
    want = torch.nn.functional.scaled_dot_product_attention(*map(torch.from_numpy, (q, k, v)),
                                                            attn_mask=torch.from_numpy(mask))
    np.testing.assert_array_equal(np.isnan(got.numpy()), np.isnan(want.numpy()))
    assert np.isnan(got.numpy()[0, 0, 1]).all()


def test_saves_no_score_matrix():
    """Between forward and backward the fused op holds its operands, output and log-sum-exp only."""
    q, k, v = (ad.randn(1, 2, 512, 8, requires_grad=True) for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v)
    node = out.grad_fn
    held = [t.numel() for t in node.saved_tensors if t is not None] + [node.lse.size]
    assert max(held) == 2 * 512 * 8


def test_errors_match_torch():
    q = ad.randn(1, 1, 3, 4)
    cases = [
        ((q[0, 0, 0], q, q), {}),
        ((q, q.double(), q), {}),
        ((q, q, q), {"attn_mask": ad.ones(3, 3, dtype=ad.int64)}),
        ((q, q, q), {"attn_mask": ad.ones(2, 2, dtype=ad.bool)}),
    ]
    for args, kw in cases:
        targs = [torch.from_numpy(a.numpy().copy()) for a in args]
        tkw = {n: torch.from_numpy(m.numpy().copy()) for n, m in kw.items()}
        with pytest.raises(RuntimeError) as ref:
            torch.nn.functional.scaled_dot_product_attention(*targs, **tkw)
        with pytest.raises(RuntimeError) as ours:
            F.scaled_dot_product_attention(*args, **kw)
        assert str(ours.value) == str(ref.value)


def test_grouped_query_attention():
    _run([(1, 4, 5, 4), (1, 2, 6, 4), (1, 2, 6, 3)], np.float64, enable_gqa=True)


def test_meta_shapes_and_gradients():
    """On ``meta`` the fused op gives the CPU's shapes and dtype, and its gradients those of
    the (broadcast) operands."""
    shapes = [(2, 3, 5, 4), (1, 3, 6, 4), (2, 1, 6, 2)]
    for dtype in (ad.float32, ad.float64):
        cpu = [ad.randn(*s, dtype=dtype) for s in shapes]
        expected = F.scaled_dot_product_attention(*cpu, is_causal=True)
        meta = [t.to("meta").requires_grad_() for t in cpu]
        got = F.scaled_dot_product_attention(*meta, is_causal=True)
        assert got.is_meta and (got.shape, got.dtype) == (expected.shape, expected.dtype)
        got.sum().backward()
        assert [(t.grad.shape, t.grad.dtype, t.grad.is_meta) for t in meta] == [(s, dtype, True) for s in shapes]


def test_meta_multihead_attention():
    mha = ad.nn.MultiheadAttention(8, 2, batch_first=True)
    z = ad.randn(2, 5, 8)
    expected = mha(z, z, z)
    for p in mha.parameters():
        p.data = p.data.to("meta")
    zm = z.to("meta")
    got = mha(zm, zm, zm)
    assert [(t.shape, t.is_meta) for t in got] == [(t.shape, True) for t in expected]
