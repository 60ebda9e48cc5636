"""Batched NumPy kernels of the IR ops, on channels-last tensors.

The golden executor keeps feature maps as (N, H, W, C), the order in which the hardware
streams them (bnnfpga/hw/streams.py), and converts to and from ONNX's (N, C, H, W) at its
boundary. Vectors are (N, F).

Dot products have two routes (docs/DESIGN.md 3.1): ``packed`` mirrors the hardware (XNOR-popcount
on uint64 words, bit planes for multi-bit inputs, a validity mask for zero padding) and
``gemm`` multiplies ±1 matrices in floating point, exact while every partial sum stays
below 2^24 (float32) or 2^53 (float64). The unit tests show that both routes agree.
"""

from __future__ import annotations

import numpy as np

from bnnfpga.ir.bits import pack_bits, popcount
from bnnfpga.ir.patches import conv_weight_rows, im2col, pad_spatial, sliding_windows
from bnnfpga.ir.types import TERNARY, DType

# uint64 words (rows × output channels × words) the packed route handles at once.
_PACKED_CHUNK_WORDS = 1 << 21
# uint64 words (output channels × rows) one XOR-popcount step of ``xor_disagreements`` handles:
# long rows amortise NumPy's per-call cost, which dominates below a few thousand elements.
_XOR_CHUNK_WORDS = 1 << 19
# Bytes of im2col matrix the gemm route builds at once.
_GEMM_CHUNK_BYTES = 2 << 20


def xnor_applies(dtype: DType, weight: np.ndarray) -> bool:
    """Bipolar inputs and ±1 weights: the dot product is an XNOR-popcount of single bits."""
    return dtype.kind == "bipolar" and bool(np.all(np.abs(weight) == 1))


def gemm_dtype(bound: int):
    """The float type in which a ±1 GEMM with partial sums up to ``bound`` is exact."""
    if bound >= 1 << 53:
        raise OverflowError("accumulator too wide for an exact floating-point GEMM")
    return np.float32 if bound < 1 << 24 else np.float64


def dot_gemm(patches: np.ndarray, weight_rows: np.ndarray, bound: int) -> np.ndarray:
    """patches (R, K) · weight_rows (O, K)ᵀ exactly, as integer-valued floats (R, O)."""
    ftype = gemm_dtype(bound)
    return patches.astype(ftype, copy=False) @ weight_rows.astype(ftype).T


def dot_packed(patches: np.ndarray, valid: np.ndarray | None, weight_rows: np.ndarray, dtype: DType) -> np.ndarray:
    """Hardware-style dot product of integer patches (R, K) with integer weight rows (O, K).

    ±1 weights, bipolar inputs: dot = 2·popcount(valid & XNOR(a, w)) − popcount(valid) (docs/DESIGN.md 3.5).
    ±1 weights, k-bit inputs: dot = Σ_b c_b·(2·popcount(x_b & w) − popcount(x_b)) over two's
    complement bit planes x_b with c_b = 2^b (−2^(k−1) for the sign plane of signed inputs)
    (docs/DESIGN.md 3.4). Other integer weights (ternary, k-bit): ``dot_planes``.
    ``valid`` (R, K) masks padding; for k-bit inputs padding is 0 and needs no mask.
    """
    if not np.all(np.abs(weight_rows) == 1):
        return dot_planes(patches, valid, weight_rows, dtype)
    rows, k = patches.shape
    w_bits = pack_bits(weight_rows > 0)  # (O, words)
    if dtype.kind == "bipolar" and valid is None:
        return k - 2 * xor_disagreements(np.ascontiguousarray(pack_bits(patches > 0).T), w_bits).astype(np.int64)
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
            acc = np.zeros((patches[sl].shape[0], weight_rows.shape[0]), dtype=np.int64)
            for coeff, plane in activation_planes(patches[sl], None, dtype):
                bits = pack_bits(plane)
                agree = popcount(bits[:, None, :] & w_bits[None, :, :])
                acc += coeff * (2 * agree - popcount(bits)[:, None])
            out[sl] = acc
    return out


