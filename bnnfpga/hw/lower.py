"""Lowering of the folded IR to the engine chain (hw/engines.py) for a folding: each dot
product becomes a window generator or flatten feeding an MVU (with the threshold behind it
fused in), other ops their own engines; the output affine stays on the host.
"""

from __future__ import annotations

import numpy as np

from bnnfpga.errors import BnnfpgaError, ModelError
from bnnfpga.hw.engines import (
    Dataflow,
    Engine,
    Flatten,
    InputStage,
    IntegerAffineStage,
    LabelSelectStage,
    Mvu,
    OutputStage,
    Pixels,
    Pool,
    ThresholdStage,
    Window,
)
from bnnfpga.hw.fold import Fold
from bnnfpga.hw.layout import weight_code_bits
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import (
    JOINS,
    Conv,
    Dense,
    DotProduct,
    IntegerAffine,
    LabelSelect,
    MaxPool,
    OutputAffine,
    Reshape,
    SumPool,
    Threshold,
)
from bnnfpga.ir.patches import conv_weight_rows
from bnnfpga.ir.types import BIPOLAR, MAX_ENGINE_WEIGHT_BITS, TERNARY, signed_width


def lower(graph: Graph, folding: dict[str, Fold], backend: str = "hardware") -> Dataflow:
    """The engine chain for a folded ``graph``; ``backend`` names the caller in errors."""
    joins = [n for n in graph.nodes if isinstance(n.op, JOINS)]
    if joins:
        raise ModelError(f"this network branches ({type(joins[0].op).__name__.lower()} of two streams): the golden model "
                         f"runs it (bnnfpga predict, bnnfpga verify), the {backend} backend builds chains of layers only",
                         joins[0].source, type(joins[0].op).__name__)
    types = graph.types()
    t_in = graph.input_type
    if len(t_in.shape) not in (1, 3):
        raise BnnfpgaError(f"the {backend} backend takes (C, H, W) images or (F,) vectors, not an input of shape {t_in.shape}")
    c, h, w = t_in.shape if len(t_in.shape) == 3 else (t_in.shape[0], 1, 1)
    cur = Pixels(c, h, w, t_in.dtype)
    engines: list[Engine] = [InputStage(cur)]
    flattened_from: tuple[int, int, int] | None = None
    nodes = graph.nodes
    i = 0
    while i < len(nodes):
        node, op = nodes[i], nodes[i].op
        if isinstance(op, IntegerAffine):
            out = Pixels(cur.c, cur.h, cur.w, types[node.output].dtype)
            engines.append(IntegerAffineStage(node.name, node.source, cur, out, tuple(int(v) for v in op.scale),
                                              tuple(int(v) for v in op.offset)))
            cur = out
        elif isinstance(op, DotProduct):
            activation = None
            if i + 1 < len(nodes) and isinstance(nodes[i + 1].op, Threshold) and nodes[i + 1].inputs == (node.output,):
                activation = nodes[i + 1].op
                i += 1
            mvu = _mvu(node, op, activation, cur, folding[node.name], types, flattened_from, backend)
            engines.append(_window(node, op, cur, mvu) if isinstance(op, Conv) else Flatten(node.name, cur, mvu.fold.simd))
            engines.append(mvu)
            cur, flattened_from = mvu.out, None
        elif isinstance(op, Threshold):
            engines.append(_threshold(node, op, cur, types))
            cur = engines[-1].out
        elif isinstance(op, MaxPool):
            engines.append(_pool(node, op, cur, types, backend))
            cur = engines[-1].out
        elif isinstance(op, Reshape):
            following = nodes[i + 1].op if i + 1 < len(nodes) else None
            if following is not None and not isinstance(following, (Dense, OutputAffine)):
                raise BnnfpgaError(f"layer {node.name}: the {backend} backend needs a flatten to feed a fully connected "
                                   f"layer directly, not {type(following).__name__}")
            flattened_from = (cur.c, cur.h, cur.w)
        elif isinstance(op, SumPool):
            engines.append(_sum_pool(node, op, cur, types, backend))
            cur = engines[-1].out
        elif isinstance(op, OutputAffine):
            pass  # runs on the host (docs/DESIGN.md 3.7)
        elif isinstance(op, LabelSelect):
            if cur.count != 1:
                raise BnnfpgaError(f"layer {node.name}: the {backend} backend selects labels of a vector, not of "
                                   f"{cur.h}x{cur.w} positions")
            out_t = types[node.output]
            engines.append(LabelSelectStage(node.name, node.source, cur, Pixels(op.k, 1, 1, out_t.dtype), op.k, op.largest))
            cur = engines[-1].out
        else:
            raise BnnfpgaError(f"layer {node.name} ({type(op).__name__}): not supported by the {backend} backend yet")
        i += 1
    inner = [e for e, after in zip(engines, engines[1:]) if isinstance(e, Mvu) and e.thresholds is None
             and not isinstance(after, LabelSelectStage)]
    if inner:
        raise BnnfpgaError(f"layer {inner[0].name}: the {backend} backend streams a dot product's accumulators out of "
                           "the accelerator only from the last layer; a hidden layer needs a quantizer behind it")
    if not any(isinstance(e, Mvu) for e in engines):
        raise BnnfpgaError(f"the {backend} backend needs a model with at least one dot product (Conv, Gemm, MatMul)")
    # The last engine's values leave as int32 beats: accumulators (logits), or the levels of
    # a thresholded last layer (a binary or k-bit output, docs/DESIGN.md 3.7).
    engines.append(OutputStage(cur.c, cur.h * cur.w, cur.dtype))
    return Dataflow(tuple(engines), engines[0].out)


