"""The command line: compile output, determinism, predict, and clear errors on bad input."""

from __future__ import annotations

import filecmp
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from bnnfpga import api
from bnnfpga.cli import main
from bnnfpga.nn import BinaryConv2d, BinaryLinear, BinarySign
from tests.models import export_module

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "digits_cnn"


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_compile_writes_ir_report_and_vectors(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_cli("compile", EXAMPLE / "model.onnx", "--board", "pynq-z2", "-o", out) == 0
    assert (out / "ir.json").is_file() and (out / "report.md").is_file()
    manifest = json.loads((out / "vectors" / "manifest.json").read_text())
    files = {t["file"] for t in manifest["tensors"]}
    assert {"input_stream.npy", "output_acc.npy", "output_logits.npy"} <= files
    assert any(f.startswith("act_") for f in files)
    # The vectors are what the folded IR computes, and the IR round-trips through ir.json.
    graph = api.load_graph(out)
    x = np.load(out / "vectors" / "input_nchw.npy")
    np.testing.assert_array_equal(api.predict(graph, x), np.load(out / "vectors" / "output_logits.npy"))
    report = (out / "report.md").read_text()
    assert "| layer |" in report and "MACs per frame" in report
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary directory left behind"


def test_compile_is_byte_identical(tmp_path, exported):
    model = exported("small_cnn", "dynamo")
    for name in ("a", "b"):
        assert run_cli("compile", model, "-o", tmp_path / name, "--vectors", "4") == 0
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a)
    cmp = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not cmp.diff_files


def test_predict_matches_onnx_output_shape(tmp_path, exported, capsys):
    model = exported("small_cnn", "legacy")
    x = api.random_inputs(api.load(model).input_type, 5)
    np.save(tmp_path / "x.npy", x)
    assert run_cli("predict", model, tmp_path / "x.npy", "-o", tmp_path / "y.npy") == 0
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (5, 10) and y.dtype == np.float32


def test_inspect_prints_one_row_per_layer(exported, capsys):
    assert run_cli("inspect", exported("small_cnn", "legacy")) == 0
    out = capsys.readouterr().out
    header, rule, *rows = out.strip().splitlines()
    for column in ("op", "MACs", "accumulator", "thresholds", "flipped", "const"):
        assert column in header
    assert len([r for r in rows if not r.startswith("note")]) == 5  # 3 conv + 2 dense


def test_verify_cli_passes_and_installed_entry_point_works(tmp_path):
    proc = subprocess.run(
        ["bnnfpga", "verify", str(EXAMPLE / "model.onnx"), "--inputs", str(EXAMPLE / "test_images.npy")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS: 64 frames" in proc.stdout


# -- bad input: one clear message, exit 2, no output directory --------------------------------

class SoftmaxInTheMiddle(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = BinaryLinear(16, 8), BinaryLinear(8, 4)

    def forward(self, x):
        return self.b(torch.softmax(self.a(x), dim=1))


class HardswishInTheMiddle(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = BinaryLinear(16, 8), BinaryLinear(8, 4)

    def forward(self, x):
        return self.b(nn.functional.hardswish(self.a(x)))


class WithLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 4, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0].flatten(1)


class FloatConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.sign = nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4), BinarySign()

    def forward(self, x):
        return self.sign(self.bn(self.conv(x)))


def _bad_models(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = EXAMPLE / "model.onnx"
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    not_onnx = tmp_path / "notes.onnx"
    not_onnx.write_text("this is not a model\n")
    torch.manual_seed(0)
    dynamic = export_module(nn.Sequential(BinaryConv2d(1, 4, 3), nn.BatchNorm2d(4), BinarySign()), (1, 8, 8),
                            tmp_path / "dynamic.onnx", dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}})
    return {
        "truncated": (truncated, "not a readable ONNX file"),
        "not_onnx": (not_onnx, "not a readable ONNX file"),
        "softmax": (export_module(SoftmaxInTheMiddle(), (16,), tmp_path / "softmax.onnx"),
                    "(Softmax, opset 13): a classifier head (Softmax, LogSoftmax, ArgMax, TopK) must end the graph"),
        "hardswish": (export_module(HardswishInTheMiddle(), (16,), tmp_path / "hardswish.onnx", opset_version=14),
                      "(HardSwish, opset 14)"),
        "lstm": (export_module(WithLSTM(), (3, 4), tmp_path / "lstm.onnx"), "node '/lstm/LSTM' (LSTM, opset 13)"),
        "float_weights": (export_module(FloatConv(), (1, 8, 8), tmp_path / "float.onnx"), "weights are not binary"),
        "dynamic_shape": (dynamic, "dynamic dimension"),
        "missing": (tmp_path / "nope.onnx", "no such file"),
    }


@pytest.mark.parametrize("case", ["truncated", "not_onnx", "softmax", "lstm", "float_weights", "dynamic_shape", "missing"])
def test_bad_model_gives_clear_error_and_no_output(tmp_path, case):
    model, expected = _bad_models(tmp_path)[case]
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "bnnfpga.cli", "compile", str(model), "-o", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("bnnfpga: error:")]
    assert len(errors) == 1 and proc.stderr.strip().splitlines()[-1] == errors[0], proc.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")], "temporary directory left behind"


