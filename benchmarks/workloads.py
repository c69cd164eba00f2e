"""The workloads of the separate-process benchmark, written once per API.

autodiff and torch share one definition (their APIs are the same, so the code takes the
library module ``T``); JAX gets the same computation written in ``jax.numpy``, jitted as
one ``value_and_grad`` step with the same optimizer update (Adam / AdamW written out, as
torch defines them). Each ``*_step(lib)`` returns a function that runs one step and waits
for its result; :mod:`benchmarks.separate_processes` times it.

Workloads: the README chain at 16 and 4M elements, the MLP and CNN training steps of
``bench_training.py``, a small GPT training step (2 layers, d=128, 4 heads, 64 tokens,
batch 16, tied embeddings, AdamW; attention written with matmul, masked_fill and softmax)
and fwd+bwd of sum / amax / softmax over each axis of 2048x2048.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

GPT = {"vocab": 256, "d": 128, "heads": 4, "layers": 2, "tokens": 64, "batch": 16}
CHAIN_SIZES = {"chain16": 16, "chain4M": 4 << 20}


# ----------------------------------------------------------------------------------------
# autodiff and torch (one definition; T is the library module)
# ----------------------------------------------------------------------------------------

def _gpt_model(T):
    nn, F = T.nn, T.nn.functional
    d, heads = GPT["d"], GPT["heads"]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x, mask):
            B, L, _ = x.shape
            q, k, v = (t.view(B, L, heads, d // heads).transpose(1, 2)
                       for t in self.qkv(self.ln1(x)).split(d, dim=2))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // heads))
            att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
            x = x + self.proj((att @ v).transpose(1, 2).reshape(B, L, d))
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(GPT["vocab"], d)
            self.pos = nn.Embedding(GPT["tokens"], d)
            self.blocks = nn.ModuleList([Block() for _ in range(GPT["layers"])])
            self.ln = nn.LayerNorm(d)

        def forward(self, idx, pos, mask):
            x = self.tok(idx) + self.pos(pos)
            for block in self.blocks:
                x = block(x, mask)
            return F.linear(self.ln(x), self.tok.weight)  # tied embeddings

    return Model()


def _gpt_batch():
    rng = np.random.default_rng(0)
    shape = (GPT["batch"], GPT["tokens"])
    return rng.integers(0, GPT["vocab"], shape), rng.integers(0, GPT["vocab"], shape)


def gpt_step(T, with_model: bool = False):
    """One GPT training step in autodiff or torch (and the model, if ``with_model``)."""
    T.manual_seed(0)
    model = _gpt_model(T)
    idx, tgt = (T.from_numpy(a) for a in _gpt_batch())
    L = GPT["tokens"]
    pos = T.arange(L)
    mask = T.ones(L, L, dtype=T.bool).triu(1)
    opt = T.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        logits = model(idx, pos, mask)
        loss = T.nn.functional.cross_entropy(logits.reshape(-1, GPT["vocab"]), tgt.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    return (step, model) if with_model else step


def classifier(T, kind: str):
    """The MLP or CNN classifier in ``T`` (autodiff or torch): the training workloads' model."""
    nn = T.nn
    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def _classifier_batch(kind: str):
    shape = (256, 784) if kind == "mlp" else (64, 1, 28, 28)
    rng = np.random.default_rng(0)
    return rng.standard_normal(shape, dtype=np.float32), rng.integers(0, 10, shape[0])


def classifier_step(T, kind: str) -> Callable[[], object]:
    """One MLP or CNN training step (cross-entropy, Adam) in autodiff or torch."""
    T.manual_seed(0)
    model = classifier(T, kind)
    x, y = (T.from_numpy(a) for a in _classifier_batch(kind))
    opt = T.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = T.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def chain_step(T, n: int) -> Callable[[], object]:
    """The README chain ``((x*w + x).tanh()*2 - w).sum()``, forward and backward."""
    rng = np.random.default_rng(0)
    x, w = (T.from_numpy(rng.standard_normal(n, dtype=np.float32)).requires_grad_() for _ in range(2))

    def step():
        x.grad = w.grad = None
        out = ((x * w + x).tanh() * 2 - w).sum()
        out.backward()
        return out
    return step


REDUCTIONS = [(name, dim) for name in ("sum", "amax", "softmax") for dim in (0, 1)]


def reduction_step(T, name: str, dim: int) -> Callable[[], object]:
    """fwd+bwd of ``x.<name>(dim)`` on 2048x2048 with a fixed upstream gradient."""
    rng = np.random.default_rng(0)
    x = T.from_numpy(rng.standard_normal((2048, 2048), dtype=np.float32)).requires_grad_()
    g = rng.standard_normal((2048, 2048), dtype=np.float32)
    seed = T.from_numpy(g if name == "softmax" else g.sum(axis=dim))

    def step():
        x.grad = None
        getattr(x, name)(dim=dim).backward(seed)
        return x.grad
    return step


# ----------------------------------------------------------------------------------------
# JAX (the same computations, jitted value_and_grad, the same optimizer updates)
# ----------------------------------------------------------------------------------------

