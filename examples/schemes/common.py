"""Shared by the scheme examples: scikit-learn's digits, a three-layer MLP with the scheme's
layers, training with bnnfpga.nn's loop, the ONNX export, and what bnnfpga makes of it
(golden model against onnxruntime on the held-out digits, the folding for a board)."""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from bnnfpga import api
from bnnfpga.boards import load_board
from bnnfpga.nn import INQ_SCHEDULE, quantize_fraction
from bnnfpga.nn.train import accuracy, train_classifier
from bnnfpga.verify import run_onnxruntime

WIDTHS = (64, 128, 64, 10)


def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_train, x_test (uint8 pixels 0..16, 64 per digit), y_train, y_test: 70/30, fixed."""
    data = load_digits()
    return train_test_split(data.data.astype(np.uint8), data.target, test_size=0.3, random_state=0)


class Scaled(nn.Module):
    """Pixels 0..16 → 0..1 in front of the network (an input affine that bnnfpga folds)."""

    def forward(self, x):
        return x / 16


def mlp(linear, activation, widths=WIDTHS) -> nn.Sequential:
    """widths[0] → … → widths[-1]: ``linear(in, out)`` layers, each followed by batchnorm and,
    but for the last, ``activation()``."""
    layers: list[nn.Module] = [Scaled()]
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers += [linear(a, b), nn.BatchNorm1d(b)]
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def train(model: nn.Module, epochs: int) -> nn.Module:
    x_train, _, y_train, _ = digits()
    torch.manual_seed(0)
    return train_classifier(model, x_train.astype(np.float32), y_train, epochs=epochs)


def train_inq(model: nn.Module, epochs: int) -> nn.Module:
    """INQ: train in float, then quantize and freeze 50%, 75%, 87.5% and 100% of each layer's
    weights (largest first), retraining the rest in between."""
    train(model, epochs)
    for fraction in INQ_SCHEDULE:
        quantize_fraction(model, fraction)
        if fraction < 1:
            train(model, max(1, epochs // 2))
    return model.eval()


@dataclass
class Outcome:
    name: str
    weights: str  # the weight types bnnfpga read, per layer
    activations: str
    accuracy: float  # onnxruntime, held-out digits
    same_predictions: bool  # golden and onnxruntime agree on every held-out digit
    fps: float
    lut: float
    ff: float
    bram: float
    dsp: float


def evaluate(name: str, model: nn.Module, directory: Path, board: str = "pynq-z2",
             target_fps: float | None = None) -> Outcome:
    """Export ``model``, read it with bnnfpga, compare with onnxruntime, fold it for ``board``
    (the fastest folding that fits, or the cheapest reaching ``target_fps``)."""
    _, x_test, _, y_test = digits()
    path = directory / f"{name}.onnx"
    torch.onnx.export(model.eval(), (torch.zeros(1, 64),), str(path), dynamo=False, opset_version=13,
                      input_names=["x"], dynamic_axes={"x": {0: "n"}})
    graph = api.load(path)
    ours = api.predict(graph, x_test)
    exported = onnx.load(str(path))
    reference = run_onnxruntime(exported, x_test, [])[exported.graph.output[0].name]
    design = api.fold_for_board(graph, load_board(board), target_fps=target_fps).estimate
    dots = [n for n in graph.nodes if hasattr(n.op, "weight_dtype")]
    types = graph.types()
    totals = design.totals
    return Outcome(name, "/".join(_weight_kind(n.op) for n in dots),
                   "/".join(str(types[n.inputs[0]].dtype) for n in dots[1:]),
                   accuracy(reference, y_test), bool(np.array_equal(ours.argmax(1), reference.argmax(1))),
                   design.fps, totals["lut"], totals["ff"], totals["bram36"], totals["dsp"])


def _weight_kind(op) -> str:
    if op.bases is not None:
        return f"{len(op.bases)} bases"
    if op.residual_order:
        return f"{op.weight_dtype} HORQ{op.residual_order}"
    return str(op.weight_dtype) + ("+gains" if op.gains is not None else "")


def main(name: str, build, train_model=train, default_epochs: int = 15, argv: list[str] | None = None) -> Outcome:
    parser = argparse.ArgumentParser(description=f"train the {name} example on digits and compile it")
    parser.add_argument("--epochs", type=int, default=default_epochs)
    parser.add_argument("--board", default="pynq-z2")
    parser.add_argument("-o", "--out", type=Path, help="keep the ONNX file in this directory")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the initial weights: the same result whatever ran before
    model = train_model(build(), args.epochs)
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.out or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        outcome = evaluate(name, model, directory, args.board)
    print(f"{name}: weights {outcome.weights}, activations {outcome.activations}")
    print(f"  accuracy {100 * outcome.accuracy:.1f}% on {len(digits()[1])} held-out digits "
          f"(golden and onnxruntime agree on every one: {outcome.same_predictions})")
    print(f"  {args.board}: {outcome.fps:,.0f} frames/s, {outcome.lut:,.0f} LUT, {outcome.bram:g} BRAM36, "
          f"{outcome.dsp:g} DSP")
    return outcome
