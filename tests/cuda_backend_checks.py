"""The CUDA backend vs torch (CPU) and vs autodiff's CPU backend, on a CUDA device.

Needs a device: run by ``test_cuda_backend.py`` in a child process under Numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``), or directly on a GPU (``benchmarks/gpu_check.sh``).
Launches are shrunk (2 blocks; 4 x 8 GEMM tiles; under the simulator one thread per block of the
grid-stride kernels and 8 of the tree reductions, else 32) so that small shapes still cross
block and grid boundaries and the simulator stays quick (``kernels.cuda.launch``).
"""

import gc
import io
import math
import sys
import types

import numpy as np
import pytest
import torch
from numba.cuda import config as numba_cuda_config

import autodiff as ad
from autodiff import nn
from autodiff.backends import backend_for
from autodiff.ops import gamma as gamma_ops
from autodiff.ops import rnn as rops
from kernels.cuda import attention as cattn
from kernels.cuda import index as cindex
from kernels.cuda import launch
from kernels.cuda import matmul as cmatmul
from op_table import COMPARISONS, OPS
from test_ops import _operands

F = nn.functional
gpu = backend_for("cuda")
SIMULATED = numba_cuda_config.ENABLE_CUDASIM
TRANSFERS = gpu.transfers


@pytest.fixture(autouse=True)
def small_launches():
    tiles = cmatmul.TILES
    launch.configure(threads=1 if SIMULATED else 32, tree_threads=8 if SIMULATED else 32, max_blocks=2)
    cmatmul.TILES = cmatmul.Tiles(ty=2, tx=4, tm=2, tn=2, bk=4)  # 4 x 8 tiles of 8 threads
    yield
    launch.configure(threads=256, tree_threads=256, max_blocks=4096)
    cmatmul.TILES = tiles


