"""IR verifier, run after every pipeline stage.

``verify(graph)`` checks structure, types and per-op invariants and raises ``IRError``
(an internal error: a pass produced a broken graph). ``verify_folded(graph)`` checks that
folding reached the hardware form and raises ``ModelError`` naming the first node that
could not be folded (a model bnnfpga does not support).
"""

from __future__ import annotations

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import (
    JOINS,
    ROUNDING_MODES,
    Add,
    Affine,
    Binarize,
    Clamp,
    Concat,
    Conv,
    DotProduct,
    FloatThresholds,
    IntegerAffine,
    LabelSelect,
    LevelQuantizer,
    MaxPool,
    OutputAffine,
    PReLU,
    Quantize,
    Reshape,
    SumPool,
    Threshold,
    Truncate,
    is_integer_weight,
)
from bnnfpga.ir.types import signed_width

# The accelerator streams the last layer's accumulators as int32 (docs/DESIGN.md 3.7).
MAX_ACCUMULATOR_BITS = 32
# A layer of weight bases (ABC-Net) whose accumulator stays inside its engine (a threshold
# reads it) may be wider, so that float32 gains stay exact (docs/DESIGN.md 5.2); so may a
# layer with residual binarization, whose n^K·W·x̂ grows by log2(n) bits per order (5.3).
MAX_BASES_ACCUMULATOR_BITS = 48
# The exact sums A_k and gains G_k ≤ n^K·max|x| of a residual binarization (5.3): the golden
# model's int64 and the binarizer's registers, with room for its update N·S − A·h.
MAX_RESIDUAL_GAIN_BITS = 62


class IRError(AssertionError):
    """A pass broke an IR invariant: a bug in bnnfpga, not in the user's model."""


def _fail(node, message: str) -> IRError:
    return IRError(f"{node.name} ({type(node.op).__name__}): {message}")


def accumulator_limit(graph: Graph, node) -> int:
    """Bits the accumulator of the dot product ``node`` of a folded graph may take: 48 for
    weight bases or residual binarization read only by thresholds (the accumulator stays
    inside its engine), else 32 (streamed to the host as int32)."""
    op = node.op
    inside = (op.bases is not None or op.residual_order > 0) and all(
        isinstance(n.op, Threshold) for n in graph.consumers(node.output))
    return MAX_BASES_ACCUMULATOR_BITS if inside else MAX_ACCUMULATOR_BITS


def verify(graph: Graph) -> None:
    seen = {graph.input_name}
    names = set()
    for node in graph.nodes:
        if node.name in names:
            raise _fail(node, "duplicate node name")
        names.add(node.name)
        if isinstance(node.op, Add) and len(node.inputs) != 2:
            raise _fail(node, "an add joins exactly two tensors")
        if isinstance(node.op, Concat) and len(node.inputs) < 2:
            raise _fail(node, "a concat joins at least two tensors")
        if not isinstance(node.op, JOINS) and len(node.inputs) != 1:
            raise _fail(node, "ops other than Add and Concat take exactly one input")
        for i in node.inputs:
            if i not in seen:
                raise _fail(node, f"reads {i!r} before it is produced")
        if node.output in seen:
            raise _fail(node, f"tensor {node.output!r} produced twice")
        seen.add(node.output)
    if graph.output_name not in seen:
        raise IRError(f"graph output {graph.output_name!r} is never produced")
    try:
        types = graph.types()
    except Exception as exc:  # shape arithmetic on a malformed op
        raise IRError(f"type inference failed: {exc}") from exc
    for node in graph.nodes:
        if isinstance(node.op, JOINS):
            _verify_join(node, [types[i] for i in node.inputs])
        else:
            _verify_node(node, types[node.inputs[0]], types[node.output])
    if graph.head is not None:
        out = types[graph.output_name]
        if len(out.shape) != 1:
            raise IRError(f"the head {graph.head.kind} needs a vector output, not {out}")
        labels = graph.producer(graph.output_name)
        if (graph.head.kind == "labels") != (labels is not None and isinstance(labels.op, LabelSelect)):
            raise IRError("a 'labels' head goes with a LabelSelect output, and only with one")
        if graph.head.kind in ("topk", "labels") and graph.head.k > out.shape[0]:
            raise IRError(f"the head selects {graph.head.k} of {out.shape[0]} values")


