"""Lowering of the folded IR to the engines (hw/engines.py) for a folding: each dot product
becomes a window generator or flatten feeding an MVU (with the threshold behind it fused
in), other ops their own engines, a tensor read by several layers a fork, an add or concat
a join; the output affine stays on the host.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnnfpga.errors import BnnfpgaError, ModelError
from bnnfpga.hw.engines import (
    MAX_DSP_INPUT_BITS,
    Dataflow,
    Engine,
    Flatten,
    ForkStage,
    InputStage,
    IntegerAffineStage,
    JoinStage,
    LabelSelectStage,
    Mvu,
    OutputStage,
    Pixels,
    Pool,
    Port,
    ResidualBinarizer,
    ThresholdStage,
    Window,
    residual_widths,
)
from bnnfpga.hw.fold import Fold
from bnnfpga.hw.host import accumulator_tensor, host_nodes
from bnnfpga.hw.layout import is_power_of_two_code, weight_code_bits
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import (
    JOINS,
    Add,
    Concat,
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
from bnnfpga.ir.types import BIPOLAR, MAX_ENGINE_WEIGHT_BITS, TERNARY, TensorType, signed_width

# Weight bases (ABC-Net) an MVU takes: a weight code bit each (rtl/bnn_mvu.sv BASES)
MIN_BASES, MAX_BASES = 2, 8
# Residual binarization (HORQ): sign planes per element (rtl/bnn_mvu.sv RESIDUAL), and the
# widest input levels the binarizer's histogram takes a bin per value of
MAX_RESIDUAL_ORDER = 8
MAX_RESIDUAL_INPUT_BITS = 4


@dataclass
class _Stream:
    """What an IR tensor is in hardware: the engine port that drives it, its pixels, and (for
    a flatten's output, which has no engine) the feature map it flattens."""

    port: Port
    pixels: Pixels
    flattened_from: tuple[int, int, int] | None = None


class _Builder:
    """Engines in topological order with the streams each reads. A tensor read by k nodes
    passes a cascade of k − 1 forks; its readers take the fork outputs in node order."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.engines: list[Engine] = []
        self.inputs: list[tuple[Port, ...]] = []
        self.pending: dict[str, list[_Stream]] = {}

    def add(self, engine: Engine, *sources: _Stream) -> _Stream:
        self.engines.append(engine)
        self.inputs.append(tuple(s.port for s in sources))
        return _Stream((len(self.engines) - 1, 0), getattr(engine, "out", sources[0].pixels if sources else None))

    def publish(self, tensor: str, stream: _Stream) -> None:
        """``stream`` carries ``tensor``: fork it once per extra reader."""
        readers = len(self.graph.consumers(tensor))
        ports = [stream]
        while len(ports) < readers:
            last = ports.pop()
            fork = len(self.engines)
            self.add(ForkStage(f"{tensor}_fork{fork}", last.pixels), last)
            ports += [_Stream((fork, 0), last.pixels, last.flattened_from), _Stream((fork, 1), last.pixels, last.flattened_from)]
        self.pending[tensor] = ports

    def take(self, tensor: str) -> _Stream:
        """The next unread copy of ``tensor``."""
        return self.pending[tensor].pop(0)


def lower(graph: Graph, folding: dict[str, Fold], backend: str = "hardware") -> Dataflow:
    """The engines for a folded ``graph``; ``backend`` names the caller in errors."""
    types = graph.types()
    t_in = graph.input_type
    if len(t_in.shape) not in (1, 3):
        raise BnnfpgaError(f"the {backend} backend takes (C, H, W) images or (F,) vectors, not an input of shape {t_in.shape}")
    c, h, w = t_in.shape if len(t_in.shape) == 3 else (t_in.shape[0], 1, 1)
    b = _Builder(graph)
    b.publish(graph.input_name, b.add(InputStage(Pixels(c, h, w, t_in.dtype))))
    fused: set[str] = set()  # thresholds lowered into the MVU in front of them
    on_host = {n.name for n in host_nodes(graph)}  # the output affine (docs/DESIGN.md 3.7)
    for node in graph.nodes:
        op = node.op
        if node.name in fused or node.name in on_host:
            continue
        if isinstance(op, JOINS):
            out = _join(b, node, op, types, backend)
        else:
            cur = b.take(node.inputs[0])
            if isinstance(op, IntegerAffine):
                engine = IntegerAffineStage(node.name, node.source, cur.pixels, Pixels(cur.pixels.c, cur.pixels.h, cur.pixels.w,
                                            types[node.output].dtype), tuple(int(v) for v in op.scale),
                                            tuple(int(v) for v in op.offset))
                out = b.add(engine, cur)
            elif isinstance(op, DotProduct):
                after = graph.only_consumer(node.output)
                activation = after.op if after is not None and isinstance(after.op, Threshold) else None
                mvu = _mvu(node, op, activation, cur.pixels, folding[node.name], types, cur.flattened_from, backend)
                feeder = _window(node, op, cur.pixels, mvu) if isinstance(op, Conv) else Flatten(node.name, cur.pixels,
                                                                                               mvu.fold.simd)
                chunks = b.add(feeder, cur)
                if op.residual_order:
                    chunks = b.add(_residual_binarizer(node, op, cur.pixels, mvu), chunks)
                out = b.add(mvu, chunks)
                if activation is not None:
                    fused.add(after.name)
                    b.publish(after.output, out)
                    continue
            elif isinstance(op, Threshold):
                out = b.add(_threshold(node, op, cur.pixels, types), cur)
            elif isinstance(op, MaxPool):
                out = b.add(_pool(node, op, cur.pixels, types, backend), cur)
            elif isinstance(op, Reshape):
                readers = graph.consumers(node.output)
                if readers and not all(isinstance(r.op, (Dense, OutputAffine)) for r in readers):
                    raise BnnfpgaError(f"layer {node.name}: the {backend} backend needs a flatten to feed a fully connected "
                                       f"layer directly, not {type(readers[0].op).__name__}")
                p = cur.pixels
                out = _Stream(cur.port, p, (p.c, p.h, p.w))
            elif isinstance(op, SumPool):
                out = b.add(_sum_pool(node, op, cur.pixels, types, backend), cur)
            elif isinstance(op, LabelSelect):
                p = cur.pixels
                if p.count != 1:
                    raise BnnfpgaError(f"layer {node.name}: the {backend} backend selects labels of a vector, not of "
                                       f"{p.h}x{p.w} positions")
                out_t = types[node.output]
                out = b.add(LabelSelectStage(node.name, node.source, p, Pixels(op.k, 1, 1, out_t.dtype), op.k, op.largest),
                            cur)
            else:
                raise BnnfpgaError(f"layer {node.name} ({type(op).__name__}): not supported by the {backend} backend yet")
        b.publish(node.output, out)
    engines = b.engines
    branches = any(len(ins) != 1 for ins in b.inputs[1:]) or any(ins != ((i, 0),) for i, ins in enumerate(b.inputs[1:]))
    inputs = tuple(b.inputs) if branches else ()
    flow = Dataflow(tuple(engines), engines[0].out, inputs)
    inner = [e for i, e in enumerate(engines) if isinstance(e, Mvu) and e.thresholds is None
             and not isinstance(flow.reader(i), LabelSelectStage) and i != len(engines) - 1]
    if inner:
        raise BnnfpgaError(f"layer {inner[0].name}: the {backend} backend streams a dot product's accumulators out of "
                           "the accelerator only from the last layer; a hidden layer needs a quantizer behind it")
    if not any(isinstance(e, Mvu) for e in engines):
        raise BnnfpgaError(f"the {backend} backend needs a model with at least one dot product (Conv, Gemm, MatMul)")
    # The last engine's values leave as int32 beats: accumulators (logits), or the levels of
    # a thresholded last layer (a binary or k-bit output, docs/DESIGN.md 3.7).
    last = b.take(accumulator_tensor(graph))
    p = last.pixels
    b.add(OutputStage(p.c, p.h * p.w, p.dtype), last)
    return Dataflow(tuple(b.engines), b.engines[0].out, tuple(b.inputs) if branches else ())


def _join(b: _Builder, node, op, types, backend: str) -> _Stream:
    """An add or a concat of two integer pixel streams (a concat of more: a cascade)."""
    streams = [b.take(t) for t in node.inputs]
    out_t = types[node.output]
    if any(s.pixels.dtype == BIPOLAR for s in streams) and not (isinstance(op, Concat) and
                                                                  all(s.pixels.dtype == BIPOLAR for s in streams)):
        raise ModelError(f"the {backend} backend joins integer levels, or bipolar streams by concat only; this "
                         f"{type(op).__name__.lower()} reads {', '.join(str(s.pixels.dtype) for s in streams)}",
                         node.source, type(op).__name__)
    if isinstance(op, Add):
        a, c = streams
        out = Pixels(a.pixels.c, a.pixels.h, a.pixels.w, out_t.dtype)
        return b.add(JoinStage(node.name, node.source, "add", a.pixels, c.pixels, out, tuple(op.shifts)), a, c)
    joined = streams[0]
    for i, nxt in enumerate(streams[1:], start=1):
        p, q = joined.pixels, nxt.pixels
        last = i == len(streams) - 1
        dtype = out_t.dtype if last else Concat().output_type([TensorType((p.c, p.h, p.w), p.dtype),
                                                                TensorType((q.c, q.h, q.w), q.dtype)]).dtype
        name = node.name if last else f"{node.name}_{i}"
        joined = b.add(JoinStage(name, node.source, "concat", p, q, Pixels(p.c + q.c, p.h, p.w, dtype)), joined, nxt)
    return joined


def _window(node, op: Conv, cur: Pixels, mvu: Mvu) -> Window:
    return Window(node.name, cur, tuple(op.kernel), tuple(op.strides), tuple(op.pads), mvu.fold.simd, mvu.out_h, mvu.out_w)


def _mvu(node, op: DotProduct, activation: Threshold | None, cur: Pixels, fold: Fold, types,
         flattened_from: tuple[int, int, int] | None, backend: str) -> Mvu:
    out_t = types[node.output]
    mh, mw = op.out_channels, op.fan_in
    rows = _stream_rows(op, op.weight, cur, flattened_from)
    oh, ow = (out_t.shape[1], out_t.shape[2]) if isinstance(op, Conv) else (1, 1)
    if op.residual_order:
        _check_residual(node, op, cur.dtype, backend)
    if op.bases is not None and not MIN_BASES <= len(op.bases) <= MAX_BASES:
        raise BnnfpgaError(f"layer {node.name}: {len(op.bases)} binary weight bases (ABC-Net) are not supported by the "
                           f"{backend} backend; supported: {MIN_BASES} to {MAX_BASES} bases")
    if op.bases is None and op.weight_dtype not in (BIPOLAR, TERNARY) and op.weight_dtype.bits > MAX_ENGINE_WEIGHT_BITS:
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
    gains, plane_w, weight_bits, bases = None, 0, weight_code_bits(op.weight_dtype), None
    if op.gains is not None:
        gains, weight_bits = op.gains.astype(np.int64), weight_code_bits(TERNARY)  # ±1 codes too: the planes need the mask
        plane_w = signed_width(int(op.plane_min.min()), int(op.plane_max.max())).bits
    if op.bases is not None:
        bases = np.stack([_stream_rows(op, b, cur, flattened_from) for b in op.bases]).astype(np.int8)
        gains, weight_bits, plane_w = op.base_gains.astype(np.int64), len(bases), _base_plane_width(bases, cur.dtype)
    residual_gain_w = 0
    if op.residual_order:  # ±1 weights on ternary planes: |P_k| ≤ MW; the binarizer in front sends the gains
        plane_w, padded = signed_width(-mw, mw).bits, False
        residual_gain_w = residual_widths(mw, op.residual_order, cur.dtype.magnitude)[1] - op.residual_gain_shift
    mvu = Mvu(node.name, node.source, mw, mh, fold, cur.dtype, acc_w, oh, ow, np.asarray(rows), thresholds, constant,
              threshold_w, flipped, padded, weight_bits, levels, base, out_dtype, gains, plane_w, row_class, col_class,
              is_power_of_two_code(op.weight_dtype) and op.gains is None and op.bases is None, bases,
              op.residual_order, residual_gain_w)
    if mvu.dsp_products and not mvu.takes_dsp_products:
        raise BnnfpgaError(f"layer {node.name}: the folding puts its products in DSP slices, but it has no w·x products "
                           f"for them ({op.weight_dtype} weights on {cur.dtype} inputs); DSP products are supported for "
                           f"3- to {MAX_ENGINE_WEIGHT_BITS}-bit integer weights on integer inputs of up to "
                           f"{MAX_DSP_INPUT_BITS} bits")
    return mvu


def _check_residual(node, op: DotProduct, dtype, backend: str) -> None:
    """What the residual binarizer and its MVU take (docs/DESIGN.md 5.3)."""
    if op.weight_dtype != BIPOLAR or op.gains is not None or op.bases is not None:
        raise BnnfpgaError(f"layer {node.name}: residual binarization (HORQ) with {op.weight_dtype} weights is not "
                           f"supported by the {backend} backend (the golden model runs it); supported: ±1 weights "
                           "(±α per row)")
    if op.residual_order > MAX_RESIDUAL_ORDER:
        raise BnnfpgaError(f"layer {node.name}: residual binarization of order {op.residual_order} is not supported by "
                           f"the {backend} backend (the golden model runs it); supported: orders 1 to {MAX_RESIDUAL_ORDER}")
    if dtype != BIPOLAR and not (dtype.is_integer and dtype.bits <= MAX_RESIDUAL_INPUT_BITS):
        raise BnnfpgaError(f"layer {node.name}: the {backend} backend's residual binarizer reads ±1 or 1- to "
                           f"{MAX_RESIDUAL_INPUT_BITS}-bit levels (a histogram bin per value), not {dtype} inputs; the "
                           "golden model runs it")


def _residual_binarizer(node, op: DotProduct, cur: Pixels, mvu: Mvu) -> ResidualBinarizer:
    padded = isinstance(op, Conv) and any(op.pads)
    return ResidualBinarizer(node.name, mvu.mw, mvu.fold.simd, cur.dtype, op.residual_order, padded, cur.dtype.magnitude,
                             mvu.out_h, mvu.out_w, op.residual_gain_shift)


def _stream_rows(op: DotProduct, weight: np.ndarray, cur: Pixels, flattened_from: tuple[int, int, int] | None) -> np.ndarray:
    """A weight tensor of ``op`` as (MH, MW) rows with the columns in stream order."""
    if isinstance(op, Conv):
        return conv_weight_rows(weight)
    mh = op.out_channels
    if flattened_from is not None and cur.count > 1:
        fc, fh, fw = flattened_from  # ONNX column c·H·W + y·W + x → stream column (y·W + x)·C + c
        return weight.reshape(mh, fc, fh, fw).transpose(0, 2, 3, 1).reshape(mh, -1)
    return weight


def _base_plane_width(bases: np.ndarray, dtype) -> int:
    """Width of the dot products P_i of inputs of ``dtype`` (or zero padding) with ±1 bases
    (M, MH, MW): per row, the +1 weights take the largest input and the −1 weights the smallest
    at the top, and the other way round at the bottom."""
    lo, hi = min(dtype.min, 0), max(dtype.max, 0)
    positive = (bases > 0).sum(axis=-1)
    negative = bases.shape[-1] - positive
    top, bottom = positive * hi - negative * lo, positive * lo - negative * hi
    return signed_width(int(bottom.min()), int(top.max())).bits


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