def _pair(shape, seed=0, dtype=np.float32, requires_grad=True, positive=False):
    """The same values as an autodiff cuda tensor and a torch CPU tensor."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5 if positive else -2, 2, shape).astype(dtype)
    return (ad.tensor(a, device="cuda", requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _close(x, t, tol=1e-5):
    assert x.device == ad.device("cuda", 0)
    np.testing.assert_allclose(x.detach().cpu().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


# ---- the op table ------------------------------------------------------------------------
# Every op of the op table on cuda against the CPU backend, forward and gradients, on its
# first sample.
TABLE = OPS + COMPARISONS
# known defects, each a strict xfail (the test fails once they work, so the list stays true)
# the simulator runs math.log as Python's, which raises where the GPU gives NaN
KNOWN_FAILURES = {"isnan": "the simulator's log raises on a negative operand"} if SIMULATED else {}
TABLE_RUN = [pytest.param(op, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[op.name]))
             if op.name in KNOWN_FAILURES else op for op in TABLE]


def _outputs(result) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


@pytest.mark.parametrize("op", TABLE_RUN, ids=str)
def test_op_table_on_cuda_matches_the_cpu_backend(op):
    differentiable = op in OPS and op.differentiable
    cpu, _ = _operands(op, 0, np.float32, requires_grad=differentiable)
    dev = [t.detach().to("cuda").requires_grad_(t.requires_grad) if isinstance(t, ad.Tensor) else t for t in cpu]
    want = _outputs(op.fn(*cpu))
    with ad.device("cuda"):  # tensors the op's lambda makes (indices, masks) on the device too
        got = _outputs(op.fn(*dev))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.device == ad.device("cuda", 0) and (g.shape, g.dtype) == (w.shape, w.dtype)
        np.testing.assert_allclose(g.detach().cpu().numpy(), w.detach().numpy(), rtol=1e-4, atol=1e-5)
    if differentiable:
        seed = np.random.default_rng(7).standard_normal(tuple(want[0].shape)).astype(np.float32)
        want[0].backward(ad.from_numpy(seed))
        got[0].backward(ad.from_numpy(seed).to("cuda"))
        for d, c in zip(dev, cpu):
            if isinstance(d, ad.Tensor):
                assert d.grad is not None and d.grad.device == ad.device("cuda", 0)
                np.testing.assert_allclose(d.grad.cpu().numpy(), c.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_a_function_gets_its_missing_output_gradients_on_the_device():
    class Two(ad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, a, b):  # b: the zeros made for the output no gradient reached
            assert a.device == b.device == ad.device("cuda", 0)
            return a * 2 + b * 3

    x = ad.ones(3, device="cuda", requires_grad=True)
    Two.apply(x)[0].sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [2, 2, 2])


# ---- devices ---------------------------------------------------------------------------

def test_factories_and_moves_on_every_spelling_of_the_device():
    for dev in ("cuda", "cuda:0", ad.device("cuda", 0), ad.device("cuda:0")):
        x = ad.zeros(2, 3, device=dev)
        assert x.is_cuda and x.device == ad.device("cuda:0") and str(x.device) == "cuda:0"
        assert x.cpu().tolist() == [[0.0] * 3] * 2
    y = ad.arange(5.0).cuda()
    assert y.is_cuda and y.to("cpu").tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert ad.ones(3, device="cuda").to(ad.float64).dtype is ad.float64
    z = ad.full((2,), 7, device="cuda")
    assert z.dtype is ad.int64 and z.cpu().tolist() == [7, 7]
    m = nn.Linear(3, 2).to("cuda")
    assert all(p.is_cuda for p in m.parameters()) and not any(p.is_cuda for p in m.cpu().parameters())


def test_mixing_devices_and_bad_devices_are_errors():
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device.*cuda:0.*cpu"):
        ad.ones(2, device="cuda") + ad.ones(2)
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        ad.zeros(2, device="cuda:1")
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        ad.ones(2, device="cuda").numpy()
    assert ad.cuda.is_available() and ad.cuda.device_count() == 1 and ad.cuda.current_device() == 0
    ad.cuda.synchronize()


def test_printing_and_in_place_writes_through_views():
    x = ad.arange(6.0, device="cuda").reshape(2, 3)
    t = torch.arange(6.0).reshape(2, 3)
    assert repr(x) == repr(t).replace(")", ", device='cuda:0')")
    for target in (x, t):
        target[0, 1] = 7.0
        target[1] = target[0].flip(0) * 2
        target[:, 2:].mul_(-1)
    _close(x, t)
    assert x.tolist() == t.tolist()


@pytest.mark.skipif(SIMULATED, reason="Numba's CUDA simulator has no __cuda_array_interface__ (gpu_check.sh "
                    "runs this on a GPU)")
def test_as_tensor_shares_the_memory_of_cuda_array_interface_objects():
    from numba import cuda

    host = np.arange(12, dtype=np.float32).reshape(3, 4)
    d = cuda.to_device(host)
    t = ad.as_tensor(d)
    assert t.is_cuda and t.shape == (3, 4)
    t.mul_(2)
    np.testing.assert_array_equal(d.copy_to_host(), host * 2)
    back = cuda.as_cuda_array(t.t()._data)  # and the other way, strided
    np.testing.assert_array_equal(back.copy_to_host(), (host * 2).T)


@pytest.mark.parametrize("max_version", [None, (1, 0)], ids=["legacy", "versioned"])
def test_dlpack_round_trip_on_the_device_shares_memory(max_version):
    import gc

    from autodiff import dlpack_capsule

    x = ad.arange(12.0, device="cuda").reshape(3, 4)
    assert x.__dlpack_device__() == (2, 0)
    for src in (x, x.t(), x[:, 1::2]):
        y = ad.from_dlpack(src.__dlpack__(max_version=max_version))
        assert y.is_cuda and y.shape == src.shape and y.stride() == src.stride()
        assert y.tolist() == src.tolist()
    y = ad.from_dlpack(x.t().__dlpack__(stream=None, max_version=max_version))
    y[0, 1] = -1.0  # a write through the import is seen by the export: one memory
    assert x[1, 0].item() == -1.0
    copied = ad.from_dlpack(x.__dlpack__(copy=True))
    copied.zero_()
    assert x[1, 0].item() == -1.0
    del y, copied
    gc.collect()
    assert not dlpack_capsule._exported  # the consumers gave every capsule back


def test_dlpack_export_errors_on_the_device():
    x = ad.ones(2, device="cuda")
    with pytest.raises(BufferError, match="cannot be exported to DLPack device"):
        x.__dlpack__(dl_device=(1, 0))
    with pytest.raises(BufferError, match="Can't export tensors that require gradient"):
        x.requires_grad_().__dlpack__()


class _Producer:
    """A foreign producer of device memory (as CuPy or torch would be): records what it is asked."""

    def __init__(self, t):
        self.t, self.asked = t, []

    def __dlpack__(self, stream=None, max_version=None):
        self.asked.append((stream, max_version))
        return self.t.__dlpack__(stream=stream, max_version=max_version)

    def __dlpack_device__(self):
        return self.t.__dlpack_device__()


def test_from_dlpack_asks_a_producer_for_the_default_stream():
    p = _Producer(ad.arange(4.0, device="cuda"))
    z = ad.from_dlpack(p)
    assert z.is_cuda and z.tolist() == [0.0, 1.0, 2.0, 3.0] and p.asked == [(1, (1, 0))]
    w = ad.as_tensor(p)  # as_tensor shares DLPack-only device memory too
    w.add_(1)
    assert z.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_gradient_flows_back_across_devices():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    (x.cuda() * 3).sum().backward()
    assert x.grad.device == ad.device("cpu") and x.grad.tolist() == [3.0, 3.0]


def test_cuda_array_interface_describes_the_view():
    x = ad.arange(12.0, device="cuda").reshape(3, 4)
    t = x.t()
    ci = t._data.__cuda_array_interface__
    assert ci["shape"] == (4, 3) and ci["typestr"] == "<f4" and ci["strides"] == (4, 16)
    assert x[1]._data.__cuda_array_interface__["data"][0] == ci["data"][0] + 16


# ---- ops, forward and backward -------------------------------------------------------------

def test_elementwise_with_broadcast_and_strided_operands():
    (x, tx), (y, ty) = _pair((3, 37), 0), _pair((37,), 1)  # more than the 2 blocks' threads
    (u, tu) = _pair((37, 3), 2)
    for f in (lambda a, b, c: (a * b + c.t()).tanh() / (b * b + 1),
              lambda a, b, c: (a - b).relu() * c.t().sigmoid() + a.exp() - b.abs().sqrt(),
              lambda a, b, c: ad.where(a > b, a, c.t()).flip(1) if isinstance(a, ad.Tensor)
              else torch.where(a > b, a, c.t()).flip(1)):
        got = f(x, y, u)
        want = f(tx, ty, tu)
        _close(got, want)
        got.sum().backward()
        want.sum().backward()
        for a, b in ((x, tx), (y, ty), (u, tu)):
            assert (a.grad is None) == (b.grad is None)
            if a.grad is not None:
                _close(a.grad, b.grad, 1e-4)
            a.grad, b.grad = None, None


def test_reductions_along_dims_and_across_blocks():
    x, tx = _pair((2, 5, 3), 3)
    _close(x.sum(1), tx.sum(1))
    _close(x.mean((0, 2)), tx.mean((0, 2)))
    _close(x.amax(-1), tx.amax(-1))
    v, i = x.max(1)
    tv, ti = tx.max(1)
    _close(v, tv)
    assert i.cpu().tolist() == ti.tolist()
    big, tbig = _pair((600,), 4)  # pieces of 8 * threads and a rest: the two-pass cross-block sum
    _close(big.sum(), tbig.sum(), 1e-4)
    _close(big.amax(), tbig.amax())
    rows, trows = _pair((520, 2), 5)  # a reduction over the leading dim splits too
    _close(rows.sum(0), trows.sum(0), 1e-4)
    (x.sum(1).square().sum() + x.amax(-1).sum() + x.prod(1).sum()).backward()
    (tx.sum(1).square().sum() + tx.amax(-1).sum() + tx.prod(1).sum()).backward()
    _close(x.grad, tx.grad, 1e-4)
    _close(x.prod(-1), tx.prod(-1))
    assert (x > 0).all(1).cpu().tolist() == (tx > 0).all(1).tolist()
    assert (x > 0).any().item() == (tx > 0).any().item() and not (x > 99).any().item()
    assert (big > -9).all().item() and big.abs().prod().cpu().dtype is ad.float32  # two-pass all
    ints = ad.tensor([[3, -7, 9], [-2, 5, 1]], device="cuda")  # integer identities of max and min
    assert ints.amax(1).cpu().tolist() == [9, 5] and ints.amin(0).cpu().tolist() == [-2, -7, 1]
    assert ints.argmax(1).cpu().tolist() == [2, 1] and ints.argmin().item() == 1


def test_norms_attention_and_multi_output_views_on_the_device():
    x, tx = _pair((3, 4, 6), 7)
    ln, tln = nn.LayerNorm(6), torch.nn.LayerNorm(6)
    bn, tbn = nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    mha, tmha = nn.MultiheadAttention(6, 2), torch.nn.MultiheadAttention(6, 2)
    for m, tm in ((ln, tln), (bn, tbn), (mha, tmha)):
        m.load_state_dict({k: ad.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
        m.to("cuda")
    a, b = x.chunk(2, -1)  # a multi-output view: one layout per piece over the same block
    ta, tb = tx.chunk(2, -1)
    got = [ln(x), bn(x), mha(x, x, x)[0], (a * b.tril()).sum(0)] + list(x.unbind(1))
    want = [tln(tx), tbn(tx), tmha(tx, tx, tx)[0], (ta * tb.tril()).sum(0)] + list(tx.unbind(1))
    for g, w in zip(got, want):
        _close(g, w, 1e-4)
    sum(g.square().sum() for g in got).backward()
    sum(w.square().sum() for w in want).backward()
    _close(x.grad, tx.grad, 1e-3)
    _close(mha.in_proj_weight.grad, tmha.in_proj_weight.grad, 1e-3)


# ---- scaled-dot-product attention: the fused attention kernels ------------------------------

@pytest.fixture
def small_attention_tiles():
    """6 x 4 score tiles of 8 threads, head dims walked 4 at a time (float64: 3 x 4 tiles of 2
    threads), so the shapes below cross tile, head-dim and block boundaries. Under the
    simulator, a short GIL switch interval: its block manager polls the threads holding the
    GIL, so every syncthreads waits for a switch (5 ms by default)."""
    tiles, interval = dict(cattn.TILES), sys.getswitchinterval()
    cattn.TILES.update(float32=cattn.Tiles(2, 4, 3, 1, 4), float64=cattn.Tiles(1, 2, 3, 2, 4))
    if SIMULATED:
        sys.setswitchinterval(1e-4)
    yield
    cattn.TILES.update(tiles)
    sys.setswitchinterval(interval)


def _sdpa_pair(shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return ([ad.tensor(a, device="cuda", requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


_FULLY_MASKED = np.ones((7, 9), bool)
_FULLY_MASKED[2, 3::2] = _FULLY_MASKED[4, :5] = False
_FULLY_MASKED[5] = False  # a row with no key: zero output and gradients
_FLOAT_MASK = np.random.default_rng(3).standard_normal((2, 1, 9)).astype(np.float32)
_FLOAT_MASK[1, 0, ::3] = -np.inf


@pytest.mark.parametrize("shapes,dtype,kwargs", [
    (((2, 7, 5), (2, 9, 5), (2, 9, 6)), np.float32, {}),
    (((2, 7, 5), (2, 5, 5), (2, 5, 3)), np.float32, {"is_causal": True}),  # L > S
    (((1, 3, 5), (1, 9, 5), (1, 9, 3)), np.float32, {"is_causal": True}),  # L < S: keys no query sees
    (((2, 7, 5), (2, 9, 5), (2, 9, 6)), np.float32, {"attn_mask": _FULLY_MASKED}),
    (((2, 7, 5), (2, 9, 5), (2, 9, 6)), np.float32, {"attn_mask": _FLOAT_MASK, "scale": 0.7}),
    (((2, 2, 7, 5), (1, 2, 9, 5), (9, 6)), np.float64, {}),  # broadcast batch dims
    (((7, 5), (9, 5), (9, 6)), np.float64, {"is_causal": True}),
], ids=["plain", "causal-long-queries", "causal-long-keys", "bool-mask", "float-mask", "broadcast-f64",
        "causal-f64"])
def test_sdpa_and_its_gradients_match_torch(small_attention_tiles, shapes, dtype, kwargs):
    got, want = _sdpa_pair(shapes, dtype, 4)
    mask = kwargs.get("attn_mask")
    out = F.scaled_dot_product_attention(
        *got, **dict(kwargs, attn_mask=None if mask is None else ad.tensor(mask, device="cuda")))
    ref = torch.nn.functional.scaled_dot_product_attention(
        *want, **dict(kwargs, attn_mask=None if mask is None else torch.tensor(mask)))
    assert out.grad_fn.name() == "ScaledDotProductFlashAttentionForCpuBackward0"  # the fused op ran
    seed = np.random.default_rng(5).standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(ad.tensor(seed, device="cuda"))
    ref.backward(torch.tensor(seed))
    tol = 1e-10 if dtype == np.float64 else 1e-5
    _close(out, ref, tol)
    for g, w in zip(got, want):
        _close(g.grad, w.grad, tol)


def test_sdpa_takes_strided_operands_and_gradients_without_copies(small_attention_tiles):
    # heads split out of (N, L, H, D) rows, as in MultiheadAttention, and the broadcast gradient of sum()
    got, want = _sdpa_pair(((2, 7, 2, 5), (2, 9, 2, 5), (2, 9, 2, 6)), np.float32, 6)
    out = F.scaled_dot_product_attention(*(t.transpose(1, 2) for t in got), is_causal=True)
    ref = torch.nn.functional.scaled_dot_product_attention(*(t.transpose(1, 2) for t in want), is_causal=True)
    out.sum().backward()
    ref.sum().backward()
    _close(out, ref)
    for g, w in zip(got, want):
        _close(g.grad, w.grad)


def test_multihead_attention_and_a_transformer_layer_use_the_fused_kernels(small_attention_tiles, monkeypatch):
    calls = []
    for name in ("forward", "backward"):
        run = getattr(cattn, name)
        monkeypatch.setattr(cattn, name, lambda *args, run=run, name=name: calls.append(name) or run(*args))
    torch.manual_seed(0)
    tlayer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=8, dropout=0.0, batch_first=True)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=8, dropout=0.0, batch_first=True)
    layer.load_state_dict({k: ad.tensor(v.detach().numpy()) for k, v in tlayer.state_dict().items()})
    layer.to("cuda")
    (x,), (tx,) = _sdpa_pair(((2, 5, 8),), np.float32, 7)
    pad = np.zeros((2, 5), bool)
    pad[1, 3:] = True  # key padding (boolean, made additive on the device): the second sequence has 3 tokens
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    got = layer(x, src_mask=ad.tensor(mask.numpy(), device="cuda"),
                src_key_padding_mask=ad.tensor(pad, device="cuda"))
    want = tlayer(tx, src_mask=mask, src_key_padding_mask=torch.tensor(pad))
    mha, tmha = layer.self_attn, tlayer.self_attn
    a, _ = mha(x, x, x, need_weights=False)
    ta, _ = tmha(tx, tx, tx, need_weights=False)
    (got.square().sum() + a.sum()).backward()
    (want.square().sum() + ta.sum()).backward()
    _close(got, want, 1e-4)
    _close(a, ta, 1e-4)
    _close(x.grad, tx.grad, 1e-4)
    _close(mha.in_proj_weight.grad, tmha.in_proj_weight.grad, 1e-4)
    assert sorted(calls) == ["backward"] * 2 + ["forward"] * 2


def test_scans_and_their_gradients():
    x, tx = _pair((2, 6, 3), 6)
    with ad.no_grad():
        x[0, 2, 1] = 0.0  # a zero: cumprod's gradient takes its other branch
    with torch.no_grad():
        tx[0, 2, 1] = 0.0
    (x.cumsum(1).square().sum() + x.cumprod(1).sum() + x.cumsum(-1).sum()).backward()
    (tx.cumsum(1).square().sum() + tx.cumprod(1).sum() + tx.cumsum(-1).sum()).backward()
    _close(x.cumsum(1), tx.cumsum(1))
    _close(x.cumprod(0), tx.cumprod(0))
    _close(x.grad, tx.grad, 1e-4)
    assert ad.tensor([1, 2, 3], device="cuda").cumsum(0).cpu().tolist() == [1, 3, 6]


# ---- recurrent layers: the fused rnn kernels ------------------------------------------------

def _recurrent(name, dtype=np.float32, **kwargs):
    """torch's (CPU) ``nn.<name>`` and autodiff's on cuda with the same weights (via state_dict)."""
    torch.manual_seed(0)
    f64 = dtype == np.float64
    want = getattr(torch.nn, name)(**kwargs, dtype=torch.float64 if f64 else torch.float32)
    got = getattr(nn, name)(**kwargs, dtype=ad.float64 if f64 else ad.float32)
    got.load_state_dict({k: ad.tensor(v.detach().numpy()) for k, v in want.state_dict().items()})
    return got.to("cuda"), want


def _check_recurrent(got, want, x, states=(), lengths=None, tol=1e-4):
    """Outputs, final states and the gradients of the input, the initial states and every weight of
    ``got`` (cuda) against ``want`` (torch), the input packed by ``lengths`` when given."""
    rng = np.random.default_rng(5)
    arrays = [x, *states]
    dev = [ad.tensor(a, device="cuda", requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    results = []
    for module, lib, ts in ((got, ad, dev), (want, torch, ref)):
        inp = ts[0] if lengths is None else lib.nn.utils.rnn.pack_padded_sequence(
            ts[0], lengths, batch_first=module.batch_first, enforce_sorted=False)
        out, h = module(inp, None if len(ts) == 1 else (ts[1] if len(ts) == 2 else tuple(ts[1:])))
        results.append([out if lengths is None else out.data] + list(h if isinstance(h, tuple) else (h,)))
    seeds = [rng.standard_normal(tuple(w.shape)).astype(x.dtype) for w in results[1]]
    sum((g * ad.tensor(s, device="cuda")).sum() for g, s in zip(results[0], seeds)).backward()
    sum((w * torch.tensor(s)).sum() for w, s in zip(results[1], seeds)).backward()
    for g, w in zip(*results):
        _close(g, w, tol)
    for d, r in zip(dev, ref):
        _close(d.grad, r.grad, tol)
    want_grads = dict(want.named_parameters())
    for name, p in got.named_parameters():
        _close(p.grad, want_grads[name].grad, tol)


def test_lstm_two_layers_bidirectional_batch_first_matches_torch():
    # no biases, to keep the simulator quick: the other layers' tests have them
    got, want = _recurrent("LSTM", input_size=2, hidden_size=3, num_layers=2, bidirectional=True, batch_first=True,
                           bias=False)
    rng = np.random.default_rng(1)
    x, h0, c0 = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 2), (4, 2, 3), (4, 2, 3)))
    _check_recurrent(got, want, x, (h0, c0))


def test_lstm_with_projection_matches_torch_in_float64():
    got, want = _recurrent("LSTM", np.float64, input_size=3, hidden_size=4, proj_size=2)
    rng = np.random.default_rng(2)
    x, h0, c0 = (rng.standard_normal(s) for s in ((3, 2, 3), (1, 2, 2), (1, 2, 4)))
    _check_recurrent(got, want, x, (h0, c0), tol=1e-10)


@pytest.mark.parametrize("name,kwargs", [("GRU", {}), ("RNN", {"nonlinearity": "relu"})])
def test_gru_and_relu_rnn_match_torch(name, kwargs):
    got, want = _recurrent(name, input_size=3, hidden_size=4, **kwargs)
    rng = np.random.default_rng(3)
    x, h0 = rng.standard_normal((3, 2, 3)).astype(np.float32), rng.standard_normal((1, 2, 4)).astype(np.float32)
    _check_recurrent(got, want, x, (h0,))


@pytest.mark.parametrize("mode", ["GRU", "LSTM"])  # the LSTM with a projection
def test_packed_lengths_in_the_fused_layer_match_the_cpu_backend(mode):
    # rows stop at their own lengths and the reverse direction starts at each row's end: the
    # layer op (what a packed batch runs) on cuda against the CPU kernels, forward and gradients
    lstm = mode == "LSTM"
    T, N, H, P, G = 4, 3, 3, 2 if lstm else 3, 4 if lstm else 3
    rng = np.random.default_rng(4)
    shapes = [(T, N, G * H), (G * H, P), (G * H,), (N, P)] + ([(N, H), (P, H)] if lstm else [])
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    lengths = np.array([2, 4, 3])
    for reverse in (False, True):
        results = {}
        for dev in ("cpu", "cuda"):
            ts = [ad.tensor(a, device=dev, requires_grad=True) for a in arrays]
            c0, w_hr = ts[4:] if lstm else (None, None)
            outs = rops.recurrent_layer(rops.MODES[mode], *ts[:4], c0, lengths, reverse, w_hr)
            seeds = [np.random.default_rng(k).standard_normal(o.shape).astype(np.float32) for k, o in enumerate(outs)]
            sum((o * ad.tensor(g, device=dev)).sum() for o, g in zip(outs, seeds)).backward()
            results[dev] = [o.detach().cpu().numpy() for o in outs] + [t.grad.cpu().numpy() for t in ts]
        assert (results["cuda"][0][2:, 0] == 0).all()  # row 0 (length 2): zeros at the padded times
        for got, want in zip(results["cuda"], results["cpu"]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_packed_gru_sequences_of_different_lengths_match_torch():
    got, want = _recurrent("GRU", input_size=3, hidden_size=3, bidirectional=True)
    x = np.random.default_rng(4).standard_normal((4, 3, 3)).astype(np.float32)
    _check_recurrent(got, want, x, lengths=[2, 4, 3])


class _LastStep(nn.Module):
    """An LSTM's output at the last step, classified."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm, self.head = nn.LSTM(2, 3, batch_first=True), nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.lstm(x)[0][:, -1])