def xor_disagreements(a_words: np.ndarray, w_words: np.ndarray) -> np.ndarray:
    """Σ_j popcount(a[r, j] XOR w[o, j]) for words a (J, R) (word-major) and w (O, J) → (R, O)
    int32: the number of differing bits of each row and weight row.

    One XOR, one popcount and one add per word over (O, rows) slabs, each a long contiguous
    loop: on one core about 2× a float32 GEMM of the same ±1 product (benchmarks/golden.py)."""
    words, rows = a_words.shape
    channels = w_words.shape[0]
    out = np.empty((rows, channels), np.int32)
    step = max(1, min(rows, _XOR_CHUNK_WORDS // max(1, channels)))
    counts = np.uint16 if words * 64 < 1 << 16 else np.uint32
    w_columns = np.ascontiguousarray(w_words.T)[:, :, None]  # (J, O, 1)
    diff = np.empty((channels, step), np.uint64)
    bits = np.empty((channels, step), np.uint8)
    acc = np.empty((channels, step), counts)
    for start in range(0, rows, step):
        n = min(step, rows - start)
        total = acc[:, :n]
        total[...] = 0
        for j in range(words):
            np.bitwise_xor(a_words[j, None, start : start + n], w_columns[j], out=diff[:, :n])
            np.bitwise_count(diff[:, :n], out=bits[:, :n])
            np.add(total, bits[:, :n], out=total)
        out[start : start + n] = total.T
    return out


def conv_bipolar_packed(x: np.ndarray, weight: np.ndarray, strides, pads) -> np.ndarray:
    """Conv of bipolar x (N, H, W, C) with ±1 weight (O, C, KH, KW) by XNOR-popcount → (N, OH, OW, O)
    int32, exactly the masked dot product of docs/DESIGN.md 3.5: dot = valid − 2·(differing valid bits).

    The channels of each pixel are packed into words once (⌈C/64⌉ per pixel, unused bits 0 in
    both operands), and the patches are gathered as words, 1/64 of the bytes of an element-wise
    im2col. A padded tap holds 0 bits, so it adds popcount(w_tap) differing bits that it should
    not: those are subtracted per output position, with the tap's element count from ``valid``."""
    n, h, w, c = x.shape
    o, _, kh, kw = weight.shape
    pixels = pad_spatial(pack_bits(x > 0), pads, 0)  # (N, H', W', CW)
    taps = pack_bits(weight.transpose(0, 2, 3, 1) > 0)  # (O, KH, KW, CW)
    cw = pixels.shape[-1]
    oh = (pixels.shape[1] - kh) // strides[0] + 1
    ow = (pixels.shape[2] - kw) // strides[1] + 1
    # (KH, KW, CW, N, OH, OW): word-major patches, contiguous along the rows
    patches = np.empty((kh, kw, cw, n, oh, ow), np.uint64)
    for i in range(kh):
        for j in range(kw):
            window = pixels[:, i : i + strides[0] * (oh - 1) + 1 : strides[0], j : j + strides[1] * (ow - 1) + 1 : strides[1]]
            patches[i, j] = window.transpose(3, 0, 1, 2)
    differ = xor_disagreements(patches.reshape(kh * kw * cw, -1), taps.reshape(o, -1)).reshape(n, oh * ow, o)
    _, valid = im2col(np.ones((1, h, w, 1), bool), (kh, kw), strides, pads)  # (OH·OW, KH·KW) taps
    if not valid.all():
        tap_ones = np.bitwise_count(taps).sum(axis=-1, dtype=np.int32).reshape(o, kh * kw)  # (O, taps)
        differ -= ((~valid).astype(np.int32) @ tap_ones.T)[None]
    y = (valid.sum(axis=1, dtype=np.int32) * c)[None, :, None] - 2 * differ
    return y.reshape(n, oh, ow, o)


def weight_planes(weight_rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Integer weights as Σ_j c_j·B_j over 0/1 planes B_j (docs/DESIGN.md 5): ternary weights as a
    positive and a negative plane (c = +1, −1), others as two's complement bit planes."""
    lo, hi = int(weight_rows.min()), int(weight_rows.max())
    if -1 <= lo and hi <= 1:
        return [(1, weight_rows > 0), (-1, weight_rows < 0)]
    bits = max(lo.bit_length(), hi.bit_length(), (-lo - 1).bit_length()) + 1
    w = weight_rows.astype(np.int64)
    return [(-(1 << b) if b == bits - 1 else 1 << b, ((w >> b) & 1).astype(bool)) for b in range(bits)]


def activation_planes(values: np.ndarray, valid: np.ndarray | None, dtype: DType) -> list[tuple[int, np.ndarray]]:
    """Activations as Σ_i c_i·H_i over 0/1 planes: a bipolar a = 2·b − 1 on valid taps (0 in
    padding), a k-bit x as its two's complement bit planes (padding is 0)."""
    if dtype.kind == "bipolar":
        mask = np.ones(values.shape, bool) if valid is None else valid
        return [(2, (values > 0) & mask), (-1, mask)]
    v = values.astype(np.int64)
    signed = dtype.kind in ("int", "ternary")
    return [(-(1 << b) if signed and b == dtype.bits - 1 else 1 << b, ((v >> b) & 1).astype(bool)) for b in range(dtype.bits)]


def dot_planes(patches: np.ndarray, valid: np.ndarray | None, weight_rows: np.ndarray, dtype: DType) -> np.ndarray:
    """y = Σ_i Σ_j c_i·c_j·popcount(H_i & B_j): the bit-plane dot product of docs/DESIGN.md 5 for any
    integer weights and activations."""
    rows = patches.shape[0]
    w_planes = [(c, pack_bits(plane)) for c, plane in weight_planes(weight_rows)]
    words = w_planes[0][1].shape[1]
    out = np.zeros((rows, weight_rows.shape[0]), dtype=np.int64)
    chunk = max(1, _PACKED_CHUNK_WORDS // max(1, words * weight_rows.shape[0]))
    for start in range(0, rows, chunk):
        sl = slice(start, start + chunk)
        a_planes = activation_planes(patches[sl], None if valid is None else valid[sl], dtype)
        for c_a, a_plane in a_planes:
            a_bits = pack_bits(a_plane)
            for c_w, w_bits in w_planes:
                out[sl] += c_a * c_w * popcount(a_bits[:, None, :] & w_bits[None, :, :])
    return out


def conv(x, weight, strides, pads, route: str, dtype: DType, bound: int) -> np.ndarray:
    """Integer conv of x (N, H, W, C) with ±1 weight (O, C, KH, KW) → (N, OH, OW, O).
    The result holds exact integers: int64 (packed route) or float (gemm route)."""
    n = x.shape[0]
    oh = (x.shape[1] + pads[0] + pads[2] - weight.shape[2]) // strides[0] + 1
    ow = (x.shape[2] + pads[1] + pads[3] - weight.shape[3]) // strides[1] + 1
    if route == "packed" and xnor_applies(dtype, weight):
        return conv_bipolar_packed(x, weight, strides, pads)
    rows = conv_weight_rows(weight)
    if route == "packed":
        patches, valid = im2col(x, weight.shape[2:], strides, pads)
        y = dot_packed(patches.reshape(n * oh * ow, -1), np.tile(valid, (n, 1)), rows, dtype)
        return y.reshape(n, oh, ow, -1)
    x = x.astype(gemm_dtype(bound), copy=False)  # convert before im2col multiplies the size
    # A few frames at a time: the im2col matrix then stays in cache (≈ 2× faster on CNV).
    step = max(1, _GEMM_CHUNK_BYTES // (oh * ow * rows.shape[1] * x.itemsize))
    out = np.empty((n, oh, ow, rows.shape[0]), dtype=x.dtype)
    for start in range(0, n, step):
        patches, _ = im2col(x[start : start + step], weight.shape[2:], strides, pads)
        out[start : start + step] = dot_gemm(patches.reshape(-1, rows.shape[1]), rows, bound).reshape(-1, oh, ow, rows.shape[0])
    return out


def dense(x, weight, route: str, dtype: DType, bound: int) -> np.ndarray:
    if route == "gemm":
        return dot_gemm(x, weight, bound)
    return dot_packed(x, None, weight, dtype)


def _comparable(thresholds: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """int64 thresholds in the accumulator's type where that holds them all (a comparison of
    mixed types converts the whole accumulator first): floats hold the integers exactly."""
    if np.issubdtype(dtype, np.floating):
        return thresholds.astype(dtype)
    info = np.iinfo(dtype)
    if thresholds.size == 0 or (thresholds.min() >= info.min and thresholds.max() <= info.max):
        return thresholds.astype(dtype)
    return thresholds


def threshold(y: np.ndarray, thresholds: np.ndarray, constant: np.ndarray, base: int | None = None) -> np.ndarray:
    """Channels-last y against per-channel thresholds (C, n), or per-position thresholds
    (C, H, W, n) of a feature map; see ir.ops.Threshold."""
    t = thresholds.astype(np.int64)
    if t.ndim == 4:
        t = t.transpose(1, 2, 0, 3)  # (H, W, C, n): t[..., i] broadcasts against (N, H, W, C)
    if base is None:
        out = (y >= _comparable(t[..., 0], y.dtype)).view(np.int8)  # 0/1, then in place to −1/+1
        out <<= 1
        out -= 1
        fixed = np.flatnonzero(constant)
        if fixed.size:
            out[..., fixed] = constant[fixed]
        return out
    count = np.full(y.shape, base, dtype=np.int64)
    for i in range(t.shape[-1]):
        count += y >= t[..., i]
    return count


def max_pool(x, kernel, strides, pads, use_min) -> np.ndarray:
    """Max-pool of x (N, H, W, C) over valid positions; ``use_min`` channels take the minimum."""
    out = _pool(x, kernel, strides, pads, np.maximum)
    if use_min is not None and use_min.any():
        channels = np.flatnonzero(use_min)
        out[..., channels] = _pool(x[..., channels], kernel, strides, pads, np.minimum)
    return out


def sum_pool(x, kernel, strides, pads) -> np.ndarray:
    """Sum over each window of x (N, H, W, C): int64 for integers, float64 for floats; zero
    padding adds 0 (ONNX AveragePool with count_include_pad = 1, times the window size)."""
    x = x.astype(np.float64 if np.issubdtype(x.dtype, np.floating) else np.int64)
    n, h, w, c = x.shape
    kh, kw = kernel
    if tuple(kernel) == tuple(strides) and not any(pads):
        oh, ow = h // kh, w // kw
        return x[:, : oh * kh, : ow * kw].reshape(n, oh, kh, ow, kw, c).sum(axis=(2, 4))
    return sliding_windows(pad_spatial(x, pads, 0), kernel, strides).sum(axis=(4, 5))


def _pool(x, kernel, strides, pads, reduce) -> np.ndarray:
    n, h, w, c = x.shape
    kh, kw = kernel
    if tuple(kernel) == tuple(strides) and not any(pads):
        # Non-overlapping windows: a reshape instead of a strided window view (much faster).
        oh, ow = h // kh, w // kw
        tiles = x[:, : oh * kh, : ow * kw].reshape(n, oh, kh, ow, kw, c)
        return reduce.reduce(reduce.reduce(tiles, axis=4), axis=2)
    if np.issubdtype(x.dtype, np.floating):
        fill = -np.inf if reduce is np.maximum else np.inf
    else:
        info = np.iinfo(x.dtype)
        fill = info.min if reduce is np.maximum else info.max
    win = sliding_windows(pad_spatial(x, pads, fill), kernel, strides)
    return reduce.reduce(reduce.reduce(win, axis=5), axis=4)


def residual_binarize(vectors: np.ndarray, order: int, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Order-K residual binarization of integer vectors (R, n), exactly (docs/DESIGN.md 5.3):
    the sign planes H_k (K, R, n) int8 in {−1, 0, +1} and the gains (R, K) int64 with
    n^K·x̂ = Σ_k gains[:, k]·H_k. The residual is carried as S_k = n^k·R_k, so that
    A_k = Σ|S_{k−1}| = n^k·β_k and the gain of H_k is A_k·n^(K−k); with ``shift`` F the
    gains are ⌊A_k·n^(K−k)/2^F⌋ (fixed-point β)."""
    n = vectors.shape[1]
    scaled = vectors.astype(np.int64)
    signs, gains = [], []
    for k in range(1, order + 1):
        total = np.abs(scaled).sum(axis=1)
        sign = np.sign(scaled).astype(np.int8)
        signs.append(sign)
        gains.append((total * n ** (order - k)) >> shift)
        if k < order:
            scaled = n * scaled - total[:, None] * sign
    return np.stack(signs), np.stack(gains, axis=1)


def residual_approximation(vectors: np.ndarray, order: int) -> np.ndarray:
    """x̂ = Σ_k β_k·H_k of float vectors (R, n) in float64 (graphs before folding)."""
    residual = vectors.astype(np.float64)
    approximation = np.zeros_like(residual)
    for _ in range(order):
        term = np.abs(residual).mean(axis=1, keepdims=True) * np.sign(residual)
        approximation += term
        residual = residual - term
    return approximation


def residual_dot(vectors: np.ndarray, weight_rows: np.ndarray, order: int, route: str, shift: int = 0) -> np.ndarray:
    """n^K·W·x̂ of integer vectors (R, n) and integer weight rows (O, n) as int64 (R, O): K dot
    products of the sign planes, each exact (|H_k·w| ≤ n·|w|max), combined with the gains
    (⌊G_k/2^F⌋ with ``shift`` F)."""
    signs, gains = residual_binarize(vectors, order, shift)
    bound = vectors.shape[1] * int(np.abs(weight_rows).max(initial=0))
    out = np.zeros((vectors.shape[0], weight_rows.shape[0]), np.int64)
    for k in range(order):
        if route == "gemm":
            plane = dot_gemm(signs[k], weight_rows, bound).astype(np.int64)
        else:
            plane = dot_planes(signs[k], None, weight_rows, TERNARY)
        out += gains[:, k : k + 1] * plane
    return out


def residual_rows(vectors: np.ndarray, weight_rows: np.ndarray, order: int, route: str, shift: int = 0) -> np.ndarray:
    """n^K·W·x̂ of vectors (R, n) and weight rows (O, n): int64 on integers (``residual_dot``,
    with ``shift`` its fixed-point gains), float64 when either is float (graphs before folding,
    which have no shift)."""
    if np.issubdtype(vectors.dtype, np.floating) or np.issubdtype(weight_rows.dtype, np.floating):
        return vectors.shape[1] ** order * (residual_approximation(vectors, order) @ weight_rows.astype(np.float64).T)
    return residual_dot(vectors.astype(np.int64), weight_rows, order, route, shift)


def residual_conv(x: np.ndarray, weight: np.ndarray, strides, pads, order: int, route: str, shift: int = 0) -> np.ndarray:
    """``residual_rows`` over the zero-padded receptive fields of x (N, H, W, C) → (N, OH, OW, O)."""
    n = x.shape[0]
    patches, _ = im2col(x, weight.shape[2:], strides, pads)
    oh = (x.shape[1] + pads[0] + pads[2] - weight.shape[2]) // strides[0] + 1
    rows = conv_weight_rows(weight)
    y = residual_rows(patches.reshape(-1, rows.shape[1]), rows, order, route, shift)
    return y.reshape(n, oh, -1, rows.shape[0])
