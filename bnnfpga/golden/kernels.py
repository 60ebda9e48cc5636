"""Batched NumPy kernels of the IR ops.

Dot products have two routes (DESIGN 3.1): ``packed`` mirrors the hardware (XNOR-popcount
on uint64 words, bit planes for multi-bit inputs, a validity mask for zero padding) and
``gemm`` multiplies ±1 matrices in floating point, exact while every partial sum stays
below 2^24 (float32) or 2^53 (float64). ``tests/unit/test_golden_routes.py`` shows they agree.
"""

from __future__ import annotations

import numpy as np

from bnnfpga.golden.packing import pack_bits, popcount
from bnnfpga.ir.types import DType

# Rows of the im2col matrix processed at once by the packed route, to bound memory.
_PACKED_CHUNK_WORDS = 1 << 21


def im2col(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int], pads: tuple[int, int, int, int]):
    """x (N, C, H, W) → patches (N, OH·OW, C·KH·KW) with zeros in padding, and the validity
    mask (OH·OW, C·KH·KW) that is False exactly where a patch element is padding."""
    n, c, h, w = x.shape
    kh, kw = kernel
    top, left, bottom, right = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    valid = np.pad(np.ones((1, c, h, w), dtype=bool), ((0, 0), (0, 0), (top, bottom), (left, right)))

    def windows(a):
        win = np.lib.stride_tricks.sliding_window_view(a, (kh, kw), axis=(2, 3))
        win = win[:, :, :: strides[0], :: strides[1]]  # (N, C, OH, OW, KH, KW)
        oh, ow = win.shape[2], win.shape[3]
        return win.transpose(0, 2, 3, 1, 4, 5).reshape(a.shape[0], oh * ow, c * kh * kw)

    return windows(xp), windows(valid)[0]


def dot_gemm(patches: np.ndarray, weight_rows: np.ndarray, bound: int) -> np.ndarray:
    """patches (..., K) · weight_rows (O, K)ᵀ exactly, in float32 when ``bound`` < 2^24."""
    if bound >= 1 << 53:
        raise OverflowError("accumulator too wide for an exact floating-point GEMM")
    ftype = np.float32 if bound < 1 << 24 else np.float64
    y = patches.astype(ftype) @ weight_rows.astype(ftype).T
    return y.astype(np.int64)


def dot_packed(patches: np.ndarray, valid: np.ndarray | None, weight_rows: np.ndarray, dtype: DType) -> np.ndarray:
    """Hardware-style dot product of integer patches (R, K) with ±1 weight rows (O, K).

    Bipolar inputs: dot = 2·popcount(valid & XNOR(a, w)) − popcount(valid) (DESIGN 3.5).
    k-bit inputs: dot = Σ_b c_b·(2·popcount(x_b & w) − popcount(x_b)) over two's complement
    bit planes x_b with c_b = 2^b (−2^(k−1) for the sign plane of signed inputs) (DESIGN 3.4).
    ``valid`` (R, K) masks padding; for k-bit inputs padding is 0 and needs no mask.
    """
    rows, k = patches.shape
    w_bits = pack_bits(weight_rows > 0)  # (O, words)
    words = w_bits.shape[1]
    out = np.empty((rows, weight_rows.shape[0]), dtype=np.int64)
    chunk = max(1, _PACKED_CHUNK_WORDS // max(1, words * weight_rows.shape[0]))
    for start in range(0, rows, chunk):
        sl = slice(start, start + chunk)
        if dtype.kind == "bipolar":
            mask = pack_bits(np.ones((1, k), bool) if valid is None else valid[sl])
            a_bits = pack_bits(patches[sl] > 0)
            xnor = ~(a_bits[:, None, :] ^ w_bits[None, :, :]) & mask[:, None, :]
            out[sl] = 2 * popcount(xnor) - popcount(mask)[:, None]
        else:
            values = patches[sl].astype(np.int64)
            acc = np.zeros((values.shape[0], weight_rows.shape[0]), dtype=np.int64)
            for b in range(dtype.bits):
                plane = pack_bits((values >> b) & 1)
                coeff = -(1 << b) if (dtype.kind == "int" and b == dtype.bits - 1) else 1 << b
                agree = popcount(plane[:, None, :] & w_bits[None, :, :])
                acc += coeff * (2 * agree - popcount(plane)[:, None])
            out[sl] = acc
    return out


def conv(x, weight, strides, pads, route: str, dtype: DType, bound: int) -> np.ndarray:
    """Integer conv of x (N, C, H, W) with ±1 weight (O, C, KH, KW) → (N, O, OH, OW) int64."""
    n = x.shape[0]
    o, _, kh, kw = weight.shape
    patches, valid = im2col(x, (kh, kw), strides, pads)
    p = patches.shape[1]
    oh = (x.shape[2] + pads[0] + pads[2] - kh) // strides[0] + 1
    rows = weight.reshape(o, -1)
    if route == "gemm":
        y = dot_gemm(patches, rows, bound)
    else:
        y = dot_packed(patches.reshape(n * p, -1), np.tile(valid, (n, 1)), rows, dtype).reshape(n, p, o)
    return y.transpose(0, 2, 1).reshape(n, o, oh, p // oh)


def dense(x, weight, route: str, dtype: DType, bound: int) -> np.ndarray:
    if route == "gemm":
        return dot_gemm(x, weight, bound)
    return dot_packed(x, None, weight, dtype)


def float_conv(x, weight, bias, strides, pads) -> np.ndarray:
    """Float64 convolution with zero padding (for graphs before weight extraction)."""
    o, _, kh, kw = weight.shape
    patches, _ = im2col(x.astype(np.float64), (kh, kw), strides, pads)
    y = patches @ weight.reshape(o, -1).T.astype(np.float64)
    if bias is not None:
        y = y + bias
    oh = (x.shape[2] + pads[0] + pads[2] - kh) // strides[0] + 1
    return y.transpose(0, 2, 1).reshape(x.shape[0], o, oh, -1)


def channel_view(v: np.ndarray, ndim: int) -> np.ndarray:
    """Reshape a per-channel vector (C,) to broadcast over (N, C, ...) of ``ndim`` dims."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def threshold(y: np.ndarray, thresholds: np.ndarray, constant: np.ndarray) -> np.ndarray:
    t = thresholds.astype(np.int64)
    count = np.zeros(y.shape, dtype=np.int64)
    for i in range(t.shape[1]):
        count += y >= channel_view(t[:, i], y.ndim)
    if t.shape[1] == 1:
        out = (2 * count - 1).astype(np.int8)
        const = channel_view(constant.astype(np.int8), y.ndim)
        return np.where(const != 0, const, out).astype(np.int8)
    return count


def max_pool(x, kernel, strides, pads, use_min) -> np.ndarray:
    """Max-pool over valid positions only; channels with ``use_min`` take the minimum."""
    is_float = np.issubdtype(x.dtype, np.floating)
    v = x.astype(np.float64 if is_float else np.int64)
    sign = np.ones(x.shape[1], np.int64) if use_min is None else np.where(use_min, -1, 1)
    v = v * channel_view(sign, v.ndim)
    fill = -np.inf if is_float else np.iinfo(np.int64).min
    top, left, bottom, right = pads
    vp = np.pad(v, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(vp, kernel, axis=(2, 3))[:, :, :: strides[0], :: strides[1]]
    out = win.max(axis=(4, 5)) * channel_view(sign, v.ndim)
    return out.astype(x.dtype)