class _TinyGPT(nn.Module):
    """A GPT of one pre-norm block (fused causal attention, GELU MLP) with tied embeddings."""

    def __init__(self, vocab=11, d=8, heads=2, tokens=5) -> None:
        super().__init__()
        self.heads = heads
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(tokens, d)
        self.ln1, self.ln2, self.lnf = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, idx):
        B, L = idx.shape
        d = self.tok.embedding_dim
        x = self.tok(idx) + self.pos(ad.arange(L, device=idx.device))
        q, k, v = (t.view(B, L, self.heads, d // self.heads).transpose(1, 2)
                   for t in self.qkv(self.ln1(x)).split(d, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, L, d))
        x = x + self.out(F.gelu(self.fc(self.ln2(x))))
        return (self.lnf(x) @ self.tok.weight.T).reshape(B * L, -1)  # logits per token


def test_gpt_training_step_matches_the_cpu_backend_and_moves_no_data(small_attention_tiles):
    def make():
        ad.manual_seed(0)
        return _TinyGPT()

    rng = np.random.default_rng(8)
    batch = rng.integers(0, 11, (2, 5)), rng.integers(0, 11, 10)
    # SGD, not Adam: the key bias has a zero gradient in exact arithmetic (softmax ignores a
    # per-row shift), so Adam would scale each device's rounding noise up to a full step
    losses, params = _two_steps(make, lambda p: ad.optim.SGD(p, lr=0.1, momentum=0.9), batch)
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-5, atol=1e-6)
    for a, b in zip(params["cuda"], params["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_lstm_training_step_matches_the_cpu_backend_and_moves_no_data():
    def make():
        ad.manual_seed(0)
        return _LastStep()

    rng = np.random.default_rng(6)
    batch = rng.standard_normal((2, 3, 2)).astype(np.float32), rng.integers(0, 2, 2)
    losses, params = _two_steps(make, lambda p: ad.optim.SGD(p, lr=0.1, momentum=0.9), batch)
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-5, atol=1e-6)
    for a, b in zip(params["cuda"], params["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_matmul_bmm_and_linear():
    (a, ta), (b, tb) = _pair((2, 5, 6), 6), _pair((6, 9), 7)  # 2 x 2 tiles per product
    (w, tw), (bias, tbias) = _pair((3, 6), 8), _pair((3,), 9)
    for got, want in ((a @ b, ta @ tb), (F.linear(a, w, bias), torch.nn.functional.linear(ta, tw, tbias)),
                      (ad.bmm(a, b.expand(2, 6, 9)), torch.bmm(ta, tb.expand(2, 6, 9)))):
        _close(got, want, 1e-4)
        got.square().sum().backward()
        want.square().sum().backward()
    for p, tp in ((a, ta), (b, tb), (w, tw), (bias, tbias)):
        _close(p.grad, tp.grad, 1e-3)


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.1, "ignore_index": 2}, {"weight": True}])
def test_softmax_family_and_cross_entropy(kwargs):
    x, tx = _pair((7, 5), 10)
    target = np.array([0, 2, 4, 1, 2, 3, 0])
    kw, tkw = dict(kwargs), dict(kwargs)
    if kwargs.get("weight"):
        wt = np.linspace(0.5, 2, 5).astype(np.float32)
        kw["weight"], tkw["weight"] = ad.tensor(wt, device="cuda"), torch.tensor(wt)
    got = F.cross_entropy(x, ad.tensor(target, device="cuda"), **kw) + x.softmax(1).square().sum() \
        + x.log_softmax(0).sum()
    want = torch.nn.functional.cross_entropy(tx, torch.tensor(target), **tkw) + tx.softmax(1).square().sum() \
        + tx.log_softmax(0).sum()
    _close(got, want, 1e-5)
    got.backward()
    want.backward()
    _close(x.grad, tx.grad, 1e-5)


