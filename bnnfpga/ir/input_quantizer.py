"""The model's own quantizer on its float input, run on the host (docs/DESIGN.md 3.14): with
``--float-input`` the frames are the model's float input, the host turns them into the
quantizer's integer levels exactly as the model's first node does (same float32
arithmetic, rounding mode, clipping and narrow range), and the accelerator receives the
levels. Part of the contract: the golden model, the host side of the backends and verify
must quantize the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnnfpga.ir.ops import ROUNDING_MODES
from bnnfpga.ir.types import BIPOLAR, DType, integer_type

# How the op orders its arithmetic: QONNX Quant rounds x/scale + zp after clipping it;
# ONNX QuantizeLinear rounds x/scale (half to even), then adds zp and saturates.
ORDERS = ("qonnx", "onnx")


@dataclass(frozen=True)
class InputQuantizer:
    """Per channel (or one for all) ``scale`` and ``zero_point``; levels [qmin, qmax];
    ``rounding`` a QONNX rounding mode ('ROUND' is half to even); ``bipolar``: a 1-bit
    signed QONNX quantizer (x/scale + zp ≥ 0 → +1, else −1)."""

    scale: tuple[float, ...]
    zero_point: tuple[float, ...]
    qmin: int
    qmax: int
    rounding: str = "ROUND"
    order: str = "qonnx"
    bipolar: bool = False
    source: str = ""  # the ONNX node, for messages

    def __post_init__(self) -> None:
        if self.order not in ORDERS or self.rounding not in ROUNDING_MODES or self.qmin >= self.qmax:
            raise ValueError(f"invalid input quantizer {self}")
        if not all(s > 0 for s in self.scale):
            raise ValueError("input quantizer scales must be positive")

    @property
    def dtype(self) -> DType:
        """The element type of the levels the accelerator receives."""
        return BIPOLAR if self.bipolar else integer_type(self.qmin, self.qmax)

    def _per_channel(self, values: tuple[float, ...], ndim: int) -> np.ndarray:
        v = np.asarray(values, np.float32)
        return v.reshape((1, -1) + (1,) * (ndim - 2)) if v.size > 1 else v.reshape(())

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Float frames (N, C[, H, W]) → int64 levels, in float32 as the model computes them."""
        x = np.asarray(x, np.float32)
        scale, zp = self._per_channel(self.scale, x.ndim), self._per_channel(self.zero_point, x.ndim)
        if self.order == "onnx":
            levels = np.rint(x / scale) + zp
            return np.clip(levels, self.qmin, self.qmax).astype(np.int64)
        y = x / scale + zp
        if self.bipolar:
            return np.where(y >= 0, 1, -1).astype(np.int64)
        return ROUNDING_MODES[self.rounding](np.clip(y, np.float32(self.qmin), np.float32(self.qmax))).astype(np.int64)

    def float_range(self) -> tuple[float, float]:
        """The float inputs that reach the lowest and the highest level (for random frames)."""
        s = np.asarray(self.scale, np.float64)
        z = np.asarray(self.zero_point, np.float64)
        return float(np.min((self.qmin - z) * s)), float(np.max((self.qmax - z) * s))

    def to_json(self) -> dict:
        return {"scale": list(self.scale), "zero_point": list(self.zero_point), "qmin": self.qmin, "qmax": self.qmax,
                "rounding": self.rounding, "order": self.order, "bipolar": self.bipolar, "source": self.source}

    @staticmethod
    def from_json(doc: dict | None) -> InputQuantizer | None:
        if doc is None:
            return None
        return InputQuantizer(tuple(float(v) for v in doc["scale"]), tuple(float(v) for v in doc["zero_point"]),
                              int(doc["qmin"]), int(doc["qmax"]), str(doc["rounding"]), str(doc["order"]),
                              bool(doc["bipolar"]), str(doc.get("source", "")))