def test_unsupported_op_error_names_node_and_supported_ops(tmp_path, capsys):
    model = export_module(HardswishInTheMiddle(), (16,), tmp_path / "hardswish.onnx", opset_version=14)
    assert run_cli("inspect", model) == 2
    err = capsys.readouterr().err
    assert "node '/HardSwish'" in err and "supported on activations:" in err


def test_bad_inputs_to_predict(tmp_path, capsys):
    np.save(tmp_path / "wrong_shape.npy", np.zeros((2, 3, 8, 8), np.uint8))
    np.save(tmp_path / "negative.npy", -np.ones((2, 1, 8, 8), np.int64))
    np.save(tmp_path / "fraction.npy", np.full((2, 1, 8, 8), 0.5))
    for name, message in [("wrong_shape", "the model expects (N, 1, 8, 8)"), ("negative", "must lie in [0, 255]"),
                          ("fraction", "non-integer")]:
        assert run_cli("predict", EXAMPLE / "model.onnx", tmp_path / f"{name}.npy") == 2
        assert message in capsys.readouterr().err


def test_existing_output_is_not_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_cli("compile", EXAMPLE / "model.onnx", "-o", out) == 0
    (out / "stale.txt").write_text("from an earlier run")
    assert run_cli("compile", EXAMPLE / "model.onnx", "-o", out) == 2
    assert (out / "stale.txt").exists()
    assert run_cli("compile", EXAMPLE / "model.onnx", "-o", out, "--force") == 0
    assert not (out / "stale.txt").exists()


def test_force_never_deletes_what_is_not_a_compile_output(tmp_path, monkeypatch, capsys):
    precious = tmp_path / "work"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    model = precious / "model.onnx"
    model.write_bytes((EXAMPLE / "model.onnx").read_bytes())
    monkeypatch.chdir(precious)
    for target in (".", str(tmp_path), str(precious)):
        assert run_cli("compile", model, "-o", target, "--force") == 2
        assert "refusing to replace" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.bin").write_text("x")
    assert run_cli("compile", model, "-o", other, "--force") == 2
    assert (precious / "notes.txt").read_text() == "mine" and model.is_file() and (other / "data.bin").exists()


def test_hostile_onnx_names_become_safe_identifiers(tmp_path):
    import onnx

    model = onnx.load(str(EXAMPLE / "model.onnx"))
    for i, node in enumerate(model.graph.node):
        node.name = ["../../etc/passwd", "a b;c", "", "module", "ü" * 80][i % 5]
    path = tmp_path / "hostile.onnx"
    onnx.save(model, str(path))
    graph = api.load(path)
    import re

    for node in graph.nodes:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,47}", node.name), node.name
    assert len({n.name for n in graph.nodes}) == len(graph.nodes)
    assert os.sep not in "".join(n.name for n in graph.nodes)


def test_predict_and_compile_need_neither_onnxruntime_nor_torch(tmp_path):
    """Run-time code is the project's own: block the test-only packages and run the CLI."""
    script = (
        "import sys\n"
        "for name in ('onnxruntime', 'torch', 'qonnx', 'sklearn'):\n"
        "    sys.modules[name] = None  # any import of them raises ImportError\n"
        "from bnnfpga.cli import main\n"
        f"rc1 = main(['predict', {str(EXAMPLE / 'model.onnx')!r}, {str(EXAMPLE / 'test_images.npy')!r}, '-o', {str(tmp_path / 'y.npy')!r}])\n"
        f"rc2 = main(['compile', {str(EXAMPLE / 'model.onnx')!r}, '-o', {str(tmp_path / 'out')!r}])\n"
        "sys.exit(rc1 or rc2)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    labels = np.load(EXAMPLE / "test_labels.npy")
    assert (np.load(tmp_path / "y.npy").argmax(1) == labels).mean() > 0.9


def test_verify_with_labels_reports_top1_side_by_side(capsys):
    """The example's 64 labelled test digits: the reference's and golden's top-1, computed
    here independently, and their agreement."""
    images, labels = EXAMPLE / "test_images.npy", EXAMPLE / "test_labels.npy"
    assert run_cli("verify", EXAMPLE / "model.onnx", "--inputs", images, "--labels", labels) == 0
    out = capsys.readouterr().out
    graph = api.load(EXAMPLE / "model.onnx")
    correct = int(np.sum(api.predict(graph, np.load(images)).argmax(1) == np.load(labels)))
    assert re.search(rf"reference \(onnxruntime\)\s+[\d.]+%\s+{correct}/64", out), out
    assert re.search(rf"golden\s+[\d.]+%\s+{correct}/64", out), out
    assert "agreement: 64/64 frames" in out


def test_verify_labels_need_matching_inputs(tmp_path, capsys):
    labels = tmp_path / "labels.npy"
    np.save(labels, np.zeros(3, np.int64))
    assert run_cli("verify", EXAMPLE / "model.onnx", "--labels", labels) == 2
    assert "--labels needs --inputs" in capsys.readouterr().err
    assert run_cli("verify", EXAMPLE / "model.onnx", "--inputs", EXAMPLE / "test_images.npy", "--labels", labels) == 2
    assert "expected 64 labels" in capsys.readouterr().err
