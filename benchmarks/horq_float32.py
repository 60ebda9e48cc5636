"""Where float32 HORQ (onnxruntime) differs from bnnfpga's exact residual binarization.

    python benchmarks/horq_float32.py [--record]

docs/DESIGN.md 5.3: with vectors of n = 2^m values every residual and every β through order
K is a dyadic rational that float32 holds exactly while log2(n·max|x|) + (K − 1)·m ≤ 24, so
onnxruntime takes the same signs as the exact arithmetic; with other n, β_k rounds, and an
element whose |R_(k−1)| equals β_k (R_k = 0 exactly, sign 0) becomes ±1 ulp in float32 and
takes the sign ±1. This script measures how often that changes something on real data: HORQ
MLPs (pixels → 2-bit → HORQ → 2-bit → HORQ → 10, random ±α weights, batchnorm calibrated on
the digits) at orders 1–4, with power-of-two and other widths, and HORQ CNNs with 3×3
fields, each exported by torch's legacy exporter and compared with the golden model layer by
layer on all 1,797 digits. The CNN over 3×3×64 fields at order 4 needs fixed-point gains
(ResidualGainShift, DESIGN 5.3): for it the table also gives the shift F and how many hidden
levels the fixed-point model changes against the exact one (the folded graph before that pass).
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

from bnnfpga import api
from bnnfpga.golden.executor import execute
from bnnfpga.ir.ops import DotProduct, Threshold
from bnnfpga.nn import FakeQuant, HORQConv2d, HORQLinear, UniformActivation, XNORConv2d, XNORLinear
from bnnfpga.nn.train import calibrate_batchnorm
from bnnfpga.report import format_table
from bnnfpga.verify import verify_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402


def mlp(hidden: tuple[int, int], order: int) -> nn.Module:
    a, b = hidden
    return nn.Sequential(XNORLinear(64, a), nn.BatchNorm1d(a), FakeQuant(2, 0.5),
                         HORQLinear(a, b, order=order), nn.BatchNorm1d(b), FakeQuant(2, 0.5),
                         HORQLinear(b, 10, order=order))


def cnn(order: int, channels: int = 8, classifier_order: int | None = None) -> nn.Module:
    return nn.Sequential(XNORConv2d(1, channels, 3, padding=1), nn.BatchNorm2d(channels), UniformActivation(2, 3.0),
                         nn.MaxPool2d(2), HORQConv2d(channels, 16, 3, padding=1, order=order), nn.BatchNorm2d(16),
                         UniformActivation(2, 3.0), nn.MaxPool2d(2), nn.Flatten(),
                         HORQLinear(64, 10, order=classifier_order or order))


def measure(label: str, model: nn.Module, shape: tuple[int, ...], directory: Path) -> list[str]:
    frames = load_digits().data.astype(np.float32).reshape((-1,) + shape)
    calibrate_batchnorm(model, frames[:512])
    path = directory / f"{label.replace(' ', '_')}.onnx"
    torch.onnx.export(model.eval(), (torch.zeros((1,) + shape),), str(path), dynamo=False, opset_version=13)
    stages = {}
    graph = api.load(path, on_stage=lambda name, g: stages.__setitem__(name, g))
    dots = [n.op for n in graph.nodes if isinstance(n.op, DotProduct) and n.op.residual_order]
    sizes = [op.fan_in for op in dots]
    shifts = [op.residual_gain_shift for op in dots]
    x = frames.astype(np.uint8)
    exact_vs_fixed = "—"
    if any(shifts):
        exact, fixed = (execute(g, x, keep_all=True) for g in (stages["HostOutputAffine"], graph))
        levels = [n.output for n in graph.nodes if isinstance(n.op, Threshold)]
        exact_vs_fixed = (f"{sum(int((exact[t] != fixed[t]).sum()) for t in levels):,} of "
                          f"{sum(fixed[t].size for t in levels):,}")
    result = verify_model(path, graph, x)
    hidden = [r for r in result.rows if r.kind == "activation"]
    top1 = next(r for r in result.rows if r.kind == "top-1")
    logits = next(r for r in result.rows if r.kind == "logits")
    return [label, ", ".join(map(str, sizes)), ", ".join(map(str, shifts)), exact_vs_fixed,
            f"{sum(r.mismatches for r in hidden):,} of {sum(r.compared for r in hidden):,}", str(top1.mismatches),
            logits.detail]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = [(f"MLP 64-32 order {k}", functools.partial(mlp, (64, 32), k), (64,)) for k in (1, 2, 3, 4)]
    cases += [(f"MLP 48-24 order {k}", functools.partial(mlp, (48, 24), k), (64,)) for k in (1, 2, 3, 4)]
    cases += [(f"CNN 3x3 order {k}", functools.partial(cnn, k), (1, 8, 8)) for k in (1, 2, 3)]
    cases += [("CNN 3x3x64 order 4, 2", functools.partial(cnn, 4, 64, 2), (1, 8, 8))]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, build, shape) in enumerate(cases):
            print(f"[{i + 1}/{len(cases)}] {label}", file=sys.stderr, flush=True)
            torch.manual_seed(i)  # the same weights at every run
            rows.append(measure(label, build(), shape, Path(tmp)))
    table = format_table(["network", "HORQ n", "gain shift F", "fixed vs exact: levels differing",
                          "vs onnxruntime: hidden levels differing", "top-1 differing", "logits"], rows)
    print(table)
    if args.record:
        record("HORQ: float32 (onnxruntime) against exact residual binarization",
               "All 1,797 scikit-learn digits, random ±α weights, batchnorm calibrated on the digits, legacy export "
               "(docs/DESIGN.md 5.3). A gain shift F > 0 is a layer with fixed-point gains; 'fixed vs exact' compares "
               "its hidden levels with the exact model's.\n\n```\n" + table + "\n```")


if __name__ == "__main__":
    main()
