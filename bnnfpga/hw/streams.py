"""The stream format of the accelerator's ports and of the golden test vectors.

A tensor (C, H, W) streams pixel by pixel in row-major order (HWC); a vector (F,) is one
pixel of F channels. Each pixel's channels are packed into uint64 words, channel i at bits
[i·k, (i+1)·k) of the pixel's bit string, k the element width (1 for bipolar, +1 → 1),
little-endian across words as in docs/DESIGN.md 3.1; unused high bits are 0. The last layer's
accumulators stream as int32, one per class.
"""

from __future__ import annotations

import numpy as np

from bnnfpga.ir.bits import pack_bits, unpack_bits
from bnnfpga.ir.types import TensorType


def words_per_pixel(t: TensorType) -> int:
    return (t.shape[0] * t.dtype.bits + 63) // 64


def pack_stream(values: np.ndarray, t: TensorType) -> np.ndarray:
    """(N, *shape) values → (N, pixels, words) uint64 in stream order."""
    n, c = values.shape[0], t.shape[0]
    pixels = values.reshape(n, c, -1).transpose(0, 2, 1)  # (N, H·W, C)
    k = t.dtype.bits
    if t.dtype.kind == "bipolar":
        bits = pixels > 0
    else:
        raw = pixels.astype(np.int64) & ((1 << k) - 1)  # two's complement for signed
        bits = ((raw[..., None] >> np.arange(k)) & 1).reshape(n, pixels.shape[1], c * k)
    return pack_bits(bits)


def unpack_stream(words: np.ndarray, t: TensorType) -> np.ndarray:
    """Inverse of ``pack_stream``: input words (N, pixels·words per pixel) → (N, *shape)."""
    n, c, k = len(words), t.shape[0], t.dtype.bits
    pixels = int(np.prod(t.shape[1:], dtype=np.int64)) if len(t.shape) > 1 else 1
    bits = unpack_bits(np.asarray(words, dtype=np.uint64).reshape(n, pixels, -1), c * k).astype(np.int64)
    if t.dtype.kind == "bipolar":
        values = 2 * bits - 1
    else:
        values = (bits.reshape(n, pixels, c, k) << np.arange(k)).sum(-1)
        if t.dtype.signed:
            values = np.where(values >= 1 << (k - 1), values - (1 << k), values)
    return values.transpose(0, 2, 1).reshape((n,) + tuple(t.shape))


def to_hex_lines(words: np.ndarray) -> str:
    """One 64-bit word per line, 16 hex digits ($readmemh and C++ testbench friendly)."""
    return "".join(f"{int(w):016x}\n" for w in words.reshape(-1))


def accumulator_stream(acc: np.ndarray) -> np.ndarray:
    """Accumulators (N, C[, H, W]) → (N, words) int32 in stream order (pixels, then channels)."""
    return np.moveaxis(acc, 1, -1).reshape(acc.shape[0], -1) if acc.ndim > 2 else acc


def accumulators_from_stream(words: np.ndarray, frames: int, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of ``accumulator_stream``: int32 words → (N, *shape) in ONNX layout."""
    pixel_major = words.reshape((frames,) + tuple(shape[1:]) + (shape[0],))
    return np.moveaxis(pixel_major, -1, 1)
