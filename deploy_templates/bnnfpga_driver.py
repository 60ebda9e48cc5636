"""Driver for a bnnfpga accelerator: ``Accelerator(bitfile, backend=...)``.

Runs on the board with only NumPy and PYNQ (``backend="pynq"``), and off the board with
bnnfpga installed: ``backend="golden"`` (the NumPy golden model behind the same stream
interface) or ``backend="rtl"`` (Verilator simulation of the generated RTL). Every backend
takes the same 64-bit input words and gives the same int32 output words, so packing,
unpacking and the host-side affine below are what the board runs.

accelerator.json (beside this file) describes the stream format: the input tensor (C, H, W)
or (F,) streams pixel by pixel (HWC), each pixel's channels packed little-endian into
64-bit words, k bits per element (1 for bipolar); the output is the last layer's int32
accumulators, pixel-major, one frame per TLAST.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


class Accelerator:
    def __init__(self, bitfile=None, backend: str = "pynq", config=None, rtl_dir=None, ir=None):
        self.config = json.loads(Path(config or HERE / "accelerator.json").read_text())
        self.backend = backend
        inp = self.config["input"]
        self.input_shape = tuple(inp["shape"])
        self.in_words = self.config["in_words"]
        self.out_words = self.config["out_words"]
        if backend == "pynq":
            self._device = _PynqDevice(bitfile or HERE.parent / "bitfile" / f"{self.config['overlay']}.bit",
                                       self.in_words, self.out_words)
        elif backend == "golden":
            self._device = _GoldenDevice(ir or HERE / "ir.json")
        elif backend == "rtl":
            self._device = _RtlDevice(rtl_dir or HERE.parent.parent / "rtl")
        else:
            raise ValueError(f"backend {backend!r}: use 'pynq' (the board), 'golden' or 'rtl'")

    # -- the stream format ----------------------------------------------------------------------

    def check(self, images) -> np.ndarray:
        """Frames (N, *input shape) of integers in the input's range, or a clear error; a model
        with an input quantizer takes float frames and quantizes them as the model does."""
        x = np.asarray(images)
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"expected frames of shape (N, {', '.join(map(str, self.input_shape))}), got {x.shape}")
        if self.config.get("input_quantizer"):
            return self.quantize(x)
        if x.dtype.kind not in "iub":
            if x.dtype.kind != "f" or not np.array_equal(x, np.round(x)):
                raise ValueError(f"expected integer frames, got dtype {x.dtype}")
        lo, hi = self.config["input"]["min"], self.config["input"]["max"]
        if x.size and (x.min() < lo or x.max() > hi):
            raise ValueError(f"input values must lie in [{lo}, {hi}], got [{x.min()}, {x.max()}]")
        return x.astype(np.int64)

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """The model's own input quantizer (docs/DESIGN.md 3.14), in float32 as the model
        computes it: QONNX Quant (x/scale + zp, clip, round; 1-bit: the sign) or ONNX
        QuantizeLinear (round x/scale half to even, + zp, saturate)."""
        q = self.config["input_quantizer"]
        x = np.asarray(x, np.float32)
        view = (1, -1) + (1,) * (x.ndim - 2)
        scale = np.asarray(q["scale"], np.float32).reshape(view if len(q["scale"]) > 1 else ())
        zp = np.asarray(q["zero_point"], np.float32).reshape(view if len(q["zero_point"]) > 1 else ())
        if q["order"] == "onnx":
            return np.clip(np.rint(x / scale) + zp, q["qmin"], q["qmax"]).astype(np.int64)
        y = x / scale + zp
        if q["bipolar"]:
            return np.where(y >= 0, 1, -1).astype(np.int64)
        y = np.clip(y, np.float32(q["qmin"]), np.float32(q["qmax"]))
        half = np.float32(0.5)  # the QONNX rounding modes
        rounding = {"ROUND": np.round, "HALF_EVEN": np.round, "FLOOR": np.floor, "CEIL": np.ceil, "DOWN": np.fix,
                    "UP": lambda v: np.sign(v) * np.ceil(np.abs(v)),
                    "HALF_UP": lambda v: np.sign(v) * np.floor(np.abs(v) + half),
                    "HALF_DOWN": lambda v: np.sign(v) * np.ceil(np.abs(v) - half)}[q["rounding"]]
        return rounding(y).astype(np.int64)

    def pack(self, images) -> np.ndarray:
        """Frames → (N, words per frame) uint64 input words."""
        x = self.check(images)
        n, c = len(x), self.input_shape[0]
        pixels = x.reshape(n, c, -1).transpose(0, 2, 1)  # (N, H·W, C)
        kind, k = self.config["input"]["kind"], self.config["input"]["bits"]
        if kind == "bipolar":
            bits = (pixels > 0).astype(np.uint8)
        else:
            raw = pixels & ((1 << k) - 1)  # two's complement for signed inputs
            bits = ((raw[..., None] >> np.arange(k)) & 1).astype(np.uint8).reshape(n, pixels.shape[1], c * k)
        words = (bits.shape[-1] + 63) // 64
        padded = np.zeros(bits.shape[:-1] + (words * 64,), np.uint8)
        padded[..., : bits.shape[-1]] = bits
        packed = np.packbits(padded, axis=-1, bitorder="little")
        return np.ascontiguousarray(packed).view("<u8").astype(np.uint64).reshape(n, -1)

    def unpack(self, words) -> np.ndarray:
        """(N, output words) int32 → accumulators in ONNX layout (N, C[, H, W])."""
        shape = self.config["output"]["shape"]
        acc = np.asarray(words, dtype=np.int32).reshape((-1,) + tuple(shape[1:]) + (shape[0],))
        return np.moveaxis(acc, -1, 1)

    def host(self, acc: np.ndarray) -> np.ndarray:
        """The host-side nodes (docs/DESIGN.md 3.7): per-class affine, flatten, and the
        model's head (3.13: softmax, log-softmax, argmax/top-k indices, or the indices the
        accelerator's label select found)."""
        y = acc
        for step in self.config["host"]:
            if step["op"] == "affine":
                view = (1, -1) + (1,) * (y.ndim - 2)
                # float64 then float32, as the compiler's host step does: logits equal to the bit
                y = (y * np.asarray(step["scale"], np.float64).reshape(view)
                     + np.asarray(step["bias"], np.float64).reshape(view)).astype(np.float32)
            elif step["op"] == "head":
                y = self._head(y, step)
            else:
                y = y.reshape((y.shape[0],) + tuple(step["shape"]))
        return y

    @staticmethod
    def _head(y: np.ndarray, step: dict) -> np.ndarray:
        kind = step["kind"]
        if kind in ("softmax", "logsoftmax"):
            shifted = y.astype(np.float64) - y.max(axis=1, keepdims=True)
            log_total = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            return (shifted - log_total if kind == "logsoftmax" else np.exp(shifted - log_total)).astype(np.float32)
        if kind == "labels":
            labels = y.astype(np.int64)
        else:  # the largest first, equal scores in index order (as ONNX ArgMax/TopK)
            labels = np.argsort(-y, axis=1, kind="stable")[:, :1 if kind == "argmax" else step["k"]].astype(np.int64)
        return labels if step["keepdims"] or labels.shape[1] > 1 else labels[:, 0]

    @property
    def returns_classes(self) -> bool:
        """Whether run() returns class indices (best first) rather than scores."""
        return any(s["op"] == "head" and s["kind"] in ("argmax", "topk", "labels") for s in self.config["host"])

    # -- running -----------------------------------------------------------------------------------

    def run(self, images) -> np.ndarray:
        """The model's outputs (logits) for frames (N, *input shape)."""
        words = self.pack(images)
        return self.host(self.unpack(self._device.run(words)))

    def predict(self, images, batch: int = 256) -> np.ndarray:
        """Top-1 class per frame, in batches of ``batch`` frames."""
        x = self.check(images)

        def top1(y):
            y = y.reshape(len(y), -1)
            return y[:, 0] if self.returns_classes else y.argmax(1)

        return np.concatenate([top1(self.run(x[i:i + batch])) for i in range(0, len(x), batch)]) \
            if len(x) else np.zeros(0, np.int64)

    def throughput(self, n: int = 256, seed: int = 0, batch: int | None = None) -> dict:
        """Frames/s over ``n`` random frames run in batches of ``batch`` (default: one batch of
        all n), everything included (packing, the DMA transfers, unpacking, the host's
        nodes), and the latency of one frame on its own (seconds)."""
        rng = np.random.default_rng(seed)
        quantizer = self.config.get("input_quantizer")
        if quantizer:  # float frames over the quantizer's range
            scale = np.asarray(quantizer["scale"], np.float64)
            x = rng.uniform(quantizer["qmin"] * scale.min(), quantizer["qmax"] * scale.max(), size=(n,) + self.input_shape)
        else:
            lo, hi = self.config["input"]["min"], self.config["input"]["max"]
            x = rng.integers(lo, hi + 1, size=(n,) + self.input_shape)
        batch = batch or n
        start = time.perf_counter()
        self.run(x[:1])
        latency = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(0, n, batch):
            self.run(x[i:i + batch])
        elapsed = time.perf_counter() - start
        return {"frames": n, "batch": batch, "fps": n / elapsed, "latency_s": latency, "backend": self.backend}


