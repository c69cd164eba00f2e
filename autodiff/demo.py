"""``python -m autodiff.demo``: train an MLP and a small CNN on handwritten digits.

The data is scikit-learn's 8x8 digits (1797 images, bundled with scikit-learn: no
download), split 75/25 stratified. Each model trains with Adam and cross-entropy,
showing a progress bar per epoch, then prints its test accuracy and time per epoch.
When torch is installed, the same architecture from the same initial weights is
trained by torch on the same batches, side by side.

    python -m autodiff.demo --model both --epochs 15
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm  # a widget bar when called from a notebook

import autodiff as ad

BATCH = 64
LR = 2e-3


def build(lib, kind: str):
    """The model in ``lib`` (autodiff or torch: the same nn API)."""
    nn = lib.nn
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                             nn.Linear(64, 10))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10))


def load_data():
    """Digits scaled to [0, 1] as (N, 1, 8, 8) float32 images and int64 labels."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    return train_test_split(x, digits.target.astype(np.int64), test_size=0.25, random_state=0,
                            stratify=digits.target)


def train(lib, model, data, epochs: int, seed: int) -> tuple[float, float]:
    """Train ``model`` with library ``lib`` (autodiff, or torch: the same code runs on both);
    return (test accuracy, seconds per epoch)."""
    x_train, x_test, y_train, y_test = data
    data_utils, F = lib.utils.data, lib.nn.functional
    loader = data_utils.DataLoader(
        data_utils.TensorDataset(lib.from_numpy(x_train), lib.from_numpy(y_train)),
        batch_size=BATCH, shuffle=True, generator=lib.Generator().manual_seed(seed))
    opt = lib.optim.Adam(model.parameters(), lr=LR)
    times = []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        bar = tqdm(loader, desc=f"  {lib.__name__:8s} epoch {epoch + 1:2d}/{epochs}", leave=False,
                   unit="batch")
        for x, y in bar:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        times.append(time.perf_counter() - start)
    model.eval()
    with lib.no_grad():
        pred = model(lib.from_numpy(x_test)).argmax(dim=1).numpy()
    return float((pred == y_test).mean()), _epoch_time(times)


def _epoch_time(times: list) -> float:
    """Seconds per epoch, leaving out the first (it includes compiling or loading kernels)."""
    return float(np.median(times[1:] if len(times) > 1 else times))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(ad.get_num_threads())  # the same threads as autodiff's kernels
    except ImportError:
        torch = None
    data = load_data()
    print(f"digits: {len(data[0])} training and {len(data[1])} test images of 8x8, 10 classes")
    for kind in (["mlp", "cnn"] if args.model == "both" else [args.model]):
        ad.manual_seed(args.seed)
        model = build(ad, kind)
        print(f"\n{kind.upper()}: " + repr(model).replace("\n", "\n  "))
        results = {"autodiff": train(ad, model, data, args.epochs, args.seed)}
        if torch is not None:
            ad.manual_seed(args.seed)
            ref = build(torch, kind)
            with torch.no_grad():
                for p, q in zip(build(ad, kind).parameters(), ref.parameters()):
                    q.copy_(torch.from_numpy(p.detach().numpy().copy()))
            results["torch"] = train(torch, ref, data, args.epochs, args.seed)
        for lib, (acc, secs) in results.items():
            print(f"  {lib:8s} test accuracy {acc:6.2%}   {secs * 1000:7.1f} ms/epoch")


if __name__ == "__main__":
    main()