def _verify_join(node, in_types) -> None:
    op = node.op
    if isinstance(op, Add):
        if in_types[0].shape != in_types[1].shape:
            raise _fail(node, f"adds tensors of different shapes {in_types[0].shape} and {in_types[1].shape}")
        if min(op.shifts) != 0:
            raise _fail(node, f"shifts {op.shifts}: non-negative, at least one of them 0")
        if any(op.shifts) and not all(t.dtype.is_integer for t in in_types):
            raise _fail(node, "shifts apply to integer inputs only")
    elif isinstance(op, Concat):
        if len({t.shape[1:] for t in in_types}) != 1:
            raise _fail(node, f"concatenates tensors of different spatial shapes {[t.shape for t in in_types]}")


def _verify_node(node, in_type, out_type) -> None:
    op = node.op
    if any(d <= 0 for d in out_type.shape):
        raise _fail(node, f"empty output shape {out_type.shape}")
    if isinstance(op, DotProduct):
        expected_rank = 4 if isinstance(op, Conv) else 2
        if op.weight.ndim != expected_rank:
            raise _fail(node, f"weight rank {op.weight.ndim}, expected {expected_rank}")
        fan_in_shape = in_type.shape[:1] if isinstance(op, Conv) else in_type.shape
        if op.weight.shape[1 : 1 + len(fan_in_shape)] != fan_in_shape:
            raise _fail(node, f"weight {op.weight.shape} does not match input {in_type}")
        if is_integer_weight(op.weight):
            limit = int(np.iinfo(op.weight.dtype).max)
            if np.any(op.weight == -limit - 1):
                raise _fail(node, f"integer weights must lie in [−{limit}, {limit}] (a flipped row negates them)")
            if op.bias is not None:
                raise _fail(node, "integer dot products carry no bias (it belongs to the affine)")
        for field in ("flipped", "acc_min", "acc_max"):
            value = getattr(op, field)
            if value is not None and value.shape != (op.out_channels,):
                raise _fail(node, f"{field} has shape {value.shape}, expected ({op.out_channels},)")
        for field in ("gains", "plane_min", "plane_max"):
            value = getattr(op, field)
            if value is not None and value.shape != (op.out_channels, 2):
                raise _fail(node, f"{field} has shape {value.shape}, expected ({op.out_channels}, 2)")
        if op.bases is not None:
            if op.base_gains is None or op.bases.shape[1:] != op.weight.shape or \
                    op.base_gains.shape != (op.out_channels, op.bases.shape[0]) or np.any(np.abs(op.bases) != 1):
                raise _fail(node, "weight bases must be ±1, one gain per row and base, and match the weights")
            view = (op.out_channels,) + (1,) * (op.weight.ndim - 1)
            total = sum(op.base_gains[:, i].reshape(view) * op.bases[i] for i in range(op.bases.shape[0]))
            if not np.array_equal(total, op.weight):
                raise _fail(node, "the weights are not the sum of their scaled bases")
        if op.gains is not None:
            if op.weight.dtype != np.int8 or np.any(np.abs(op.weight) > 1):
                raise _fail(node, "gains go with ternary weight codes")
            if not np.all(op.gains > 0) or not np.all(np.isfinite(op.gains)):
                raise _fail(node, "gains must be positive")
        if op.acc_min is not None and np.any(op.acc_min > op.acc_max):
            raise _fail(node, "empty accumulator range")
    elif isinstance(op, (Affine, OutputAffine)):
        c = in_type.shape[0]
        if op.scale.shape != (c,) or op.bias.shape != (c,):
            raise _fail(node, f"scale/bias must have shape ({c},)")
        if not (np.all(np.isfinite(op.scale)) and np.all(np.isfinite(op.bias))):
            raise _fail(node, "non-finite scale or bias")
        if isinstance(op, Affine) and op.position_bias is not None:
            if len(in_type.shape) != 3 or op.position_bias.shape != in_type.shape:
                raise _fail(node, f"position_bias must have the shape of the feature map {in_type.shape}")
            if not np.all(np.isfinite(op.position_bias)):
                raise _fail(node, "non-finite position bias")
    elif isinstance(op, IntegerAffine):
        c = in_type.shape[0]
        if not in_type.dtype.is_integer or op.scale.shape != (c,) or np.any(op.scale == 0) or op.offset.shape != (c,):
            raise _fail(node, "integer affine needs an integer input and one non-zero scale and one offset per channel")
    elif isinstance(op, Threshold):
        c = in_type.shape[0]
        if not in_type.dtype.is_integer:
            raise _fail(node, "thresholds compare integers")
        if op.base is None and op.levels != 1:
            raise _fail(node, "a bipolar threshold has exactly one threshold per channel")
        positions = tuple(in_type.shape[1:]) if op.positional else ()
        if op.thresholds.shape[:-1] != (c, *positions) or op.thresholds.ndim not in (2, 4):
            raise _fail(node, f"thresholds must have shape ({c}, n), or ({c}, H, W, n) per position of a feature map")
        if op.positional and op.base is None and np.any(op.constant != 0):
            raise _fail(node, "thresholds per position have no constant channels (their thresholds sit at the range ends)")
        if np.any(np.diff(op.thresholds, axis=-1) < 0):
            raise _fail(node, "thresholds of a channel must be sorted")
        if op.constant.shape != (c,) or not np.all(np.isin(op.constant, (-1, 0, 1))):
            raise _fail(node, "constant must be −1, 0 or +1 per channel")
    elif isinstance(op, MaxPool):
        if min(op.kernel) < 1 or min(op.strides) < 1 or min(op.pads) < 0:
            raise _fail(node, "kernel and strides must be positive, pads non-negative")
        if max(op.pads[0], op.pads[2]) >= op.kernel[0] or max(op.pads[1], op.pads[3]) >= op.kernel[1]:
            raise _fail(node, "a pooling window would lie entirely in the padding")
        if op.use_min is not None and op.use_min.shape != (in_type.shape[0],):
            raise _fail(node, "use_min must have one flag per channel")
    elif isinstance(op, SumPool):
        if min(op.kernel) < 1 or min(op.strides) < 1 or min(op.pads) < 0:
            raise _fail(node, "kernel and strides must be positive, pads non-negative")
        if max(op.pads[0], op.pads[2]) >= op.kernel[0] or max(op.pads[1], op.pads[3]) >= op.kernel[1]:
            raise _fail(node, "a pooling window would lie entirely in the padding")
    elif isinstance(op, Truncate):
        if op.qmin >= op.qmax or op.rounding not in ROUNDING_MODES or not op.scale > 0:
            raise _fail(node, "truncation needs qmin < qmax, a positive scale and a known rounding mode")
    elif isinstance(op, PReLU):
        if op.slope.shape != (in_type.shape[0],) or not np.all(np.isfinite(op.slope)):
            raise _fail(node, f"slope must be finite with shape ({in_type.shape[0]},)")
    elif isinstance(op, Clamp):
        c = in_type.shape[0]
        if op.lo.shape != (c,) or op.hi.shape != (c,) or np.any(op.lo > op.hi) or np.any(np.isnan(op.lo)) or np.any(np.isnan(op.hi)):
            raise _fail(node, f"clamp bounds must have shape ({c},) with lo ≤ hi")
    elif isinstance(op, Quantize):
        if op.qmin >= op.qmax or op.rounding not in ROUNDING_MODES:
            raise _fail(node, f"quantizer needs qmin < qmax and a known rounding mode, got [{op.qmin}, {op.qmax}], {op.rounding}")
    elif isinstance(op, FloatThresholds):
        c = in_type.shape[0]
        if op.thresholds.ndim != 2 or op.thresholds.shape[0] != c or op.thresholds.shape[1] < 1:
            raise _fail(node, f"thresholds must have shape ({c}, n), n ≥ 1")
        if np.any(np.isnan(op.thresholds)) or np.any(np.diff(op.thresholds, axis=1) < 0):
            raise _fail(node, "thresholds of a channel must be sorted numbers")
    elif isinstance(op, Reshape):
        if out_type.size != in_type.size:
            raise _fail(node, f"reshape changes the size {in_type.size} → {out_type.size}")
    elif isinstance(op, LabelSelect):
        if len(in_type.shape) != 1 or not in_type.dtype.is_integer or not 1 <= op.k <= in_type.shape[0]:
            raise _fail(node, f"selects {op.k} labels of {in_type}: needs an integer vector of at least k values")
    elif not isinstance(op, Binarize):
        raise _fail(node, "unknown op")