def test_indexing_gather_scatter_embedding_cat_stack():
    w, tw = _pair((9, 4), 11)
    ids = np.array([[1, 8, 1], [0, 3, 3]])
    e = F.embedding(ad.tensor(ids, device="cuda"), w)
    te = torch.nn.functional.embedding(torch.tensor(ids), tw)
    x, tx = _pair((3, 6), 12)
    idx = np.array([[0, 5, 5], [1, 1, 2], [4, 0, 3]])
    g = x.gather(1, ad.tensor(idx, device="cuda"))
    tg = tx.gather(1, torch.tensor(idx))
    s = ad.zeros(3, 6, device="cuda").scatter_add(1, ad.tensor(idx, device="cuda"), g)
    ts = torch.zeros(3, 6).scatter_add(1, torch.tensor(idx), tg)
    c = ad.cat([x[:, 1:4], x[::2, :3].reshape(2, 3)], 0)
    tc = torch.cat([tx[:, 1:4], tx[::2, :3].reshape(2, 3)], 0)
    st = ad.stack([x, x * 2], 1)
    tst = torch.stack([tx, tx * 2], 1)
    for got, want in ((e, te), (g, tg), (s, ts), (c, tc), (st, tst)):
        _close(got, want)
    (e.sum() + s.square().sum() + c.sum() * st.mean()).backward()
    (te.sum() + ts.square().sum() + tc.sum() * tst.mean()).backward()
    _close(w.grad, tw.grad, 1e-4)
    _close(x.grad, tx.grad, 1e-4)


