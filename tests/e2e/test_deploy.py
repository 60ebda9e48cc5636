"""OUT/deploy/ off the board: the PYNQ driver packs and unpacks exactly the golden test
vectors, rejects bad frames before touching the hardware, drives a (simulated) PYNQ DMA,
and the demo notebook runs headless on the golden backend with its figures saved."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from bnnfpga import api
from bnnfpga.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "digits_cnn"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = tmp_path_factory.mktemp("deploy") / "out"
    assert main(["compile", str(EXAMPLE / "model.onnx"), "-o", str(out), "--inputs", str(EXAMPLE / "test_images.npy"),
                 "--labels", str(EXAMPLE / "test_labels.npy")]) == 0
    return out


def load_driver(out: Path):
    spec = importlib.util.spec_from_file_location(f"bnnfpga_driver_{id(out)}", out / "deploy" / "driver" / "bnnfpga_driver.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_driver_round_trips_the_golden_vectors(out):
    driver = load_driver(out)
    accel = driver.Accelerator(backend="golden")
    x = np.load(out / "vectors" / "input_nchw.npy")
    stream = np.load(out / "vectors" / "input_stream.npy")
    np.testing.assert_array_equal(accel.pack(x), stream.reshape(len(x), -1))
    acc = accel.unpack(np.load(out / "vectors" / "output_acc.npy"))
    logits = np.load(out / "vectors" / "output_logits.npy")
    np.testing.assert_array_equal(accel.host(acc), logits)
    np.testing.assert_array_equal(accel.run(x), logits)
    assert np.array_equal(accel.predict(x, batch=10), logits.argmax(1))


class CountingDevice:
    calls = 0

    def run(self, words):
        CountingDevice.calls += 1
        raise AssertionError("bad frames reached the hardware")


@pytest.mark.parametrize("frames, words", [
    (np.zeros((2, 1, 8, 9), np.uint8), "shape (N, 1, 8, 8)"),
    (np.zeros((2, 64), np.uint8), "shape (N, 1, 8, 8)"),
    (np.full((2, 1, 8, 8), 0.5), "integer frames"),
    (np.full((2, 1, 8, 8), 256), "[0, 255]"),
    (np.full((2, 1, 8, 8), -1), "[0, 255]"),
])
def test_bad_frames_are_rejected_before_the_hardware(out, frames, words):
    driver = load_driver(out)
    accel = driver.Accelerator(backend="golden")
    accel._device = CountingDevice()
    with pytest.raises(ValueError) as info:
        accel.run(frames)
    assert words in str(info.value) and CountingDevice.calls == 0


def fake_pynq(graph):
    """A stand-in for the pynq package whose AXI DMA is the golden model: the pynq backend's
    buffers, transfers and per-frame receive run as on the board."""
    from bnnfpga.hw import streams

    class Buffer(np.ndarray):
        def flush(self):
            pass

        def invalidate(self):
            pass

        def freebuffer(self):
            pass

    class Channel:
        def __init__(self, dma, send):
            self.dma, self.send = dma, send

        def transfer(self, buffer):
            if self.send:
                self.dma.pending, self.dma.outputs = np.array(buffer), None
            else:  # one frame per transfer: the S2MM channel stops at TLAST
                if self.dma.outputs is None:
                    x = streams.unpack_stream(self.dma.pending.reshape(-1, self.dma.in_words), graph.input_type)
                    acc = api.backend_accumulators(graph, x, "golden")
                    self.dma.outputs = list(streams.accumulator_stream(acc).astype(np.int32))
                buffer[...] = self.dma.outputs.pop(0)

        def wait(self):
            pass

    class Dma:
        def __init__(self):
            self.pending, self.outputs, self.in_words = None, None, 64
            self.sendchannel, self.recvchannel = Channel(self, True), Channel(self, False)

    class Overlay:
        def __init__(self, bitfile):
            assert Path(bitfile).name.endswith(".bit")
            self.dma = Dma()

    module = types.ModuleType("pynq")
    module.Overlay = Overlay
    module.allocate = lambda shape, dtype: np.zeros(shape, dtype).view(Buffer)
    return module


def test_pynq_backend_drives_the_dma(out, monkeypatch):
    graph = api.load_graph(out)
    monkeypatch.setitem(sys.modules, "pynq", fake_pynq(graph))
    driver = load_driver(out)
    accel = driver.Accelerator(backend="pynq")
    x = np.load(EXAMPLE / "test_images.npy")[:5]
    np.testing.assert_array_equal(accel.run(x), api.predict(graph, x))
    assert accel.throughput(4)["fps"] > 0


def test_driver_needs_no_pynq_off_the_board_and_says_which_backends_exist(out):
    driver = load_driver(out)
    with pytest.raises(ValueError, match="'pynq'.*'golden'.*'rtl'"):
        driver.Accelerator(backend="fpga")


def test_notebook_runs_headless_on_the_golden_backend(out, run_notebook, tmp_path):
    import shutil

    deploy = tmp_path / "deploy"
    shutil.copytree(out / "deploy", deploy)
    text = run_notebook(deploy, "golden")
    assert "64 frames, every logit equal to the golden model's; 96.9% top-1 correct" in text
    assert "frames/s" in text
    for figure in ("samples.png", "throughput.png"):
        assert (deploy / figure).read_bytes().startswith(b"\x89PNG"), figure


def test_driver_quantizes_float_input_and_returns_labels(tmp_path, exported):
    """A model on float features: the driver applies the model's input quantizer as the
    compiler does; a label-select model: the driver returns the class indices."""
    pytest.importorskip("brevitas", reason="pip install brevitas (dev extra)")
    from tests.models import brevitas_float_input_model

    path = brevitas_float_input_model(tmp_path, "qonnx")
    assert main(["compile", str(path), "--float-input", "-o", str(tmp_path / "float")]) == 0
    graph = api.load_graph(tmp_path / "float")
    frames = api.random_frames(graph, 16, seed=8)
    accel = load_driver(tmp_path / "float").Accelerator(backend="golden")
    np.testing.assert_array_equal(accel.check(frames), api.accelerator_input(graph, frames))
    np.testing.assert_array_equal(accel.run(frames), api.predict(graph, frames))

    assert main(["compile", str(exported("headed_topk3", "legacy")), "-o", str(tmp_path / "labels")]) == 0
    graph = api.load_graph(tmp_path / "labels")
    x = api.random_frames(graph, 16, seed=8)
    accel = load_driver(tmp_path / "labels").Accelerator(backend="golden")
    labels = accel.run(x)
    assert labels.shape == (16, 3) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, api.predict(graph, x))
    np.testing.assert_array_equal(accel.predict(x), labels[:, 0])
