"""`bnnfpga estimate` (table and --json) and the compile report's plots (OUT/report.html)."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bnnfpga.cli import main

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "digits_cnn" / "model.onnx"


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def test_estimate_json_has_the_documented_keys(capsys):
    assert run_cli("estimate", MODEL, "--board", "pynq-z2", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert {"board", "clock_mhz", "fps", "latency_us", "totals", "budget", "layers"} <= out.keys()
    assert out["board"] == "pynq-z2" and out["clock_mhz"] == 100.0
    for key in ("totals", "budget"):
        assert {"lut", "ff", "bram36", "dsp"} <= out[key].keys()
    assert out["totals"]["lut"] * (1 + out["margin"]) <= out["budget"]["lut"] == pytest.approx(0.8 * 53200)
    assert 0 < out["margin"] < 0.5
    dot_products = [layer for layer in out["layers"] if layer["pe"] is not None]
    assert len(dot_products) == 4
    for layer in out["layers"]:
        assert {"name", "pe", "simd", "weights", "cycles", "lut", "ff", "bram36"} <= layer.keys()
        assert layer["weights"] in ("lut", "bram", "const", "-")
    slowest = max(layer["cycles"] for layer in out["layers"])
    assert out["fps"] == pytest.approx(100e6 / slowest, rel=1e-4)
    assert out["totals"]["lut"] == pytest.approx(sum(layer["lut"] for layer in out["layers"]), abs=1)


def test_estimate_table_target_and_clock(capsys):
    assert run_cli("estimate", MODEL, "--fps", "20000", "--clock", "150") == 0
    text = capsys.readouterr().out
    assert re.search(r"frames/s at 150 MHz: [\d,]+", text)
    assert "target 20,000 frames/s" in text
    fps = float(re.search(r"frames/s at 150 MHz: ([\d,]+)", text).group(1).replace(",", ""))
    assert fps >= 20000


def test_estimate_errors_are_clear(capsys):
    assert run_cli("estimate", MODEL, "--fps", "1e9") == 2
    err = capsys.readouterr().err
    assert "cycles per frame" in err and "at most" in err
    assert run_cli("estimate", MODEL, "--utilisation", "0") == 2
    assert "utilisation" in capsys.readouterr().err
    assert run_cli("estimate", MODEL, "--fold", "nope=1,1") == 2
    assert "unknown layers" in capsys.readouterr().err
    assert run_cli("estimate", MODEL, "--margin", "1.5") == 2
    assert "margin" in capsys.readouterr().err
    assert run_cli("estimate", MODEL, "--fold", "x=1,1,flash") == 2
    assert "MEMORY one of auto, lut, bram" in capsys.readouterr().err


def test_estimate_table_states_the_margin_and_weight_memory(capsys):
    assert run_cli("estimate", MODEL, "--margin", "0.25") == 0
    text = capsys.readouterr().out
    assert "plus a 25.0% margin" in text
    assert text.splitlines()[0].split()[4] == "weights"


def test_estimate_as_a_process_prints_progress_on_stderr(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bnnfpga.cli", "estimate", str(MODEL), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)
    assert "folding search" in proc.stderr


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            a = dict(attrs)
            self.sources.append((a.get("alt", ""), a.get("src", "")))


def test_compile_report_html_embeds_the_plots(tmp_path):
    import matplotlib.image

    out = tmp_path / "out"
    assert run_cli("compile", MODEL, "-o", out, "--vectors", "2") == 0
    page = (out / "report.html").read_text()
    parser = _Images()
    parser.feed(page)
    alts = [alt for alt, _ in parser.sources]
    assert alts == ["resources per layer", "cycles per layer", "frames/s vs LUT"]
    for alt, src in parser.sources:
        assert src.startswith("data:image/png;base64,"), alt  # self-contained: no external files
        png = base64.b64decode(src.split(",", 1)[1])
        image = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert image.shape[0] > 100 and image.shape[1] > 300, (alt, image.shape)
        assert image[..., :3].std() > 0.05, f"{alt}: a blank image"
    assert "frames/s at 100 MHz" in page and "<table>" in page
