"""The deployment notebook on the rtl backend: the same cells the board runs, with the
accelerator simulated in Verilator (a small model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bnnfpga.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn"


def test_notebook_runs_headless_on_the_rtl_backend(tmp_path, run_notebook):
    np.save(tmp_path / "x.npy", np.load(EXAMPLE / "test_images.npy")[:8])
    np.save(tmp_path / "y.npy", np.load(EXAMPLE / "test_labels.npy")[:8])
    out = tmp_path / "out"
    assert main(["compile", str(EXAMPLE / "model.onnx"), "-o", str(out), "--inputs", str(tmp_path / "x.npy"),
                 "--labels", str(tmp_path / "y.npy")]) == 0
    text = run_notebook(out / "deploy", "rtl")
    assert "backend rtl" in text and "8 frames, every logit equal to the golden model's" in text
    for figure in ("samples.png", "throughput.png"):
        assert (out / "deploy" / figure).read_bytes().startswith(b"\x89PNG"), figure