def verify_folded(graph: Graph) -> None:
    """The graph is in hardware form: integer ops only, one optional host affine at the end,
    thresholds inside the proven accumulator range, accumulators at most 32 bits."""
    verify(graph)
    types = graph.types()
    producers = {n.output: n for n in graph.nodes}
    on_host = False  # the output affine and any flatten after it run on the host
    for node in graph.nodes:
        op = node.op
        in_type = types[node.inputs[0]]
        where = dict(node=node.source or node.name, op=type(op).__name__)
        if on_host and isinstance(op, Reshape):
            continue
        if isinstance(op, LabelSelect):
            dot = producers.get(node.inputs[0])
            if dot is None or not isinstance(dot.op, DotProduct) or node is not graph.nodes[-1]:
                raise ModelError("a label select reads the last dot product's accumulators and ends the graph", **where)
            continue
        if isinstance(op, OutputAffine):
            on_host = True
            rest = graph.nodes[graph.nodes.index(node) + 1 :]
            if not all(isinstance(n.op, Reshape) for n in rest):
                raise ModelError("a host-side affine is only possible on the last layer", **where)
            continue
        if isinstance(op, Clamp):
            raise ModelError("a Clip/Relu on activations is supported only in front of a quantizer "
                             "(Clip → [Mul/Div/Add] → Round, as PACT/DoReFa write it)", **where)
        if isinstance(op, DotProduct) and op.has_float_gains:
            raise ModelError(
                "asymmetric ternary weights {−a, 0, +b} are supported where a binarisation or quantizer follows "
                "(the engines decide A·P − B·N ≥ T on the two plane sums); this layer's output is not "
                "thresholded, and its float value b·P − a·N has no integer form",
                **where,
            )
        if isinstance(op, (Affine, Binarize, LevelQuantizer)) or not types[node.output].dtype.is_integer:
            join = next((n for n in graph.consumers(node.output) if isinstance(n.op, JOINS)), None)
            joined = "" if join is None else (
                f"; it feeds the {type(join.op).__name__} {join.source or join.name!r}, whose inputs must be integer levels "
                "(a binarisation or quantizer in front of each, docs/DESIGN.md 3.15)")
            raise ModelError(
                "this step could not be folded into integer thresholds: supported is "
                "dot product → per-channel affine/batchnorm → binarisation or quantizer, with max-pooling anywhere in between"
                + joined,
                **where,
            )
        if isinstance(op, DotProduct):
            if not in_type.dtype.is_integer:
                raise ModelError(f"input is {in_type.dtype}, expected an integer tensor", **where)
            if op.acc_min is None:
                raise IRError(f"{node.name}: accumulator range was not proven")
            width = signed_width(int(op.acc_min.min()), int(op.acc_max.max())).bits
            limit = accumulator_limit(graph, node)
            if width > limit and op.residual_order:
                raise ModelError(
                    f"residual binarization of order {op.residual_order} over vectors of {op.fan_in} values needs a "
                    f"{width}-bit accumulator even with fixed-point gains (docs/DESIGN.md 5.3), more than {limit}; "
                    "supported: a lower order, shorter vectors, or a binarisation or quantizer behind the layer",
                    **where)
            if width > limit:
                raise ModelError(f"accumulator needs {width} bits, more than {limit}", **where)
        if isinstance(op, Threshold):
            dot = producers.get(node.inputs[0])
            if dot is not None and isinstance(dot.op, DotProduct):
                per_channel = (-1,) + (1,) * (op.thresholds.ndim - 1)
                lo, hi = dot.op.acc_min.reshape(per_channel), dot.op.acc_max.reshape(per_channel)
                if np.any(op.thresholds < lo) or np.any(op.thresholds > hi + 1):
                    raise IRError(f"{node.name}: threshold outside the accumulator range [min, max + 1]")
