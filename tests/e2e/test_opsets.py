"""Old and new opsets: models exported by torch's legacy exporter at every opset it writes
(9 to 20) and by the dynamo exporter (18, 21), and a hand-built QONNX MLP at opsets 7 to 13,
carrying the shape arithmetic of old exports (Shape → Gather → Unsqueeze → Concat → Reshape,
Constant nodes, Squeeze/Unsqueeze/ReduceMean axes as attributes or inputs, Not(Less) for >=).
The frontend evaluates every constant subgraph at the model's opset; golden must agree with
the reference on every layer."""

from __future__ import annotations

import onnx
import pytest

from bnnfpga import api
from bnnfpga.errors import ModelError
from bnnfpga.ir.ops import Reshape
from bnnfpga.verify import verify_model
from tests.models import export_old_idioms
from tests.onnx_graphs import old_opset_qonnx_mlp

FLATTENS = ("view", "squeeze", "mean")


def check_agrees(path):
    graph = api.load(path)
    result = verify_model(path, graph, api.random_inputs(graph.input_type, 24, seed=4))
    assert result.ok, "\n" + result.table()
    assert [r for r in result.rows if r.kind == "activation"], "hidden activations must be compared"
    return graph


@pytest.mark.parametrize("flatten", FLATTENS)
@pytest.mark.parametrize("opset", range(9, 21))
def test_legacy_export_at_every_opset(tmp_path, flatten, opset):
    path = export_old_idioms(tmp_path, flatten, opset, dynamo=False)
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
    check_agrees(export_old_idioms(tmp_path, flatten, opset, dynamo=True))


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
    graph = api.load(export_old_idioms(tmp_path, "squeeze", 11, dynamo=False))
    assert graph.types()[graph.output_name].shape == (10,)
    assert graph.input_type.shape == (3, 8, 8)