def _jax_adam(lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
    """Adam (``weight_decay=0``) or AdamW (decoupled decay), as torch.optim defines them."""
    import jax
    import jax.numpy as jnp

    def init(params):
        def zeros():
            return jax.tree_util.tree_map(jnp.zeros_like, params)
        return zeros(), zeros(), 0

    def update(params, grads, m, v, t):
        t = t + 1
        b1, b2 = betas
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t

        def new(p, m, v):
            p = p * (1 - lr * weight_decay) if weight_decay else p
            return p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps)
        return jax.tree_util.tree_map(new, params, m, v), m, v, t
    return init, update


def _jax_train_step(loss_fn, params, batch, weight_decay: float = 0.0) -> Callable[[], object]:
    """jit(value_and_grad(loss) + optimizer update), run on fixed ``batch``; buffers donated."""
    import jax

    init, update = _jax_adam(weight_decay=weight_decay)
    m, v, _ = init(params)

    def step(params, m, v, t, *batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
        params, m, v, _ = update(params, grads, m, v, t)
        return loss, params, m, v

    state = {"params": params, "m": m, "v": v, "t": 0}
    step_jit = jax.jit(step, donate_argnums=(0, 1, 2))

    def run():
        state["t"] += 1
        loss, state["params"], state["m"], state["v"] = step_jit(state["params"], state["m"], state["v"],
                                                                 float(state["t"]), *batch)
        return loss.block_until_ready()
    return run


def _jax_linear_init(rng, fan_in: int, fan_out: int) -> dict:
    bound = 1 / math.sqrt(fan_in)
    return {"w": rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
            "b": rng.uniform(-bound, bound, fan_out).astype(np.float32)}


def _jax_cross_entropy(logits, y):
    import jax
    import jax.numpy as jnp

    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def jax_classifier_step(kind: str) -> Callable[[], object]:
    import jax
    import jax.numpy as jnp
    from jax import lax

    rng = np.random.default_rng(0)
    if kind == "mlp":
        params = [_jax_linear_init(rng, a, b) for a, b in ((784, 512), (512, 256), (256, 10))]

        def forward(params, x):
            for i, p in enumerate(params):
                x = x @ p["w"].T + p["b"]
                x = jax.nn.relu(x) if i < len(params) - 1 else x
            return x
    else:
        def conv_init(cin, cout):
            bound = 1 / math.sqrt(cin * 9)
            return {"w": rng.uniform(-bound, bound, (cout, cin, 3, 3)).astype(np.float32),
                    "b": rng.uniform(-bound, bound, cout).astype(np.float32)}
        params = [conv_init(1, 16), conv_init(16, 32), _jax_linear_init(rng, 32 * 7 * 7, 10)]

        def conv_relu_pool(x, p):
            x = lax.conv_general_dilated(x, p["w"], (1, 1), ((1, 1), (1, 1)),
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))
            x = jax.nn.relu(x + p["b"][None, :, None, None])
            return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

        def forward(params, x):
            x = conv_relu_pool(conv_relu_pool(x, params[0]), params[1])
            x = x.reshape(x.shape[0], -1)
            return x @ params[2]["w"].T + params[2]["b"]

    x, y = (jnp.asarray(a) for a in _classifier_batch(kind))
    params = jax.tree_util.tree_map(jnp.asarray, params)
    return _jax_train_step(lambda p, x, y: _jax_cross_entropy(forward(p, x), y), params, (x, y))


def jax_gpt_step() -> Callable[[], object]:
    import jax
    import jax.numpy as jnp

    d, heads, L, V = GPT["d"], GPT["heads"], GPT["tokens"], GPT["vocab"]
    rng = np.random.default_rng(0)

    def ln_init():
        return {"g": np.ones(d, np.float32), "b": np.zeros(d, np.float32)}
    blocks = [{"ln1": ln_init(), "ln2": ln_init(), "qkv": _jax_linear_init(rng, d, 3 * d),
               "proj": _jax_linear_init(rng, d, d), "fc": _jax_linear_init(rng, d, 4 * d),
               "out": _jax_linear_init(rng, 4 * d, d)} for _ in range(GPT["layers"])]
    params = {"tok": rng.standard_normal((V, d), dtype=np.float32),
              "pos": rng.standard_normal((L, d), dtype=np.float32), "blocks": blocks, "ln": ln_init()}
    params = jax.tree_util.tree_map(jnp.asarray, params)
    mask = jnp.triu(jnp.ones((L, L), bool), 1)

    def layer_norm(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / jnp.sqrt(var + 1e-5) * p["g"] + p["b"]

    def linear(x, p):
        return x @ p["w"].T + p["b"]

    def block(x, p):
        B = x.shape[0]
        q, k, v = (t.reshape(B, L, heads, d // heads).transpose(0, 2, 1, 3)
                   for t in jnp.split(linear(layer_norm(x, p["ln1"]), p["qkv"]), 3, axis=2))
        att = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(d // heads))
        att = jax.nn.softmax(jnp.where(mask, -jnp.inf, att), axis=-1)
        x = x + linear((att @ v).transpose(0, 2, 1, 3).reshape(B, L, d), p["proj"])
        return x + linear(jax.nn.gelu(linear(layer_norm(x, p["ln2"]), p["fc"]), approximate=False), p["out"])

    def loss_fn(p, idx, tgt):
        x = p["tok"][idx] + p["pos"][None]
        for b in p["blocks"]:
            x = block(x, b)
        logits = layer_norm(x, p["ln"]) @ p["tok"].T
        return _jax_cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))

    idx, tgt = (jnp.asarray(a) for a in _gpt_batch())
    return _jax_train_step(loss_fn, params, (idx, tgt), weight_decay=1e-2)


def jax_chain_step(n: int) -> Callable[[], object]:
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    x, w = (jnp.asarray(rng.standard_normal(n, dtype=np.float32)) for _ in range(2))
    f = jax.jit(jax.value_and_grad(lambda x, w: (jnp.tanh(x * w + x) * 2 - w).sum(), argnums=(0, 1)))
    return lambda: jax.block_until_ready(f(x, w))


def jax_reduction_step(name: str, dim: int) -> Callable[[], object]:
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2048, 2048), dtype=np.float32))
    g = rng.standard_normal((2048, 2048), dtype=np.float32)
    seed = jnp.asarray(g if name == "softmax" else g.sum(axis=dim))
    fn = {"sum": lambda x: x.sum(dim), "amax": lambda x: x.max(dim),
          "softmax": lambda x: jax.nn.softmax(x, axis=dim)}[name]
    f = jax.jit(lambda x, s: jax.vjp(fn, x)[1](s)[0])
    return lambda: f(x, seed).block_until_ready()