def _window(node, op: Conv, cur: Pixels, mvu: Mvu) -> Window:
    return Window(node.name, cur, tuple(op.kernel), tuple(op.strides), tuple(op.pads), mvu.fold.simd, mvu.out_h, mvu.out_w)


def _mvu(node, op: DotProduct, activation: Threshold | None, cur: Pixels, fold: Fold, types,
         flattened_from: tuple[int, int, int] | None, backend: str) -> Mvu:
    out_t = types[node.output]
    mh, mw = op.out_channels, op.fan_in
    if isinstance(op, Conv):
        rows = conv_weight_rows(op.weight)
        oh, ow = out_t.shape[1], out_t.shape[2]
    else:
        rows = op.weight
        if flattened_from is not None and cur.count > 1:
            fc, fh, fw = flattened_from  # ONNX column c·H·W + y·W + x → stream column (y·W + x)·C + c
            rows = rows.reshape(mh, fc, fh, fw).transpose(0, 2, 3, 1).reshape(mh, -1)
        oh = ow = 1
    if op.weight_dtype not in (BIPOLAR, TERNARY) and op.weight_dtype.bits > MAX_ENGINE_WEIGHT_BITS:
        raise BnnfpgaError(f"layer {node.name}: {op.weight_dtype} weights are not supported by the {backend} backend "
                           f"(the golden model runs them); supported: ±1, ternary and 2- to {MAX_ENGINE_WEIGHT_BITS}-bit "
                           "integer weights")
    acc_w = out_t.dtype.bits
    thresholds, constant, threshold_w, levels, base, out_dtype = None, (), acc_w + 1, 1, 0, BIPOLAR
    row_class, col_class = (), ()
    if activation is not None:
        t = activation.thresholds
        if activation.positional:
            row_class, col_class, t = border_classes(t)
        thresholds = tuple(int(v) for v in t.reshape(-1))
        constant = tuple(int(v) for v in activation.constant)
        threshold_w = max(acc_w + 1, signed_width(int(t.min()), int(t.max())).bits)
        levels, base = activation.levels, activation.base or 0
        out_dtype = activation.output_type([out_t]).dtype
    flipped = int(op.flipped.sum()) if op.flipped is not None else 0
    padded = isinstance(op, Conv) and any(op.pads)
    gains, plane_w, weight_bits = None, 0, weight_code_bits(op.weight_dtype)
    if op.gains is not None:
        gains, weight_bits = op.gains.astype(np.int64), weight_code_bits(TERNARY)  # ±1 codes too: the planes need the mask
        plane_w = signed_width(int(op.plane_min.min()), int(op.plane_max.max())).bits
    return Mvu(node.name, node.source, mw, mh, fold, cur.dtype, acc_w, oh, ow, np.asarray(rows), thresholds, constant,
               threshold_w, flipped, padded, weight_bits, levels, base, out_dtype, gains, plane_w, row_class, col_class)


