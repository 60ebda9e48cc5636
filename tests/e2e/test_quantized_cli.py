"""Quantized models through the command line: QONNX verify against the qonnx executor, and
quantizer settings no engine has a mode for stop with exit 2, naming the layer, leaving
nothing behind."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from bnnfpga.cli import main
from tests.onnx_graphs import quantized_mlp

pytest.importorskip("qonnx", reason="the qonnx executor is the reference: pip install qonnx (dev extra)")


def run_cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def mlp_path(tmp_path):
    path = tmp_path / "qmlp.onnx"
    onnx.save(quantized_mlp("qonnx.custom_op.general"), path)
    return path


def test_verify_of_a_qonnx_model_uses_the_qonnx_executor(mlp_path, tmp_path, capsys):
    frames = tmp_path / "x.npy"
    np.save(frames, np.random.default_rng(2).integers(0, 32, size=(20, 6)))
    assert run_cli("verify", mlp_path, "--input-bits", "5", "--input-scale", "1/8", "--inputs", frames) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "the qonnx executor" in out and "activation" in out


def test_four_bit_weights_compile(mlp_path, tmp_path):
    """fc2 has 4-bit weights: the MVU takes them as two's complement (W_BITS 4)."""
    out = tmp_path / "out"
    assert run_cli("compile", mlp_path, "--input-bits", "5", "-o", out) == 0
    assert "4-bit two's complement weights" in (out / "hls" / "params" / "fc2.hpp").read_text()
    assert "W_BITS" in (out / "rtl" / "bnnfpga_top.sv").read_text()


def test_eight_bit_weights_compile(tmp_path):
    """8-bit QONNX weights reach the engines as two's complement codes of their width."""
    path = tmp_path / "w8.onnx"
    onnx.save(quantized_mlp("qonnx.custom_op.general", w2_bits=8), path)
    out = tmp_path / "out"
    assert run_cli("compile", path, "--input-bits", "5", "-o", out) == 0
    # the narrowest type that holds the layer's values: these random weights reach ±40
    assert re.search(r"W_BITS\(([5-8])\)", (out / "rtl" / "bnnfpga_top.sv").read_text())


def test_per_channel_activation_scale_into_a_layer_is_named(tmp_path, capsys):
    """A per-channel scale on the activations feeding a layer cannot fold into its integer weights."""
    model = quantized_mlp("qonnx.custom_op.general")
    for init in model.graph.initializer:
        if init.name == "act_scale":
            init.CopyFrom(numpy_helper.from_array(np.linspace(0.5, 1.2, 8).astype(np.float32).reshape(1, 8), "act_scale"))
    path = tmp_path / "per_channel.onnx"
    onnx.save(model, path)
    assert run_cli("inspect", path) == 2
    err = capsys.readouterr().err
    assert "act_quant" in err and "per-channel" in err