def test_masked_select_nonzero_and_their_gradients_across_compaction_runs():
    # 9009 positions: more than kernels.cuda.index.COMPACT_CHUNKS runs, so each run holds several
    (x, tx) = _pair((7, 1287), 31)
    m, tm = x.detach() > 0.3, tx.detach() > 0.3
    got, want = x.masked_select(m), tx.masked_select(tm)
    _close(got, want)
    assert m.nonzero().cpu().tolist() == tm.nonzero().tolist()
    _close(x[m], tx[tm])
    _weighted_backward(got, want, 32)  # the gradient scatters back through the mask
    _close(x.grad, tx.grad)
    assert int(m.sum()) == int(tm.sum())


def test_indices_are_checked_before_a_kernel_runs():
    w = ad.ones(5, 2, device="cuda")
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(ad.tensor([1, 7], device="cuda"), w)
    computed = ad.tensor([[0.0, 3.0]], device="cuda").argmax(1) + 6  # values only the device knows
    with pytest.raises(IndexError, match="out of bounds"):
        w.index_select(0, computed)
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        F.cross_entropy(ad.zeros(2, 5, device="cuda"), ad.tensor([1, 5], device="cuda"))
    with pytest.raises(IndexError, match="Target -3 is out of bounds"):
        F.cross_entropy(ad.zeros(2, 5, device="cuda"), ad.tensor([1, 1], device="cuda") - 4)


# ---- convolution and pooling (odd sizes: every launch crosses blocks and strides its grid) -------

def _weighted_backward(got, want, seed):
    """Backpropagate the same random weighting of both outputs (every element's gradient differs)."""
    g = np.random.default_rng(seed).standard_normal(want.shape).astype(np.float32)
    got.backward(ad.tensor(g, device="cuda"))
    want.backward(torch.tensor(g))


@pytest.mark.parametrize("wshape,kwargs", [
    ((4, 3, 3, 3), {}),
    ((4, 3, 3, 3), {"stride": 2, "padding": 1}),
    ((3, 3, 3, 2), {"padding": (2, 1), "dilation": (2, 1)}),
    ((4, 2, 3, 3), {"groups": 2, "stride": (1, 2), "padding": 1}),
    ((2, 3, 1, 2), {}),  # fewer weights than grid threads: the weight gradient sums chunk partials
], ids=["bias", "stride2-pad1", "dilation-pad", "groups2", "small-weight"])
def test_conv2d_and_its_gradients_match_torch(wshape, kwargs):
    groups = kwargs.get("groups", 1)
    (x, tx), (w, tw), (b, tb) = _pair((2, wshape[1] * groups, 7, 6), 20), _pair(wshape, 21), _pair(wshape[:1], 22)
    got, want = F.conv2d(x, w, b, **kwargs), torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    _close(got, want, 1e-4)
    _weighted_backward(got, want, 23)
    for p, tp in ((x, tx), (w, tw), (b, tb)):
        _close(p.grad, tp.grad, 1e-4)


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "stride": 1, "padding": (1, 0), "dilation": (2, 1), "ceil_mode": True},
], ids=["k2", "k3-stride2-pad1", "dilation-ceil"])
def test_max_pool2d_indices_and_gradients_match_torch(kwargs):
    x, tx = _pair((2, 3, 7, 7), 24)
    (y, i), (ty, ti) = F.max_pool2d(x, return_indices=True, **kwargs), \
        torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    _close(y, ty)
    assert i.cpu().tolist() == ti.tolist()
    # the gradient scatters by the indices; its own gradient gathers by them
    (g,), (tg,) = ad.autograd.grad(y.square().sum(), x, create_graph=True), \
        torch.autograd.grad(ty.square().sum(), tx, create_graph=True)
    _close(g, tg)
    _weighted_backward(g, tg, 25)
    _close(x.grad, tx.grad, 1e-4)


@pytest.mark.parametrize("pool", [
    lambda f, x: f.avg_pool2d(x, 2),
    lambda f, x: f.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda f, x: f.avg_pool2d(x, (3, 2), (2, 1), (1, 0), divisor_override=4),
    lambda f, x: f.adaptive_avg_pool2d(x, (3, 2)),  # overlapping bins
], ids=["k2", "ceil-exclude-pad", "divisor-override", "adaptive"])
def test_avg_pooling_and_its_gradient_match_torch(pool):
    x, tx = _pair((2, 3, 7, 7), 26)
    got, want = pool(F, x), pool(torch.nn.functional, tx)
    _close(got, want)
    _weighted_backward(got, want, 27)
    _close(x.grad, tx.grad)


def test_channels_last_convolution_and_pooling_keep_the_format():
    (x, tx), (w, tw) = _pair((2, 4, 7, 6), 28, requires_grad=False), _pair((4, 2, 3, 3), 29)
    x = x.contiguous(memory_format=ad.channels_last).requires_grad_()
    tx = tx.contiguous(memory_format=torch.channels_last).requires_grad_()
    y, ty = F.conv2d(x, w, groups=2, padding=1), torch.nn.functional.conv2d(tx, tw, groups=2, padding=1)
    got = F.max_pool2d(y, 2) + F.avg_pool2d(y, 2)
    want = torch.nn.functional.max_pool2d(ty, 2) + torch.nn.functional.avg_pool2d(ty, 2)
    assert y.stride() == ty.stride() and got.stride() == want.stride()
    _close(got, want, 1e-4)
    _weighted_backward(got, want, 30)
    _close(x.grad, tx.grad, 1e-4)
    _close(w.grad, tw.grad, 1e-4)
    # a channels_last weight alone: the NCHW kernel writes the channels_last output in place
    y = F.conv2d(x.detach().contiguous(), w.detach().contiguous(memory_format=ad.channels_last), groups=2)
    ty = torch.nn.functional.conv2d(tx.detach().contiguous(), tw.detach().contiguous(memory_format=torch.channels_last),
                                    groups=2)
    assert y.stride() == ty.stride()
    _close(y, ty, 1e-4)


# ---- training: optimizers, clipping, transfers, state dicts --------------------------------

def _mlp(seed=0):
    ad.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 5))


def _batch():
    rng = np.random.default_rng(0)
    return rng.standard_normal((11, 6)).astype(np.float32), rng.integers(0, 5, 11)


def _cnn(seed=0):
    ad.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16, 5))


def _images():
    rng = np.random.default_rng(1)
    return rng.standard_normal((3, 3, 8, 8)).astype(np.float32), rng.integers(0, 5, 3)


def _two_steps(make_model, make_optim, batch) -> tuple:
    """Losses and parameters after two training steps on each device; on cuda the second step
    (the first made the optimizer's state) moves no data but the loss read by ``.item()``."""
    x, y = batch
    losses, params = {}, {}
    for dev in ("cpu", "cuda"):
        model = make_model().to(dev)
        optim = make_optim(model.parameters())
        xb, yb = ad.tensor(x, device=dev), ad.tensor(y, device=dev)
        losses[dev] = []
        for step in range(2):
            before = dict(TRANSFERS)
            loss = F.cross_entropy(model(xb), yb)
            optim.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            losses[dev].append(loss.item())
            if dev == "cuda" and step:
                assert TRANSFERS["host_to_device"] == before["host_to_device"]
                assert TRANSFERS["device_to_host"] == before["device_to_host"] + 1  # loss.item()
        params[dev] = [p.detach().cpu().numpy() for p in model.parameters()]
    return losses, params