def _classes(slices: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """Equal slices share a class, numbered in order of first appearance: (class of each
    slice, index of each class's first slice)."""
    _, first, inverse = np.unique(slices.reshape(len(slices), -1), axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    number = np.empty_like(order)
    number[order] = np.arange(len(order))
    return tuple(int(v) for v in number[inverse.reshape(-1)]), first[order]


def border_classes(thresholds: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...], np.ndarray]:
    """Per-position thresholds (C, H, W, n) as row classes, column classes and one threshold
    set per (row class, column class): (row_class (H,), col_class (W,), (K, C, n)). Rows with
    equal thresholds everywhere share a class, and so do columns; then position (r, c) has the
    thresholds of (the first row of r's class, the first column of c's class), for it has
    those of (r, first column of c's class) by the column classes, and those by the row
    classes. A zero-padded convolution has at most pad_top + pad_bottom + 1 row classes."""
    row_class, first_rows = _classes(thresholds.transpose(1, 0, 2, 3))
    col_class, first_cols = _classes(thresholds.transpose(2, 0, 1, 3))
    per_class = thresholds[:, first_rows][:, :, first_cols]  # (C, KR, KC, n)
    return row_class, col_class, per_class.transpose(1, 2, 0, 3).reshape(-1, thresholds.shape[0], thresholds.shape[-1])


def _threshold(node, op: Threshold, cur: Pixels, types) -> ThresholdStage:
    """A threshold not fused into a dot product: binarisation or quantization of the input."""
    if op.positional:
        raise BnnfpgaError(f"layer {node.name}: thresholds per position are supported behind a convolution only")
    t = op.thresholds
    width = signed_width(min(int(t.min()), cur.dtype.min), max(int(t.max()), cur.dtype.max)).bits + 1
    return ThresholdStage(node.name, node.source, cur, tuple(int(v) for v in t.reshape(-1)),
                          tuple(int(v) for v in op.constant), width, op.levels, op.base or 0, types[node.output].dtype)


def _sum_pool(node, op: SumPool, cur: Pixels, types, backend: str) -> Pool:
    if cur.dtype.kind == "float":
        raise BnnfpgaError(f"layer {node.name}: the {backend} backend pools integer activations only")
    out_t = types[node.output]
    return Pool(node.name, node.source, cur, Pixels(cur.c, out_t.shape[1], out_t.shape[2], out_t.dtype), tuple(op.kernel),
                tuple(op.strides), tuple(op.pads), 0, summing=True)


def _pool(node, op: MaxPool, cur: Pixels, types, backend: str) -> Pool:
    if cur.dtype.kind == "float":
        raise BnnfpgaError(f"layer {node.name}: the {backend} backend pools integer activations only")
    out_t = types[node.output]
    use_min = op.use_min if op.use_min is not None else np.zeros(cur.c, bool)
    mask = sum(1 << int(ch) for ch in np.flatnonzero(use_min))
    return Pool(node.name, node.source, cur, Pixels(cur.c, out_t.shape[1], out_t.shape[2], cur.dtype), tuple(op.kernel),
                tuple(op.strides), tuple(op.pads), mask)
