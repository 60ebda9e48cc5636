"""Missing tools give a clear message that says what to install (and exit 2 in the CLI)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from bnnfpga import toolchain
from bnnfpga.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn"


def test_missing_gxx(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(toolchain.ToolMissing, match="g\\+\\+ not found: install"):
        toolchain.gxx()


def test_missing_ap_types(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "hls4ml" else real(name, *a))
    with pytest.raises(toolchain.ToolMissing, match="pip install hls4ml"):
        toolchain.ap_types_dir()


def test_cli_reports_a_missing_compiler_with_exit_2(monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    rc = main(["verify", str(EXAMPLE / "model.onnx"), "--inputs", str(EXAMPLE / "test_images.npy"), "--backend", "hls"])
    assert rc == 2
    assert "g++ not found" in capsys.readouterr().err


def test_ap_types_found_without_importing_hls4ml():
    import sys

    sys.modules.pop("hls4ml", None)
    try:
        path = toolchain.ap_types_dir()
    except toolchain.ToolMissing:
        pytest.skip("hls4ml not installed")
    assert (path / "ap_int.h").is_file()
    assert "hls4ml" not in sys.modules
