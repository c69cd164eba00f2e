"""Sequence-model benchmarks: one word-language-model training step and fused attention.

* ``lstm_lm``: embedding 256, 2-layer LSTM (hidden 256), decoder to 10000 words; sequence
  35, batch 20; cross-entropy, backward, ``clip_grad_norm_(0.25)`` and a plain SGD update,
  as PyTorch's word-language-model example (target: within 1.5x of torch);
* ``sdpa``: ``F.scaled_dot_product_attention`` forward + backward, batch 4, 8 heads,
  sequence 1024, head dim 64, float32 (target: within 1.0x of torch). ``sdpa_causal``
  the same with ``is_causal=True``.

Both libraries run the same workload from the same weights and data. For the numbers in
the README run each library in its own process (their thread pools disturb each other in
one): ``python -m benchmarks.separate_processes lstm_lm sdpa sdpa_causal --threads 2``; the
memory the attention holds for backward (besides its inputs) and each process's peak
resident set: ``python -m benchmarks.bench_sequence autodiff`` and ``... torch``.
"""

from __future__ import annotations

import numpy as np
import pytest

NTOKEN, EMSIZE, NHID, NLAYERS, BPTT, BATCH = 10000, 256, 256, 2, 35, 20
SDPA_SHAPE = (4, 8, 1024, 64)


def lstm_lm_step(lib, small: bool = False):
    """A training step of the word language model in ``lib``; returns the step function."""
    nn = lib.nn
    ntoken, nhid, bptt = (200, 32, 8) if small else (NTOKEN, NHID, BPTT)

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(ntoken, nhid)
            self.rnn = nn.LSTM(nhid, nhid, NLAYERS)
            self.decoder = nn.Linear(nhid, ntoken)

        def forward(self, x, hidden):
            out, hidden = self.rnn(self.encoder(x), hidden)
            return self.decoder(out).view(-1, ntoken), hidden

    lib.manual_seed(0)
    model = RNNModel()
    rng = np.random.default_rng(0)
    data = lib.from_numpy(rng.integers(0, ntoken, (bptt + 1, BATCH)))
    x, y = data[:-1], data[1:].reshape(-1)
    state = {"hidden": None}

    def step():
        hidden = state["hidden"]
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)
        model.zero_grad()
        out, state["hidden"] = model(x, hidden)
        loss = nn.functional.cross_entropy(out, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        with lib.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-20.0)
        return loss

    return step


def sdpa_inputs(lib, shape=SDPA_SHAPE):
    rng = np.random.default_rng(0)
    q, k, v = (lib.from_numpy(rng.standard_normal(shape, dtype=np.float32)).requires_grad_() for _ in range(3))
    g = lib.from_numpy(rng.standard_normal(shape, dtype=np.float32))
    return q, k, v, g


def sdpa_step(lib, is_causal: bool = False, shape=SDPA_SHAPE):
    """Forward + backward of fused attention in ``lib``; returns the step function."""
    q, k, v, g = sdpa_inputs(lib, shape)
    F = lib.nn.functional

    def step():
        for t in (q, k, v):
            t.grad = None
        F.scaled_dot_product_attention(q, k, v, is_causal=is_causal).backward(g)

    return step


def saved_for_backward_mb(lib, is_causal: bool = False) -> float:
    """MB the attention's graph holds for backward besides its inputs, at the benchmark size
    (torch: its saved-tensor hooks; autodiff: the node's saved tensors and log-sum-exp)."""
    q, k, v, _ = sdpa_inputs(lib)
    F = lib.nn.functional
    inputs = {id(t._data) if lib.__name__ == "autodiff" else t.data_ptr() for t in (q, k, v)}
    if lib.__name__ == "torch":
        seen = {}

        def pack(t):
            seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
        held = sum(n for ptr, n in seen.items() if ptr not in inputs)
    else:
        node = F.scaled_dot_product_attention(q, k, v, is_causal=is_causal).grad_fn
        saved = [t for t in node.saved_tensors if t is not None and id(t._data) not in inputs]
        held = sum(t._data.nbytes for t in saved) + node.lse.nbytes
    return held / 2**20


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("lib", ["autodiff", "torch"])
def test_lstm_lm_step(benchmark, lib, request):
    from benchmarks.common import mode

    small = mode(request.config) != "full"
    benchmark.group = "lstm language model step" + (" (small)" if small else "")
    module = _module(lib, request)
    step = lstm_lm_step(module, small)
    for _ in range(2):
        step()
    benchmark(step)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("lib", ["autodiff", "torch"])
def test_sdpa_fwd_bwd(benchmark, lib, causal, request):
    from benchmarks.common import mode

    shape = SDPA_SHAPE if mode(request.config) == "full" else (2, 2, 256, 32)
    benchmark.group = f"sdpa fwd+bwd {'x'.join(map(str, shape))}" + (" causal" if causal else "")
    step = sdpa_step(_module(lib, request), causal, shape)
    step()
    benchmark(step)


def _module(lib: str, request):
    if lib == "autodiff":
        import autodiff

        return autodiff
    return request.getfixturevalue("torch")


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.bench_sequence autodiff|torch``: in this process alone, the
    attention's memory held for backward and the peak resident set after three fwd+bwd
    steps at the benchmark size (run once per library: the peaks are per process)."""
    import argparse
    import importlib

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("lib", choices=["autodiff", "torch"])
    args = parser.parse_args(argv)
    lib = importlib.import_module(args.lib)
    lib.set_num_threads(2)
    step = sdpa_step(lib)
    for _ in range(3):
        step()
    print(f"{args.lib}: SDPA {'x'.join(map(str, SDPA_SHAPE))} holds {saved_for_backward_mb(lib):.1f} MB for "
          f"backward besides q, k, v; peak resident set {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
