"""The geometry of a convolution's windows, as the IR defines it for every backend.

A patch is the window of an output position in (KH, KW, C) order, the order in which the
window generators stream it; a conv weight (O, C, KH, KW) becomes rows (O, KH·KW·C) in the
same order. Tensors are channels-last (N, H, W, C). Zero padding is a value of 0 and a
validity bit of 0 (docs/DESIGN.md 3.5).
"""

from __future__ import annotations

import numpy as np


def conv_weight_rows(weight: np.ndarray) -> np.ndarray:
    """Conv weight (O, C, KH, KW) as rows (O, KH·KW·C) in the order of ``im2col`` patches."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


def pad_spatial(x: np.ndarray, pads, value=0) -> np.ndarray:
    top, left, bottom, right = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def sliding_windows(a: np.ndarray, kernel, strides) -> np.ndarray:
    """(N, H, W, C) → view (N, OH, OW, C, KH, KW) of the sliding windows."""
    win = np.lib.stride_tricks.sliding_window_view(a, kernel, axis=(1, 2))
    return win[:, :: strides[0], :: strides[1]]


def im2col(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int], pads: tuple[int, int, int, int]):
    """x (N, H, W, C) → patches (N, OH·OW, KH·KW·C) with zeros in padding, and the validity
    mask (OH·OW, KH·KW·C) that is False exactly where a patch element is padding."""
    n, h, w, c = x.shape

    def patches(a):
        win = sliding_windows(pad_spatial(a, pads), kernel, strides)  # (N, OH, OW, C, KH, KW)
        oh, ow = win.shape[1], win.shape[2]
        return win.transpose(0, 1, 2, 4, 5, 3).reshape(a.shape[0], oh * ow, -1)

    return patches(x), patches(np.ones((1, h, w, c), dtype=bool))[0]


def float_conv(x, weight, bias, strides, pads) -> np.ndarray:
    """Float64 convolution of x (N, H, W, C) with zero padding (graphs before folding)."""
    patches, _ = im2col(x.astype(np.float64), weight.shape[2:], strides, pads)
    y = patches @ conv_weight_rows(weight).T.astype(np.float64)
    if bias is not None:
        y = y + bias
    oh = (x.shape[1] + pads[0] + pads[2] - weight.shape[2]) // strides[0] + 1
    return y.reshape(x.shape[0], oh, -1, weight.shape[0])