@pytest.mark.parametrize("opt", ["sgd", "adamw"])  # AdamW is the Adam kernel with decoupled decay
def test_training_step_matches_the_cpu_backend_and_moves_no_data(opt):
    make = {"sgd": lambda p: ad.optim.SGD(p, lr=0.1, momentum=0.9),
            "adam": lambda p: ad.optim.Adam(p, lr=0.01),
            "adamw": lambda p: ad.optim.AdamW(p, lr=0.01, weight_decay=0.1)}[opt]
    losses, params = _two_steps(_mlp, make, _batch())
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-5, atol=1e-6)
    for a, b in zip(params["cuda"], params["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_cnn_training_step_matches_the_cpu_backend_and_moves_no_data():
    losses, params = _two_steps(_cnn, lambda p: ad.optim.Adam(p, lr=0.01), _images())
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-5, atol=1e-6)
    for a, b in zip(params["cuda"], params["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


_OPTIMIZERS = {
    "sgd": lambda g: ad.optim.SGD(g, lr=0.1),
    "sgd nesterov": lambda g: ad.optim.SGD(g, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam amsgrad": lambda g: ad.optim.Adam(g, lr=0.01, amsgrad=True),
    "adamw": lambda g: ad.optim.AdamW(g, lr=0.01),
    "rmsprop centered": lambda g: ad.optim.RMSprop(g, lr=0.01, momentum=0.5, centered=True),
    "adagrad": lambda g: ad.optim.Adagrad(g, lr=0.1),
}


@pytest.mark.parametrize("name", list(_OPTIMIZERS))
def test_an_optimizer_step_updates_a_chunk_of_parameters_per_launch(name, monkeypatch):
    from kernels.cuda import optim as coptim

    launches, kernel = [], coptim.update_k

    class Counting:  # stands for the kernel: counts its launches
        def __getitem__(self, config):
            launches.append(config)
            return kernel[config]

    monkeypatch.setattr(coptim, "update_k", Counting())
    rng = np.random.default_rng(0)
    shapes = [(1 + i % 4, 1 + i % 3) if i % 2 else (1 + i % 5,) for i in range(20)]
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(2)]
    results = {}
    for dev in ("cpu", "cuda"):  # 20 parameters in two groups of 12 and 8 (their lr differs)
        params = [ad.tensor(v, device=dev, requires_grad=True) for v in values]
        optim = _OPTIMIZERS[name]([{"params": params[:12]}, {"params": params[12:], "lr": 0.05}])
        for step in range(2):
            for p, g in zip(params, grads[step]):
                p.grad = ad.tensor(g, device=dev)
            optim.step()
        results[dev] = [p.detach().cpu().numpy() for p in params]
    assert len(launches) == 2 * (2 + 1), "a step: two launches for the 12 parameters, one for the 8"
    for a, b in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_clip_grad_norm_matches_torch():
    (a, ta), (b, tb) = _pair((3, 4), 13), _pair((5,), 14)
    (a.square().sum() * 3 + b.exp().sum()).backward()
    (ta.square().sum() * 3 + tb.exp().sum()).backward()
    for norm_type in (2.0, math.inf):
        total = nn.utils.clip_grad_norm_([a, b], 0.5, norm_type)
        want = torch.nn.utils.clip_grad_norm_([ta, tb], 0.5, norm_type)
        _close(total, want, 1e-5)
        _close(a.grad, ta.grad, 1e-5)


def test_cuda_state_dict_saved_loads_on_the_cpu():
    model = _mlp(3).to("cuda")
    buf = io.BytesIO()
    ad.save(model.state_dict(), buf)
    buf.seek(0)
    state = ad.load(buf)
    cpu_model = _mlp(4)
    cpu_model.load_state_dict(state)
    for p, q in zip(model.parameters(), cpu_model.parameters()):
        assert q.device == ad.device("cpu")
        np.testing.assert_array_equal(p.detach().cpu().numpy(), q.detach().numpy())
    buf.seek(0)
    on_gpu = ad.load(buf, map_location="cuda")
    assert list(on_gpu) == list(state) and all(t.is_cuda for t in on_gpu.values())
    assert all(np.array_equal(t.cpu().numpy(), state[k].numpy()) for k, t in on_gpu.items())


# ---- linear algebra, QR and sparse COO tensors ----------------------------------------------

def _spd(batch, n, seed, dtype):
    """A batch of symmetric positive-definite matrices, as an autodiff cuda and a torch CPU tensor."""
    m = np.random.default_rng(seed).standard_normal((batch, n, n))
    a = (m @ m.transpose(0, 2, 1) + n * np.eye(n)).astype(dtype)
    return ad.tensor(a, device="cuda", requires_grad=True), torch.tensor(a, requires_grad=True)


def _backward_both(got, want, seed):
    """Backpropagate the same random weighting of both outputs, in their dtype."""
    g = np.random.default_rng(seed).standard_normal(tuple(want.shape)).astype(want.detach().numpy().dtype)
    got.backward(ad.tensor(g, device="cuda"))
    want.backward(torch.tensor(g))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_of_a_batch_and_its_gradient_match_torch(dtype, upper):
    (a, ta), tol = _spd(3, 4, 40, dtype), 1e-4 if dtype == np.float32 else 1e-10  # 3 matrices: 2 blocks wrap
    got, want = ad.linalg.cholesky(a, upper=upper), torch.linalg.cholesky(ta, upper=upper)
    _close(got, want, tol)
    _backward_both(got, want, 41)
    _close(a.grad, ta.grad, tol)


def test_cholesky_reports_a_matrix_that_is_not_positive_definite_as_the_cpu_does():
    a = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0]), -np.eye(3)])  # elements 1 and 2 fail: 1 is named
    for x, where in ((a, "(Batch element 1): "), (a[1], "")):
        with pytest.raises(RuntimeError) as cpu:
            ad.linalg.cholesky(ad.tensor(x))
        with pytest.raises(RuntimeError) as dev:
            ad.linalg.cholesky(ad.tensor(x, device="cuda"))
        assert str(dev.value) == str(cpu.value)
        assert str(dev.value).startswith(f"linalg.cholesky: {where}The factorization could not be completed")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("upper,left", [(False, True), (True, True), (False, False), (True, False)])
def test_solve_triangular_and_its_gradients_match_torch(dtype, upper, left):
    rng = np.random.default_rng(42)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    a = (rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)).astype(dtype)  # a well-conditioned diagonal
    b = rng.standard_normal((2, 3, 4) if left else (2, 4, 3)).astype(dtype)
    for unitriangular in (False, True):
        (x, tx), (y, ty) = ((ad.tensor(v, device="cuda", requires_grad=True), torch.tensor(v, requires_grad=True))
                            for v in (a, b))
        kw = {"upper": upper, "left": left, "unitriangular": unitriangular}
        got, want = ad.linalg.solve_triangular(x, y, **kw), torch.linalg.solve_triangular(tx, ty, **kw)
        _close(got, want, tol)
        _backward_both(got, want, 43)
        _close(x.grad, tx.grad, tol)
        _close(y.grad, ty.grad, tol)
    # one triangle broadcast over the right-hand sides' batch
    got = ad.linalg.solve_triangular(ad.tensor(a[0], device="cuda"), ad.tensor(b, device="cuda"), upper=upper,
                                     left=left)
    _close(got, torch.linalg.solve_triangular(torch.tensor(a[0]), torch.tensor(b), upper=upper, left=left), tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthonormal_columns_on_the_device_equal_the_cpu_kernels(dtype):
    # 10 columns over the 8 threads of the block: two threads own two columns each
    a = np.random.default_rng(44).standard_normal((12, 10)).astype(dtype)
    a[:, 3] = -a[:, 3]  # a negative diagonal of R somewhere, flipped by the sign fix
    want = backend_for("cpu").qr.orthonormal_columns(a)
    got = gpu.to_numpy(gpu.qr.orthonormal_columns(gpu.from_numpy(a)))
    np.testing.assert_allclose(got, want, atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("shape", [(12, 10), (3, 2, 5)])
def test_orthogonal_init_on_the_device_matches_the_cpu(shape):
    dev = nn.init.orthogonal_(ad.empty(*shape, device="cuda"), gain=2.0, generator=ad.Generator().manual_seed(4))
    cpu = nn.init.orthogonal_(ad.empty(*shape), gain=2.0, generator=ad.Generator().manual_seed(4))  # same draws
    assert dev.device == ad.device("cuda", 0)
    np.testing.assert_allclose(dev.cpu().numpy(), cpu.numpy(), atol=1e-5)
    q = nn.init.orthogonal_(ad.empty(*shape, device="cuda", dtype=ad.float64)).reshape(shape[0], -1)
    small = q @ q.mT if q.shape[0] <= q.shape[1] else q.mT @ q  # semi-orthogonal: the smaller Gram is I
    np.testing.assert_allclose(small.cpu().numpy(), np.eye(min(q.shape)), atol=1e-12)


def test_orthogonal_parametrization_on_the_device_matches_the_cpu():
    cpu = nn.Linear(4, 4).double()
    dev = nn.Linear(4, 4).double().to("cuda")
    dev.load_state_dict({k: v.cuda() for k, v in cpu.state_dict().items()})
    for m in (cpu, dev):  # the weight is made orthogonal by QR, on its device
        nn.utils.parametrizations.orthogonal(m, orthogonal_map="cayley")  # Cholesky and two solves
    x = np.random.default_rng(47).standard_normal((3, 4))
    got, want = dev(ad.tensor(x, device="cuda")), cpu(ad.tensor(x))
    np.testing.assert_allclose(dev.weight.detach().cpu().numpy(), cpu.weight.detach().numpy(), atol=1e-10)
    got.square().sum().backward()
    want.square().sum().backward()
    for p, q in zip(dev.parameters(), cpu.parameters()):
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), atol=1e-10)