# ----------------------------------------------------------------------------------------
# The table: workload name -> row label and how each library builds its step
# ----------------------------------------------------------------------------------------

def steps(workload: str, lib: str, T) -> dict[str, Callable[[], object]]:
    """``{row label: step}`` for ``workload`` in ``lib`` (``T``: the module; None for jax)."""
    jax = lib == "jax"
    if workload in CHAIN_SIZES:
        n = CHAIN_SIZES[workload]
        return {f"tanh chain fwd+bwd {n}": jax_chain_step(n) if jax else chain_step(T, n)}
    if workload in ("mlp", "cnn"):
        batch = 256 if workload == "mlp" else 64
        step = jax_classifier_step(workload) if jax else classifier_step(T, workload)
        return {f"{workload} training step batch {batch} (Adam)": step}
    if workload == "gpt":
        label = "GPT step 2x128, 4 heads, 16x64 tokens (AdamW)"
        return {label: jax_gpt_step() if jax else gpt_step(T)}
    if workload == "reductions":
        return {f"{name} dim={dim} fwd+bwd 2048x2048": jax_reduction_step(name, dim) if jax
                else reduction_step(T, name, dim) for name, dim in REDUCTIONS}
    if workload in SEQUENCE:  # bench_sequence.py's steps; no JAX version of these
        from benchmarks import bench_sequence as bs

        label = SEQUENCE[workload]
        if jax:
            return {}
        if workload == "lstm_lm":
            return {label: bs.lstm_lm_step(T)}
        return {label: bs.sdpa_step(T, workload == "sdpa_causal")}
    if workload == "gpt_sdpa":  # no JAX version: its GPT step is the same computation as gpt's
        return {} if jax else {GPT_SDPA: gpt_sdpa_step(T)}
    raise ValueError(f"unknown workload {workload!r}")


SEQUENCE = {"lstm_lm": "LSTM LM step 2x256, seq 35, batch 20 (SGD + clipping)",
            "sdpa": "SDPA fwd+bwd 4x8x1024x64", "sdpa_causal": "SDPA causal fwd+bwd 4x8x1024x64"}
WORKLOADS = (*CHAIN_SIZES, "mlp", "cnn", "gpt", "reductions", *SEQUENCE)


# ----------------------------------------------------------------------------------------
# The GPT step with attention as F.scaled_dot_product_attention (the fused kernel)
# ----------------------------------------------------------------------------------------

GPT_SDPA = "GPT step with F.scaled_dot_product_attention (is_causal), else as gpt"


def _sdpa_block_forward(F, block, x, mask):
    """The GPT block of ``_gpt_model`` with its attention as one fused, causal SDPA call
    (``mask``, the same causal mask, is not needed)."""
    d, heads = GPT["d"], GPT["heads"]
    B, L, _ = x.shape
    q, k, v = (t.view(B, L, heads, d // heads).transpose(1, 2)
               for t in block.qkv(block.ln1(x)).split(d, dim=2))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    x = x + block.proj(y.transpose(1, 2).reshape(B, L, d))
    return x + block.out(F.gelu(block.fc(block.ln2(x))))


def gpt_sdpa_step(T, with_model: bool = False):
    """``gpt_step`` (same weights, batch and AdamW) with fused attention in every block."""
    import functools
    import types

    step, model = gpt_step(T, with_model=True)
    for block in model.blocks:
        block.forward = types.MethodType(functools.partial(_sdpa_block_forward, T.nn.functional), block)
    return (step, model) if with_model else step


WORKLOADS = (*WORKLOADS, "gpt_sdpa")
