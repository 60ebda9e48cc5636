"""Idioms of models as they are published (issue 21), golden against the reference on the
same ONNX file: a binary-output detector (the last layer ends in a sign), a k-bit output
(Brevitas QuantReLU at the end, QONNX), a QKeras-style MLP with 6-bit weights and 6-bit
activations, classifier heads (Softmax, LogSoftmax, ArgMax, TopK; on the host or as a
label-select engine). The hardware tiers (tests/csim, tests/rtl) run the same models."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga import api
from bnnfpga.cli import main
from bnnfpga.errors import BnnfpgaError, ModelError
from bnnfpga.ir.ops import DotProduct, LabelSelect, Threshold
from bnnfpga.ir.types import BIPOLAR, DType
from bnnfpga.verify import verify_model
from tests.models import brevitas_float_input_model, brevitas_k_bit_output_model

MODES = ("legacy", "dynamo")


def agrees(path, graph, frames=32, **kw):
    result = verify_model(path, graph, api.random_inputs(graph.input_type, frames, seed=9), **kw)
    assert result.ok, "\n" + result.table()
    return result


@pytest.mark.parametrize("mode", MODES)
def test_binary_output_layer(exported, mode):
    path = exported("binary_output", mode)
    graph = api.load(path)
    last = graph.producer(api.accumulator_tensor(graph))
    assert isinstance(last.op, Threshold) and graph.types()[last.output].dtype == BIPOLAR, "the output is ±1"
    agrees(path, graph)
    y = api.predict(graph, api.random_inputs(graph.input_type, 16, seed=2))
    assert set(np.unique(y)) <= {-1.0, 1.0}


def test_k_bit_output_layer(tmp_path):
    pytest.importorskip("brevitas", reason="pip install brevitas (dev extra)")
    from bnnfpga.nn.bnn_pynq import INPUT_SCALE

    path = brevitas_k_bit_output_model(tmp_path)
    graph = api.load(path, input_scale=INPUT_SCALE)
    last = graph.producer(api.accumulator_tensor(graph))
    assert isinstance(last.op, Threshold) and graph.types()[last.output].dtype == DType("uint", 2)
    agrees(path, graph)
    y = api.predict(graph, api.random_inputs(graph.input_type, 64, seed=9))
    assert len(np.unique(y)) == 4, "every output level is reached"


@pytest.mark.parametrize("mode", MODES)
def test_six_bit_weights_and_activations(exported, mode):
    path = exported("qkeras_mlp", mode)
    graph = api.load(path)
    dots = [n for n in graph.nodes if isinstance(n.op, DotProduct)]
    assert [str(n.op.weight_dtype) for n in dots] == ["int6"] * 4
    levels = [graph.types()[n.output].dtype for n in graph.nodes if isinstance(n.op, Threshold)]
    assert levels == [DType("uint", 6)] * 3
    result = agrees(path, graph)
    spread = [r for r in result.rows if r.kind == "activation"]
    assert len(spread) == 3
    values = api.golden.execute(graph, api.random_inputs(graph.input_type, 64, seed=1), keep_all=True)
    for n in graph.nodes:
        if isinstance(n.op, Threshold):
            assert len(np.unique(values[n.output])) > 16, "calibrated: the 6-bit levels are used, not only the ends"


HEADS = ("softmax", "logsoftmax", "argmax", "topk3")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("head", HEADS)
def test_classifier_heads(exported, head, mode):
    """Probabilities within float tolerance, indices exactly. A model returning ArgMax/TopK
    gets a label-select engine by default (its classes share one output scale)."""
    path = exported(f"headed_{head}", mode)
    graph = api.load(path)
    ends_in_labels = isinstance(graph.nodes[-1].op, LabelSelect)
    assert ends_in_labels == (head in ("argmax", "topk3"))
    assert graph.head.kind == ("labels" if ends_in_labels else head)
    result = agrees(path, graph, frames=64)
    assert any(r.kind.startswith(graph.head.kind) for r in result.rows)
    if ends_in_labels:  # the host-side route gives the same answer
        agrees(path, api.load(path, head="logits"), frames=64)


def test_argmax_ties_fall_to_the_lower_index(exported):
    """Binary accumulators tie often: ONNX picks the first maximum, and so must we."""
    path = exported("headed_argmax", "legacy")
    graph = api.load(path, head="logits")
    x = api.random_inputs(graph.input_type, 256, seed=3)
    scores = api.golden.execute(graph, x)[graph.output_name]
    tied = sum(int(np.sum(row == row.max()) > 1) for row in scores)
    assert tied > 5, "the test needs frames whose top scores tie"
    agrees(path, graph, frames=256)
    agrees(path, api.load(path), frames=256)


def test_labels_head_on_a_softmax_model_returns_class_indices(exported):
    path = exported("headed_softmax", "dynamo")
    graph = api.load(path, head="topk=2")
    assert graph.head.kind == "labels" and graph.head.k == 2
    assert any("top 2 class indices" in n for n in graph.notes)
    y = api.predict(graph, api.random_inputs(graph.input_type, 8, seed=1))
    assert y.shape == (8, 2) and y.dtype == np.int64
    agrees(path, graph)  # against the reference's ranking of its probabilities


def test_softmax_behind_a_per_class_batchnorm_stays_on_the_host(exported):
    path = exported("qkeras_softmax", "legacy")
    graph = api.load(path)
    assert graph.head.kind == "softmax" and not isinstance(graph.nodes[-1].op, LabelSelect)
    agrees(path, graph)
    with pytest.raises(ModelError, match=r"OutputAffine.*one output scale and bias.*--head logits"):
        api.load(path, head="labels")


def test_softmax_after_a_final_quantizer(tmp_path):
    pytest.importorskip("brevitas", reason="pip install brevitas (dev extra)")
    from bnnfpga.nn.bnn_pynq import INPUT_SCALE

    path = brevitas_k_bit_output_model(tmp_path, softmax=True)
    graph = api.load(path, input_scale=INPUT_SCALE)
    assert graph.head.kind == "softmax"
    agrees(path, graph)


@pytest.mark.parametrize("option, words", [("topk=0", "expected logits, labels or topk=K"),
                                           ("bogus", "expected logits, labels or topk=K"),
                                           ("topk=11", "the model has 10 classes"),
                                           ("topk=2", "returns its top 1 classes")])
def test_bad_head_options_are_named(exported, option, words, capsys):
    assert main(["inspect", str(exported("headed_argmax", "legacy")), "--head", option]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err, err


def test_compile_says_which_head_it_built(exported, tmp_path, capsys):
    path = exported("headed_topk3", "legacy")
    assert main(["compile", str(path), "-o", str(tmp_path / "out")]) == 0
    assert "[head] the accelerator selects the top 3 class label(s) (label select engine)" in capsys.readouterr().err
    assert "bnn_label_select" in (tmp_path / "out" / "rtl" / "bnnfpga_top.sv").read_text()
    assert "label_select<" in (tmp_path / "out" / "hls" / "top.cpp").read_text()
    with pytest.raises(BnnfpgaError):
        api.choose_head(api.load(path), "topk=x")


def frames_on_rounding_ties(graph, count: int, seed: int) -> np.ndarray:
    """Float frames at odd multiples of half the input quantizer's step (computed in float32
    as the model computes x/scale: many land exactly on a tie), beyond its range too."""
    q = graph.input_quantizer
    rng = np.random.default_rng(seed)
    halves = rng.integers(2 * q.qmin - 4, 2 * q.qmax + 4, size=(count,) + graph.input_type.shape) | 1
    return (halves.astype(np.float32) * np.float32(q.scale[0] / 2)).astype(np.float32)


@pytest.mark.parametrize("form", ("qonnx", "qcdq"))
def test_float_input_quantized_on_the_host(tmp_path, form):
    """Float features in; the host applies the model's own input quantizer (signed 8-bit,
    narrow range, half-to-even rounding) and the accelerator receives the levels."""
    pytest.importorskip("brevitas", reason="pip install brevitas (dev extra)")
    path = brevitas_float_input_model(tmp_path, form)
    graph = api.load(path, float_input=True)
    q = graph.input_quantizer
    assert (q.qmin, q.qmax, q.order) == (-127, 127, "onnx" if form == "qcdq" else "qonnx")
    assert graph.input_type.dtype == DType("int", 8)
    x = api.random_frames(graph, 64, seed=3)
    assert x.dtype == np.float32 and (x.min() < q.float_range()[0] and x.max() > q.float_range()[1]), "clipping exercised"
    result = verify_model(path, graph, x)
    assert result.ok, "\n" + result.table()
    ties = frames_on_rounding_ties(graph, 64, seed=4)
    levels = q.apply(ties)
    assert np.any(levels % 2 == 0) and np.any(levels % 2 == 1), "ties round to even in both directions"
    result = verify_model(path, graph, ties)
    assert result.ok, "\n" + result.table()


def test_float_input_through_the_cli(tmp_path, capsys):
    pytest.importorskip("brevitas", reason="pip install brevitas (dev extra)")
    path = brevitas_float_input_model(tmp_path, "qonnx")
    frames = tmp_path / "features.npy"
    np.save(frames, (np.random.default_rng(0).normal(size=(5, 20)) * 2).astype(np.float32))
    assert main(["predict", str(path), str(frames), "--float-input", "-o", str(tmp_path / "y.npy")]) == 0
    assert np.load(tmp_path / "y.npy").shape == (5, 6)
    assert main(["predict", str(path), str(frames)]) == 2
    assert "--float-input" in capsys.readouterr().err
    assert main(["verify", str(path), "--float-input", "--inputs", str(frames)]) == 0
    out = tmp_path / "out"
    assert main(["compile", str(path), "--float-input", "--inputs", str(frames), "-o", str(out)]) == 0
    vectors = np.load(out / "vectors" / "input_nchw.npy")
    assert vectors.dtype.kind in "iu" and vectors.shape == (5, 20), "the accelerator's vectors are the levels"


def test_float_input_needs_an_input_quantizer(exported, capsys):
    assert main(["inspect", str(exported("mlp", "legacy")), "--float-input"]) == 2
    err = capsys.readouterr().err
    assert "is not read by a quantizer" in err or "float input" in err, err
    assert "Traceback" not in err