SPARSE_INDICES = [[0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 3, 3], [1, 0, 3, 1, 2, 3, 4, 0, 0, 1, 2, 4, 0]]  # repeats


@pytest.fixture
def small_compaction_runs(monkeypatch):
    """Chunks of four positions in the compactions (runs, nonzero), so that groups cross chunks."""
    monkeypatch.setattr(cindex, "COMPACT_CHUNKS", 4)


@pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")
def test_sparse_coo_tensors_on_the_device_coalesce_and_convert_like_torch(small_compaction_runs):
    values = np.arange(1.0, 14.0, dtype=np.float32)
    ours = ad.sparse_coo_tensor(SPARSE_INDICES, values, (4, 5), device="cuda")
    theirs = torch.sparse_coo_tensor(SPARSE_INDICES, values, (4, 5))
    assert ours.device == ad.device("cuda", 0) and ours._indices().device == ours.device
    assert repr(ours).endswith("\n       device='cuda:0', size=(4, 5), nnz=13, layout=autodiff.sparse_coo)")  # torch's
    a, t = ours.coalesce(), theirs.coalesce()
    assert a._nnz() == t._nnz() and a.is_coalesced()
    np.testing.assert_array_equal(a.indices().cpu().numpy(), t.indices().numpy())
    _close(a.values(), t.values())
    _close(ours.to_dense(), theirs.to_dense())
    x = theirs.to_dense().numpy()
    x[1, 2], x[3, 3] = 0.0, -0.5
    got, want = ad.tensor(x, device="cuda").to_sparse(), torch.tensor(x).to_sparse()
    np.testing.assert_array_equal(got.indices().cpu().numpy(), want.indices().numpy())
    _close(got.values(), want.values())
    rows = ad.tensor(x, device="cuda").to_sparse(1)  # hybrid: the rows holding a nonzero
    np.testing.assert_array_equal(rows.indices().cpu().numpy(), torch.tensor(x).to_sparse(1).indices().numpy())
    on_device = ad.sparse_coo_tensor(ad.tensor(SPARSE_INDICES, device="cuda"), ad.tensor(values, device="cuda"))
    assert on_device.shape == tuple(torch.sparse_coo_tensor(SPARSE_INDICES, values).shape)
    with pytest.raises(RuntimeError, match="size is inconsistent with indices: for dim 1, size is 4 but found index 4"):
        ad.sparse_coo_tensor(ad.tensor(SPARSE_INDICES, device="cuda"), ad.tensor(values, device="cuda"), (4, 4))
    with pytest.raises(RuntimeError, match=r"backend of indices \(CPU\) must match backend of values \(CUDA\)"):
        ad.sparse_coo_tensor(ad.tensor(SPARSE_INDICES), ad.tensor(values, device="cuda"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_mm_on_the_device_and_its_gradients_match_torch(dtype, small_compaction_runs):
    rng = np.random.default_rng(45)
    v, d = rng.standard_normal(13).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)
    ours = ad.sparse_coo_tensor(SPARSE_INDICES, ad.tensor(v, device="cuda"), (4, 5), requires_grad=True)
    theirs = torch.sparse_coo_tensor(SPARSE_INDICES, torch.tensor(v), (4, 5), requires_grad=True)
    od, td = ad.tensor(d, device="cuda", requires_grad=True), torch.tensor(d, requires_grad=True)
    got, want = ad.sparse.mm(ours, od), torch.sparse.mm(theirs, td)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    _close(got, want, tol)
    _backward_both(got, want, 46)
    _close(od.grad, td.grad, tol)
    g, tg = ours.grad, theirs.grad.coalesce()
    np.testing.assert_array_equal(g.indices().cpu().numpy(), tg.indices().numpy())
    _close(g.values(), tg.values(), tol)
    left = ad.tensor(d.T, device="cuda") @ ours.t()  # dense @ sparse: the transposed product
    _close(left, torch.tensor(d.T) @ theirs.detach().t(), tol)


# ---- random numbers and memory --------------------------------------------------------------

def test_random_numbers_are_drawn_on_the_device_and_reproducible():
    before = dict(TRANSFERS)
    ad.cuda.manual_seed(5)
    a = ad.rand(300, device="cuda")
    n = ad.randn(2, 150, device="cuda", dtype=ad.float64)
    d = F.dropout(ad.ones(400, device="cuda"), 0.25)
    assert TRANSFERS["host_to_device"] == before["host_to_device"]
    ad.cuda.manual_seed(5)
    assert ad.rand(300, device="cuda").cpu().tolist() == a.cpu().tolist()
    u, z, kept = a.cpu().numpy(), n.cpu().numpy(), d.cpu().numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.06
    assert abs(z.mean()) < 0.15 and abs(z.std() - 1) < 0.15
    assert set(np.unique(kept)) <= {0.0, np.float32(1 / 0.75)} and abs((kept == 0).mean() - 0.25) < 0.08


def test_multinomial_draws_on_the_device_as_the_cpu_kernel_picks():
    w = ad.tensor([[0.2, 0.0, 0.5, 0.3], [0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 2.0]])
    u = np.random.default_rng(3).random((3, 40)).astype(np.float32)
    cpu, dev = backend_for("cpu"), gpu
    want = cpu.empty((3, 40), np.int64)
    cpu.sampling.categorical(w.numpy(), u, want)  # the same uniforms: the same categories
    got = dev.empty((3, 40), np.int64)
    dev.sampling.categorical(w.to("cuda")._data, dev.from_numpy(u), got)
    np.testing.assert_array_equal(dev.to_numpy(got), want)
    before = dict(TRANSFERS)
    ad.cuda.manual_seed(2)
    a = ad.multinomial(w.cuda(), 40, replacement=True)
    b = ad.multinomial(w[[0, 2]].cuda(), 2)  # without replacement: two distinct positive categories
    assert TRANSFERS["host_to_device"] == before["host_to_device"] + 2  # the two weight uploads only
    ad.cuda.manual_seed(2)
    assert ad.multinomial(w.cuda(), 40, replacement=True).cpu().tolist() == a.cpu().tolist()
    a, b = a.cpu().numpy(), b.cpu().numpy()
    assert a.shape == (3, 40) and a.dtype == np.int64 and (a[0] != 1).all() and (a[1] == 1).all()
    assert set(np.unique(a[2])) <= {0, 1, 3} and len(set(np.unique(a[2]))) == 3
    assert all(len(set(row)) == 2 and all(w[r, c].item() > 0 for c in row) for r, row in zip((0, 2), b))
    with pytest.raises(RuntimeError, match="probability tensor contains either `inf`, `nan` or element < 0"):
        ad.multinomial(ad.tensor([0.5, -0.1], device="cuda"), 1)
    with pytest.raises(RuntimeError, match="not enough non-negative category"):
        ad.multinomial(w.cuda(), 3)


@pytest.mark.parametrize("row,col,offset", [(5, 4, 0), (4, 6, -2), (3, 3, 2), (0, 3, 0), (3, 3, -5)])
def test_triangle_indices_on_the_device(row, col, offset):
    for ours, theirs in ((ad.tril_indices, torch.tril_indices), (ad.triu_indices, torch.triu_indices)):
        got = ours(row, col, offset, device="cuda")
        assert got.device == ad.device("cuda", 0)
        np.testing.assert_array_equal(got.cpu().numpy(), theirs(row, col, offset).numpy())


def test_in_place_random_fills_and_inits_draw_on_the_device():
    before = dict(TRANSFERS)
    ad.cuda.manual_seed(4)
    p = ad.full((400,), 0.3, device="cuda")
    fills = {
        "normal_": ad.empty(400, device="cuda").normal_(2.0, 0.5),
        "uniform_": ad.empty(400, device="cuda").uniform_(-1, 3),
        "exponential_": ad.empty(400, device="cuda").exponential_(2.0),
        "bernoulli_": ad.empty(400, device="cuda").bernoulli_(p),
        "bernoulli": ad.bernoulli(p),
        "init.normal_": nn.init.normal_(ad.empty(20, 20, device="cuda"), 2.0, 0.5),
        "init.kaiming_uniform_": nn.init.kaiming_uniform_(ad.empty(20, 20, device="cuda")),
        "randperm": ad.randperm(50, device="cuda"),
    }
    assert TRANSFERS["host_to_device"] == before["host_to_device"] + 1  # randperm's keys only
    assert all(t.device == ad.device("cuda", 0) for t in fills.values())
    got = {k: t.cpu().numpy() for k, t in fills.items()}
    for k in ("normal_", "init.normal_"):
        assert abs(got[k].mean() - 2.0) < 0.15 and abs(got[k].std() - 0.5) < 0.1, k
    assert -1 <= got["uniform_"].min() and got["uniform_"].max() < 3 and abs(got["uniform_"].mean() - 1) < 0.25
    assert got["exponential_"].min() >= 0 and abs(got["exponential_"].mean() - 0.5) < 0.1
    for k in ("bernoulli_", "bernoulli"):
        assert set(np.unique(got[k])) <= {0.0, 1.0} and abs(got[k].mean() - 0.3) < 0.08, k
    assert sorted(got["randperm"].tolist()) == list(range(50))
    with pytest.raises(RuntimeError, match="Expected p_in >= 0 && p_in <= 1"):
        ad.bernoulli(ad.tensor([0.5, 1.5], device="cuda"))


def test_copy_between_devices_is_differentiable():
    src = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)  # on the CPU
    dst = ad.zeros(3, device="cuda")
    dst.copy_(src * 2)
    assert dst.device == ad.device("cuda", 0) and dst.cpu().tolist() == [2.0, 4.0, 6.0]
    (dst * ad.tensor([1.0, 10.0, 100.0], device="cuda")).sum().backward()
    assert src.grad.device == ad.device("cpu") and src.grad.tolist() == [2.0, 20.0, 200.0]
    back = ad.empty(3).copy_(dst)
    assert back.device == ad.device("cpu") and back.tolist() == [2.0, 4.0, 6.0]


