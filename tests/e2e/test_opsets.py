"""Old and new opsets: models exported by torch's legacy exporter at every opset it writes
(9 to 20) and by the dynamo exporter (18, 21), and a hand-built QONNX MLP at opsets 7 to 13,
carrying the shape arithmetic of old exports (Shape → Gather → Unsqueeze → Concat → Reshape,
Constant nodes, Squeeze/Unsqueeze/ReduceMean axes as attributes or inputs, Not(Less) for >=).
The frontend evaluates every constant subgraph at the model's opset; golden must agree with
the reference on every layer."""

from __future__ import annotations

import onnx
import pytest
import torch
from torch import nn

from bnnfpga import api
from bnnfpga.errors import ModelError
from bnnfpga.ir.ops import Reshape
from bnnfpga.nn import PACT, BinaryConv2d, BinaryLinear, BinarySign, zoo
from bnnfpga.verify import verify_model
from tests.onnx_graphs import old_opset_qonnx_mlp

FLATTENS = ("view", "squeeze", "mean")


class OldExportIdioms(nn.Module):
    """conv → sign (or 2-bit PACT, which needs Round: opset 11) → max-pool → conv → sign →
    a flatten written three ways → dense → batchnorm."""

    def __init__(self, flatten: str, pact: bool):
        super().__init__()
        self.flatten = flatten
        self.features = nn.Sequential(
            BinaryConv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), PACT(2, 2.0) if pact else BinarySign(), nn.MaxPool2d(2),
            BinaryConv2d(8, 12, 3), nn.BatchNorm2d(12), BinarySign(),
        )
        self.classifier = nn.Sequential(BinaryLinear(12 * (4 if flatten == "view" else 1), 10), nn.BatchNorm1d(10))

    def forward(self, x):
        h = self.features(x / 255)
        if self.flatten == "view":  # Shape → Gather → Unsqueeze → Concat → Reshape in old exports
            h = h.view(h.size(0), -1)
        elif self.flatten == "squeeze":  # GlobalAveragePool → Squeeze (axes attribute or input)
            h = nn.functional.adaptive_avg_pool2d(h, 1).squeeze(3).squeeze(2)
        else:  # ReduceMean (axes attribute, or input from opset 18) → Flatten
            h = h.mean((2, 3), keepdim=True).flatten(1)
        return self.classifier(h)


def export(tmp_path, flatten: str, opset: int, dynamo: bool):
    model = zoo.build(OldExportIdioms, seed=2, flatten=flatten, pact=opset >= 11)
    path = tmp_path / "model.onnx"
    x = torch.randint(0, 256, (1, 3, 8, 8)).float()
    # The legacy exporter as old tutorials called it: a dynamic batch axis and no constant
    # folding, so the shape arithmetic stays in the graph.
    legacy = {} if dynamo else {"dynamic_axes": {"x": {0: "batch"}}, "do_constant_folding": False}
    torch.onnx.export(model.eval(), (x,), str(path), dynamo=dynamo, opset_version=opset, input_names=["x"], **legacy)
    return path


def check_agrees(path):
    graph = api.load(path)
    result = verify_model(path, graph, api.random_inputs(graph.input_type, 24, seed=4))
    assert result.ok, "\n" + result.table()
    assert [r for r in result.rows if r.kind == "activation"], "hidden activations must be compared"
    return graph


@pytest.mark.parametrize("flatten", FLATTENS)
@pytest.mark.parametrize("opset", range(9, 21))
def test_legacy_export_at_every_opset(tmp_path, flatten, opset):
    path = export(tmp_path, flatten, opset, dynamo=False)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    if flatten == "view":
        assert {"Shape", "Gather", "Unsqueeze", "Concat", "Reshape"} <= ops, "the old shape subgraph was exported"
    if opset < 12:
        assert "Not" in ops, "x >= 0 is exported as Not(Less) before opset 12"
    graph = check_agrees(path)
    assert sum(isinstance(n.op, Reshape) for n in graph.nodes) <= 1, "shape arithmetic must not reach the IR"


@pytest.mark.parametrize("flatten", FLATTENS)
@pytest.mark.parametrize("opset", (18, 21))
def test_dynamo_export(tmp_path, flatten, opset):
    check_agrees(export(tmp_path, flatten, opset, dynamo=True))


@pytest.mark.parametrize("opset", range(7, 14))
def test_old_qonnx_mlp(tmp_path, opset):
    """IR version 3 (initializers listed as inputs) at opsets 7 and 8, Unsqueeze/Squeeze axes
    as attributes up to opset 12 and as inputs from 13, Gemm with its required bias."""
    path = tmp_path / "tfc_old.onnx"
    onnx.save(old_opset_qonnx_mlp(opset), str(path))
    graph = check_agrees(path)
    assert [type(n.op).__name__ for n in graph.nodes].count("Dense") == 2


def test_unreadable_model_names_node_op_and_opset(tmp_path):
    """An op that has no reading on activations: the error names the node, op and opset."""
    m = old_opset_qonnx_mlp(9)
    fc2 = next(n for n in m.graph.node if n.name == "fc2")
    fc2.op_type = "Hardmax"
    fc2.ClearField("input")
    fc2.input.append("a1")
    path = tmp_path / "bad.onnx"
    onnx.save(m, str(path))
    with pytest.raises(ModelError, match=r"node 'fc2' \(Hardmax, opset 9\)"):
        api.load(path)


def test_constant_subgraph_that_cannot_be_evaluated_names_node_op_and_opset(tmp_path):
    m = old_opset_qonnx_mlp(11)
    gather = next(n for n in m.graph.node if n.name == "gather")
    gather.attribute[0].i = 3  # axis 3 of a 1-D shape vector
    path = tmp_path / "bad.onnx"
    onnx.save(m, str(path))
    with pytest.raises(ModelError, match=r"node 'gather' \(Gather, opset 11\): cannot evaluate") as info:
        api.load(path)
    assert "Traceback" not in str(info.value) and "op_run" not in str(info.value)


def test_squeeze_keeps_the_flatten_shape(tmp_path):
    graph = api.load(export(tmp_path, "squeeze", 11, dynamo=False))
    assert graph.types()[graph.output_name].shape == (10,)
    assert graph.input_type.shape == (3, 8, 8)
