"""`bnnfpga sim`, `predict --backend rtl` and `verify --backend rtl` on the shipped example."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bnnfpga import api
from bnnfpga.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "digits_cnn"


def test_sim_prints_cycles_latency_and_frame_rate_next_to_the_model(tmp_path, capsys):
    out = tmp_path / "out"
    x = np.load(EXAMPLE / "test_images.npy")[:16]
    np.save(tmp_path / "x.npy", x)
    assert main(["compile", str(EXAMPLE / "model.onnx"), "-o", str(out), "--inputs", str(tmp_path / "x.npy")]) == 0
    assert {"bnnfpga_top.sv", "filelist.f", "design.json", "params"} <= {p.name for p in (out / "rtl").iterdir()}
    capsys.readouterr()
    assert main(["sim", str(out), "--pauses"]) == 0
    text = capsys.readouterr().out
    assert text.count("\n15 | ") == 1  # one row per frame
    model = json.loads((out / "rtl" / "design.json").read_text())["cycles_per_frame"]
    assert f"steady state: {model} cycles/frame; cycle model {model}" in text and "+0.0%" in text
    assert f"frames/s at 100 MHz: {100e6 / model:,.0f} measured" in text
    assert "16 frames, bit-exact against the golden model" in text


def test_sim_without_a_compile_output_is_a_clear_error(tmp_path, capsys):
    assert main(["sim", str(tmp_path)]) == 2
    assert "no rtl/design.json" in capsys.readouterr().err


def test_predict_and_verify_with_the_rtl_backend(tmp_path, capsys):
    x = np.load(EXAMPLE / "test_images.npy")[:8]
    np.save(tmp_path / "x.npy", x)
    assert main(["predict", str(EXAMPLE / "model.onnx"), str(tmp_path / "x.npy"), "--backend", "rtl",
                 "-o", str(tmp_path / "y.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), api.predict(api.load(EXAMPLE / "model.onnx"), x))
    capsys.readouterr()
    assert main(["verify", str(EXAMPLE / "model.onnx"), "--inputs", str(tmp_path / "x.npy"), "--backend", "rtl"]) == 0
    assert "PASS: 8 frames, rtl vs golden" in capsys.readouterr().out