def test_caching_allocator_reuses_freed_blocks():
    gc.collect()  # blocks of earlier tests' collected graphs return to the cache now, not mid-test
    ad.cuda.empty_cache()
    base, reserved = ad.cuda.memory_allocated(), ad.cuda.memory_reserved()
    x = ad.empty(1000, device="cuda")
    assert ad.cuda.memory_allocated() - base == 4096  # 4000 bytes rounded up to 512-byte units
    del x
    assert ad.cuda.memory_allocated() == base
    grown = ad.cuda.memory_reserved()
    assert grown - reserved == 4096  # the block is cached, not freed
    misses = gpu.allocator.driver_allocs
    y = ad.empty(1000, device="cuda")
    assert gpu.allocator.driver_allocs == misses and ad.cuda.memory_reserved() == grown  # reused
    assert ad.cuda.max_memory_allocated() >= ad.cuda.memory_allocated()
    del y
    ad.cuda.empty_cache()
    assert ad.cuda.memory_reserved() == reserved


@pytest.mark.skipif(SIMULATED, reason="the simulator has no External Memory Management: on a GPU only "
                                      "(the plugin's own logic: tests/kernels/cuda/test_cuda_memory_plugin.py)")
def test_numba_allocates_from_the_caching_pool_through_the_emm_plugin():
    from numba import cuda

    assert cuda.current_context().memory_manager.pool is gpu.allocator.pool
    gc.collect()
    base = ad.cuda.memory_allocated()
    outside = cuda.device_array(1000, np.float32)  # a Numba array the backend did not ask for
    assert ad.cuda.memory_allocated() - base == 4096
    del outside
    gc.collect()
    assert ad.cuda.memory_allocated() == base


def test_ops_without_cuda_kernels_say_so():
    cpu_families = {n for n, v in vars(type(backend_for("cpu"))).items() if isinstance(v, types.ModuleType)}
    assert cpu_families and all(n in vars(type(gpu)) for n in cpu_families)  # every family is on the device
    with pytest.raises(NotImplementedError, match=r"CUDA backend has no special\.not_a_kernel kernel yet"):
        gpu.special.not_a_kernel  # a name a family lacks says so, with the op's way out


@pytest.mark.parametrize("dtype", [ad.float32, ad.float64])
def test_gamma_samples_on_the_device(dtype):
    n = 700
    alpha = ad.tensor([0.3] * n + [2.5] * n + [9.0] * n, dtype=dtype, device="cuda")
    ad.cuda.manual_seed(3)
    x = gamma_ops.standard_gamma(alpha)
    assert x.is_cuda and x.dtype == dtype and x.shape == alpha.shape
    ad.cuda.manual_seed(3)
    assert gamma_ops.standard_gamma(alpha).tolist() == x.tolist()  # reproducible under the device seed
    got = x.cpu().numpy().astype(np.float64).reshape(3, n)
    for row, a in zip(got, (0.3, 2.5, 9.0)):  # Gamma(a, 1): mean a, variance a; 5 standard errors
        assert (row > 0).all()
        assert abs(row.mean() - a) < 5 * math.sqrt(a / n), (a, row.mean())
        assert abs(row.var() - a) < 5 * math.sqrt(2 * a * a * (1 + 3 / a) / n), (a, row.var())
    edge = gamma_ops.standard_gamma(ad.tensor([0.0, -1.0, float("nan"), float("inf")], dtype=dtype, device="cuda"))
    expected = torch._standard_gamma(torch.tensor([0.0, -1.0, float("nan"), float("inf")], dtype=getattr(
        torch, str(dtype).split(".")[-1])))  # torch's floor for degenerate shapes, inf for an infinite one
    assert edge.cpu().numpy().tolist() == expected.tolist()


def test_gamma_rsample_gradient_on_the_device_matches_the_cpu():
    alpha = ad.tensor([0.2, 1.0, 3.5, 40.0] * 17, dtype=ad.float64, device="cuda", requires_grad=True)
    x = gamma_ops.standard_gamma(alpha)
    x.sum().backward()
    want = gamma_ops._standard_gamma_grad(alpha.detach().cpu(), x.detach().cpu())
    np.testing.assert_allclose(alpha.grad.cpu().numpy(), want.numpy(), rtol=1e-12)


def test_a_write_into_uploaded_indices_forgets_their_known_range():
    ids = ad.tensor([0, 1, 2], device="cuda")  # the range 0..2 is known from the host
    w = ad.ones(3, 2, device="cuda")
    assert F.embedding(ids, w).shape == (3, 2)
    ids[1:].add_(5)  # through a view: the block's range is stale now, and must not be trusted
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(ids, w)