class _PynqDevice:
    """The board: the overlay's AXI DMA moves a whole batch in one transfer each way. The
    accelerator's frames_per_last register makes TLAST close the batch rather than each frame
    (the simple-mode S2MM channel ends a transfer at TLAST); the DMA buffers of a batch size
    are allocated once and kept for the next batch of that size."""

    def __init__(self, bitfile, in_words: int, out_words: int):
        from pynq import Overlay, allocate  # only here: off the board pynq is not needed

        self._allocate = allocate
        self.overlay = Overlay(str(bitfile))
        self.dma = self.overlay.dma
        self.accelerator = self.overlay.accelerator
        registers = self.accelerator.register_map
        if not hasattr(registers, "frames_per_last"):
            raise ValueError("the overlay's accelerator has no frames_per_last register: rebuild it with this bnnfpga")
        self._frames_per_last = registers.frames_per_last.address
        self.in_words, self.out_words = in_words, out_words
        self._batch, self._src, self._dst = 0, None, None

    def _buffers(self, n: int):
        if n != self._batch:
            for buffer in (self._src, self._dst):
                if buffer is not None:
                    buffer.freebuffer()
            self._src = self._allocate(shape=(n * self.in_words,), dtype=np.uint64)
            self._dst = self._allocate(shape=(n * self.out_words,), dtype=np.int32)
            self._batch = n
        return self._src, self._dst

    def run(self, words: np.ndarray) -> np.ndarray:
        n = len(words)
        src, dst = self._buffers(n)
        src[:] = words.reshape(-1)
        src.flush()
        self.accelerator.write(self._frames_per_last, n)  # TLAST after the batch's last frame
        self.dma.recvchannel.transfer(dst)
        self.dma.sendchannel.transfer(src)
        self.dma.sendchannel.wait()
        self.dma.recvchannel.wait()
        dst.invalidate()
        return np.array(dst).reshape(n, self.out_words)


class _GoldenDevice:
    """bnnfpga's golden model behind the stream interface (needs bnnfpga installed)."""

    def __init__(self, ir):
        from bnnfpga import api
        from bnnfpga.hw import streams

        self.api, self.streams = api, streams
        self.graph = api.load_graph(ir)

    def run(self, words: np.ndarray) -> np.ndarray:
        x = self.streams.unpack_stream(words, self.graph.input_type)
        acc = self.api.stream_of_levels(self.graph, x, "golden")
        return self.streams.accumulator_stream(acc).astype(np.int32)


class _RtlDevice:
    """The generated RTL in Verilator (needs bnnfpga and its dev tools installed)."""

    def __init__(self, rtl_dir):
        from bnnfpga import rtlsim

        self.rtlsim, self.rtl_dir = rtlsim, Path(rtl_dir)

    def run(self, words: np.ndarray) -> np.ndarray:
        # the batch as the board receives it: one stream, TLAST after its last frame only
        return self.rtlsim.simulate(self.rtl_dir, words, frames_per_last=len(words)).outputs.reshape(len(words), -1)
