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


def fake_pynq(graph, log: list | None = None):
    """A stand-in for the pynq package whose AXI DMA is the golden model, as the board's DMA
    behaves: the receive channel's transfer ends at TLAST, which the accelerator raises after
    every frames_per_last-th frame (its AXI-Lite register). ``log`` collects (channel, words)
    per transfer."""
    from bnnfpga.hw import streams

    class Buffer(np.ndarray):
        def flush(self):
            pass

        def invalidate(self):
            pass

        def freebuffer(self):
            pass

    class Accelerator:
        FRAMES_PER_LAST = 0x10

        def __init__(self):
            self.registers = {}
            self.register_map = types.SimpleNamespace(frames_per_last=types.SimpleNamespace(address=self.FRAMES_PER_LAST))

        def write(self, address, value):
            self.registers[address] = int(value)

    class Channel:
        def __init__(self, dma, send):
            self.dma, self.send = dma, send
            self.buffer = None

        def transfer(self, buffer):
            if log is not None:
                log.append(("send" if self.send else "receive", buffer.size))
            if self.send:
                x = streams.unpack_stream(np.array(buffer).reshape(-1, self.dma.in_words), graph.input_type)
                words = streams.accumulator_stream(api.stream_of_levels(graph, x, "golden")).astype(np.int32).reshape(len(x), -1)
                batch = max(1, self.dma.accelerator.registers.get(Accelerator.FRAMES_PER_LAST, 1))
                self.dma.packets = [words[i:i + batch].reshape(-1) for i in range(0, len(x), batch)]  # one per TLAST
                if self.dma.recvchannel.buffer is not None:
                    self.dma.recvchannel.deliver()
            else:
                self.buffer = buffer
                if self.dma.packets:
                    self.deliver()

        def deliver(self):
            packet = self.dma.packets.pop(0)
            assert packet.size <= self.buffer.size, "the receive buffer is smaller than the packet"
            self.buffer[: packet.size] = packet
            self.buffer = None

        def wait(self):
            pass

    class Dma:
        def __init__(self, accelerator):
            self.packets, self.in_words, self.accelerator = [], 64, accelerator
            self.sendchannel, self.recvchannel = Channel(self, True), Channel(self, False)

    class Overlay:
        def __init__(self, bitfile):
            assert Path(bitfile).name.endswith(".bit")
            self.accelerator = Accelerator()
            self.dma = Dma(self.accelerator)

    module = types.ModuleType("pynq")
    module.Overlay = Overlay
    module.allocate = lambda shape, dtype: np.zeros(shape, dtype).view(Buffer)
    return module


def test_pynq_backend_moves_a_batch_per_dma_transfer(out, monkeypatch):
    """One send and one receive transfer per batch (TLAST closes the batch), buffers kept
    for the next batch of the same size, outputs as the golden model's."""
    graph = api.load_graph(out)
    log = []
    monkeypatch.setitem(sys.modules, "pynq", fake_pynq(graph, log))
    driver = load_driver(out)
    accel = driver.Accelerator(backend="pynq")
    x = np.load(EXAMPLE / "test_images.npy")[:40]
    np.testing.assert_array_equal(accel.run(x), api.predict(graph, x))
    assert log == [("receive", 40 * 10), ("send", 40 * accel._device.in_words)]
    buffers = accel._device._src, accel._device._dst
    np.testing.assert_array_equal(accel.run(x[::-1]), api.predict(graph, x[::-1]))
    assert accel._device._src is buffers[0] and accel._device._dst is buffers[1], "a batch of the same size reuses its buffers"
    assert accel._device.accelerator.registers[0x10] == 40
    report = accel.throughput(8, batch=4)
    assert report["fps"] > 0 and report["batch"] == 4


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
