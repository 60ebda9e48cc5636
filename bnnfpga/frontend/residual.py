"""Run-time residual binarization as plain torch exports write it (docs/DESIGN.md 5.3).

HORQ of order K over a vector x: for k = 1 … K, β_k = ReduceMean(Abs(R_{k−1})),
H_k = Sign(R_{k−1}), a term Mul(β_k, H_k), R_k = Sub(R_{k−1}, term), with R_0 = x; the
terms are summed (Add) into x̂, which a MatMul/Gemm (fc) or a 1×1 Conv over the receptive
fields reads. A convolution's receptive fields come from a Conv with a 0/1 kernel that
copies each tap into its own channel (im2col as a convolution). XNOR-Net's input scaling is
Mul(Conv(Sign(x), W), K) with K = Conv(ReduceMean(Abs(x)) over the channels, box filter)
(or Mul(MatMul(Sign(x), W), ReduceMean(Abs(x))) on a vector).

The importer follows such a chain with the values below: each stands for one quantity of
the chain and may feed only the ops that continue it (``RESIDUAL_IDIOMS``). Where it ends
in a dot product the importer emits one Dense or Conv with ``residual_order`` K on x and an
affine of 1/n^K behind it. A Sign of an activation and a Conv with a 0/1 kernel are also
ordinary ops (a binarisation, a convolution): their values are Dynamic tensors that also
remember what they are in a chain, and the node emitted for them is dropped when only the
chain reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnnfpga.frontend.values import Dynamic
from bnnfpga.ir.ops import Conv, Dense, DotProduct

# |β·scale − β| below this (relative) is the model's own float rounding, not another scale.
_UNIT_SCALE_RTOL = 1e-6


@dataclass(frozen=True)
class Window:
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]


@dataclass
class Fields:
    """The vectors one chain binarizes: the activation ``source`` itself (``window`` None, a
    vector (N, F)), or its receptive fields under ``window``. ``taps[j]`` is the index in
    (C, KH, KW) order of the tap that a patch extraction put into channel j (None where the
    fields were never laid out, XNOR-Net's box filter)."""

    source: Dynamic
    window: Window | None = None
    taps: tuple[int, ...] | None = None
    unfolded: bool = False  # laid out by F.unfold: (N, C·KH·KW, OH·OW) rather than (N, C·KH·KW, OH, OW)

    def same(self, other: Fields) -> bool:
        return self.source.tensor == other.source.tensor and self.window == other.window and (
            self.taps is None or other.taps is None or self.taps == other.taps)

    @property
    def size(self) -> int:
        """n, the values of one vector."""
        if self.window is None:
            return self.source.type.size
        return self.source.type.shape[0] * self.window.kernel[0] * self.window.kernel[1]


@dataclass
class Patches(Dynamic):
    """The output of a Conv whose 0/1 kernel copies every tap of every window into a channel
    of its own: an ordinary conv, and R_0 of the receptive fields ``fields``."""

    fields: Fields | None = None


@dataclass
class Unfolding:
    """``F.unfold`` of the feature map ``source`` (C, H, W) on its way to the receptive fields:
    zero-padded by ``pads`` (top, left, bottom, right), its window rows gathered (``rows``:
    kernel, stride, outputs along H), then its columns (``cols``), then ``transposed`` to
    (N, C, KH, KW, OH, OW); the Reshape to (N, C·KH·KW, OH·OW) makes it Patches."""

    source: Dynamic
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    rows: tuple[int, int, int] | None = None
    cols: tuple[int, int, int] | None = None
    transposed: bool = False

    @property
    def window(self) -> Window:
        return Window((self.rows[0], self.cols[0]), (self.rows[1], self.cols[1]), self.pads)


def window_index(indices: np.ndarray, size: int) -> tuple[int, int, int] | None:
    """(kernel, stride, outputs) of a Gather index (K, O) that picks tap i of window o as
    i + o·stride along an axis of ``size`` (F.unfold without dilation), else None."""
    if indices.ndim != 2 or not np.issubdtype(indices.dtype, np.integer) or indices.size == 0:
        return None
    kernel, outputs = indices.shape
    stride = int(indices[0, 1] - indices[0, 0]) if outputs > 1 else 1
    expected = np.arange(kernel)[:, None] + stride * np.arange(outputs)[None, :]
    if stride < 1 or not np.array_equal(indices, expected) or int(expected.max()) >= size:
        return None
    return kernel, stride, outputs


@dataclass
class SignOf(Dynamic):
    """Sign(x) of an activation x: an ordinary binarisation, and H_1 of x's vectors."""

    source: Dynamic | None = None


@dataclass
class SignDot(Dynamic):
    """A dot product (``op``) of SignOf(``source``): XNOR-Net's sign(I) ∗ W before its scale."""

    source: Dynamic | None = None
    op: DotProduct | None = None


@dataclass
class Residual:
    """R_k (k ≥ 1) of the vectors ``fields``."""

    fields: Fields
    order: int


@dataclass
class AbsResidual:
    """|R_k| (k ≥ 0) of the vectors ``fields``; of a feature map (``fields.window`` None and
    the source (C, H, W)) the first step of XNOR-Net's K."""

    fields: Fields
    order: int


@dataclass
class ChannelMeanAbs:
    """scale·mean_c |x| of a feature map x (XNOR-Net's A), waiting for its box filter."""

    source: Dynamic
    scale: float


@dataclass
class Beta:
    """scale·β_k of the vectors ``fields``: β_k = mean |R_{k−1}|."""

    fields: Fields
    order: int
    scale: float = 1.0


@dataclass
class Signs:
    """H_k = sign(R_{k−1}) (k ≥ 2) of the vectors ``fields``."""

    fields: Fields
    order: int


@dataclass
class Terms:
    """scale·Σ_{k ∈ orders} β_k·H_k of the vectors ``fields``."""

    fields: Fields
    orders: frozenset[int]
    scale: float = 1.0

    @property
    def complete_order(self) -> int | None:
        """K where the terms are exactly 1 … K (x̂ of order K), else None."""
        k = max(self.orders)
        return k if self.orders == frozenset(range(1, k + 1)) else None


_CHAIN = "a step of a residual binarization (HORQ, or XNOR-Net's input scaling)"
# What each chain value may feed besides the pass-through ops (frontend/onnx.py _WAITING).
RESIDUAL_IDIOMS = {
    Unfolding: ("F.unfold's layout of receptive fields (Pad, Gather, Gather, Transpose, Reshape)",
                ("Gather", "Transpose", "Reshape")),
    Residual: (f"a residual R_k, {_CHAIN},", ("Abs", "Sign", "Sub")),
    AbsResidual: (f"|R_k|, {_CHAIN},", ("ReduceMean",)),
    ChannelMeanAbs: (f"the channel mean of |x|, {_CHAIN},", ("Conv", "Mul")),
    Beta: (f"a scale β_k, {_CHAIN},", ("Mul",)),
    Signs: (f"a sign plane H_k, {_CHAIN},", ("Mul",)),
    Terms: (f"a sum of terms β_k·H_k, {_CHAIN},", ("Add", "Sub", "Mul", "MatMul", "Gemm", "Conv")),
}


def patch_taps(weight: np.ndarray) -> tuple[int, ...] | None:
    """taps[j] of a conv weight (C·KH·KW, C, KH, KW) that copies each tap into its own
    channel (every row one 1, the rest 0, every tap once); None for any other weight."""
    rows = weight.reshape(weight.shape[0], -1)
    if rows.shape[0] != rows.shape[1] or not np.all((rows == 0) | (rows == 1)) or not np.all(rows.sum(axis=1) == 1):
        return None
    taps = tuple(int(i) for i in rows.argmax(axis=1))
    return taps if len(set(taps)) == len(taps) else None


def box_value(weight: np.ndarray) -> float | None:
    """v of a (1, 1, KH, KW) conv weight that is v everywhere (a box filter), else None."""
    if weight.shape[:2] != (1, 1) or not np.all(weight == weight.flat[0]) or weight.flat[0] == 0:
        return None
    return float(weight.flat[0])


def unit_scale(scale: float) -> bool:
    return abs(scale - 1.0) <= _UNIT_SCALE_RTOL


def residual_dot_op(fields: Fields, weight: np.ndarray, order: int) -> DotProduct:
    """The Dense or Conv with ``residual_order`` on ``fields.source``; ``weight`` is (O, n)
    with n in the order of the fields' channels (taps), or already (O, C, KH, KW)."""
    if fields.window is None:
        return Dense(weight=weight, residual_order=order)
    c = fields.source.type.shape[0]
    kh, kw = fields.window.kernel
    if weight.ndim == 2:  # a 1×1 conv over laid-out fields: its channels are the taps
        full = np.zeros((weight.shape[0], c * kh * kw))
        full[:, list(fields.taps)] = weight
        weight = full.reshape(weight.shape[0], c, kh, kw)
    return Conv(weight=weight, strides=fields.window.strides, pads=fields.window.pads, residual_order=order)
