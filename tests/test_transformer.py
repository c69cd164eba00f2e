"""MultiheadAttention and the Transformer layers against torch, weights moved through
state dicts in both directions: forward, attention weights and every gradient (float32
and float64), boolean / additive / causal / key-padding masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import nn

R = np.random.default_rng(0)
TOL = {np.float32: {"rtol": 2e-4, "atol": 2e-5}, np.float64: {"rtol": 1e-9, "atol": 1e-10}}


def _to_ours(state: dict) -> dict:
    return {k: ad.from_numpy(v.detach().numpy().copy()) for k, v in state.items()}


def _to_torch(state: dict) -> dict:
    return {k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()}


def _twins(make, dtype, from_ours: bool = False):
    """(ours, torch) built by ``make(lib)`` with equal weights, copied one way or the other."""
    ours, theirs = make(ad), make(torch)
    ours.to(ad.float64 if dtype == np.float64 else ad.float32)
    theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if from_ours:
        theirs.load_state_dict(_to_torch(ours.state_dict()))
    else:
        ours.load_state_dict(_to_ours(theirs.state_dict()))
    for m in (ours, theirs):
        m.eval()
    return ours, theirs


def _grads_agree(ours, theirs, a_in, t_in, tol):
    for a, t in zip(a_in, t_in):
        if t.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), **tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), **tol, err_msg=name)


def _check(make, inputs, dtype, call=lambda m, *x, **k: m(*x, **k), kwargs=lambda lib: {}, from_ours=False):
    ours, theirs = _twins(make, dtype, from_ours)
    a_in = [ad.from_numpy(x.astype(dtype)).requires_grad_() for x in inputs]
    t_in = [torch.from_numpy(x.astype(dtype)).requires_grad_() for x in inputs]
    out = call(ours, *a_in, **kwargs(ad))
    ref = call(theirs, *t_in, **kwargs(torch))
    outs, refs = (out, ref) if isinstance(ref, tuple) else ((out,), (ref,))
    tol = TOL[dtype]
    loss_a = loss_t = 0
    for o, r in zip(outs, refs):
        if r is None:
            assert o is None
            continue
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), **tol)
        seed = R.standard_normal(tuple(r.shape)).astype(dtype)
        loss_a = loss_a + (o * ad.from_numpy(seed)).sum()
        loss_t = loss_t + (r * torch.from_numpy(seed)).sum()
    loss_a.backward()
    loss_t.backward()
    _grads_agree(ours, theirs, a_in, t_in, tol)


def _mask(lib, array):
    return lib.from_numpy(array.copy()) if lib is ad else torch.from_numpy(array.copy())


N, L, S, E = 2, 5, 7, 8
KPM = np.zeros((N, S), bool)
KPM[0, -2:] = True
BOOL_MASK = R.random((L, S)) > 0.8
BOOL_MASK[:, 0] = False  # every query keeps a key
ADD_MASK = R.standard_normal((N * 2, L, S))

MHA_CASES = {
    "self_seq_first": (lambda m: m.nn.MultiheadAttention(E, 2), "self", {}),
    "batch_first_cross": (lambda m: m.nn.MultiheadAttention(E, 2, batch_first=True), "cross", {}),
    "per_head_weights": (lambda m: m.nn.MultiheadAttention(E, 4, batch_first=True), "cross",
                         {"average_attn_weights": False}),
    "no_weights_kpm": (lambda m: m.nn.MultiheadAttention(E, 2, batch_first=True), "cross",
                       {"need_weights": False, "key_padding_mask": KPM}),
    "weights_kpm_bool_mask": (lambda m: m.nn.MultiheadAttention(E, 2, batch_first=True), "cross",
                              {"key_padding_mask": KPM, "attn_mask": BOOL_MASK}),
    "no_weights_additive_3d": (lambda m: m.nn.MultiheadAttention(E, 2, batch_first=True), "cross",
                               {"need_weights": False, "attn_mask": ADD_MASK}),
    "kdim_vdim_nobias": (lambda m: m.nn.MultiheadAttention(E, 2, bias=False, kdim=3, vdim=5, batch_first=True),
                         "kv", {}),
    "bias_kv_zero_attn": (lambda m: m.nn.MultiheadAttention(E, 2, add_bias_kv=True, add_zero_attn=True,
                                                            batch_first=True), "cross",
                          {"key_padding_mask": KPM, "attn_mask": BOOL_MASK, "need_weights": False}),
}


def _mha_inputs(kind):
    q = R.standard_normal((N, L, E))
    if kind == "self":
        return [R.standard_normal((L, N, E))]
    if kind == "kv":
        return [q, R.standard_normal((N, S, 3)), R.standard_normal((N, S, 5))]
    return [q, R.standard_normal((N, S, E)), R.standard_normal((N, S, E))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(MHA_CASES))
def test_multihead_attention(case, dtype):
    make, kind, kw = MHA_CASES[case]
    inputs = _mha_inputs(kind)
    call = (lambda m, x, **k: m(x, x, x, **k)) if kind == "self" else (lambda m, *x, **k: m(*x, **k))

    def kwargs(lib):
        out = dict(kw)
        for name in ("key_padding_mask", "attn_mask"):
            if name in out:
                out[name] = _mask(lib, out[name].astype(dtype) if out[name].dtype.kind == "f" else out[name])
        return out

    _check(make, inputs, dtype, call, kwargs, from_ours=case.endswith("nobias"))


def test_multihead_attention_unbatched_and_errors():
    _check(lambda m: m.nn.MultiheadAttention(E, 2), [R.standard_normal((L, E))] * 3, np.float64)
    mha = nn.MultiheadAttention(E, 2)
    x = ad.randn(L, N, E)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(E, 3)


LAYER_CASES = {
    "encoder_post_relu": (lambda m: m.nn.TransformerEncoderLayer(E, 2, 16, dropout=0.0), "enc"),
    "encoder_pre_gelu_bf": (lambda m: m.nn.TransformerEncoderLayer(E, 2, 16, 0.0, "gelu", batch_first=True,
                                                                   norm_first=True), "enc"),
    "decoder_post": (lambda m: m.nn.TransformerDecoderLayer(E, 2, 16, dropout=0.0), "dec"),
    "decoder_pre_bf": (lambda m: m.nn.TransformerDecoderLayer(E, 2, 16, 0.0, batch_first=True, norm_first=True),
                       "dec"),
    "encoder_stack": (lambda m: m.nn.TransformerEncoder(m.nn.TransformerEncoderLayer(E, 2, 16, 0.0), 2,
                                                        m.nn.LayerNorm(E)), "enc"),
    "decoder_stack": (lambda m: m.nn.TransformerDecoder(m.nn.TransformerDecoderLayer(E, 2, 16, 0.0), 2), "dec"),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_transformer_layers(case, dtype):
    make, kind = LAYER_CASES[case]
    causal = np.triu(np.full((L, L), -np.inf), 1).astype(dtype)
    if kind == "enc":
        key = "src_mask" if "layer" in make(torch).__class__.__name__.lower() else "mask"
        kwargs = lambda lib: {key: _mask(lib, causal), "src_key_padding_mask": _mask(lib, KPM[:, :L])}  # noqa: E731
        x = R.standard_normal((N, L, E) if "bf" in case else (L, N, E))
        _check(make, [x], dtype, kwargs=kwargs, from_ours=case == "encoder_stack")
    else:
        kwargs = lambda lib: {"tgt_mask": _mask(lib, causal),  # noqa: E731
                              "memory_key_padding_mask": _mask(lib, KPM)}
        inputs = [R.standard_normal((L, N, E)), R.standard_normal((S, N, E))]
        if "bf" in case:
            inputs = [R.standard_normal((N, L, E)), R.standard_normal((N, S, E))]
            kwargs = lambda lib: {"tgt_mask": _mask(lib, causal)}  # noqa: E731
        _check(make, inputs, dtype, kwargs=kwargs)


def test_transformer_full_model():
    make = lambda m: m.nn.Transformer(E, 2, 1, 2, 16, 0.0, batch_first=True)  # noqa: E731
    mask = nn.Transformer.generate_square_subsequent_mask(L)
    np.testing.assert_array_equal(mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(L).numpy())
    kwargs = lambda lib: {"tgt_mask": (ad if lib is ad else torch).nn.Transformer  # noqa: E731
                          .generate_square_subsequent_mask(L, dtype=lib.float64)}
    _check(make, [R.standard_normal((N, S, E)), R.standard_normal((N, L, E))], np.float64, kwargs=kwargs)


def test_default_init_statistics():
    """Xavier-uniform weights: within the bound, and spread like torch's."""
    ours = nn.Transformer(16, 2, 1, 1, 32)
    theirs = torch.nn.Transformer(16, 2, 1, 1, 32)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, a), t in zip(ours.named_parameters(), theirs.parameters()):
        assert a.shape == tuple(t.shape), name
        if a.dim() > 1:
            bound = float(np.sqrt(6.0 / (a.shape[0] + a.shape[1])))
            assert float(a.abs().max()) <= bound
            np.testing.assert_allclose(float(a.std()), float(t.std()), rtol=0.25)
