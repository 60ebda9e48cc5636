"""Runs an IR graph (at any pipeline stage) on a batch of frames with the golden kernels."""

from __future__ import annotations

import numpy as np

from bnnfpga.errors import BnnfpgaError
from bnnfpga.golden import kernels
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.head import ranked
from bnnfpga.ir.ops import (
    JOINS,
    Add,
    Affine,
    Binarize,
    Clamp,
    Conv,
    DotProduct,
    IntegerAffine,
    LabelSelect,
    LevelQuantizer,
    MaxPool,
    OutputAffine,
    PReLU,
    Reshape,
    SumPool,
    Threshold,
)
from bnnfpga.ir.patches import float_conv
from bnnfpga.ir.types import TensorType

# packed: the hardware's bit-level dot products everywhere; gemm: float matrix products;
# auto: XNOR-popcount on packed words where inputs are bipolar and weights ±1 (there it beats
# the GEMM about 2×, benchmarks/golden.py), the GEMM elsewhere. All three agree exactly.
ROUTES = ("packed", "gemm", "auto")
# Frames per step: bounds the memory of im2col matrices on large models.
BATCH = 64


def check_shape(graph: Graph, x: np.ndarray) -> np.ndarray:
    """A batch (N, *shape) of the graph input's shape (one frame becomes a batch of one)."""
    t = graph.input_type
    x = np.asarray(x)
    if x.ndim == len(t.shape):
        x = x[None]
    if tuple(x.shape[1:]) != t.shape:
        raise BnnfpgaError(f"input has shape {tuple(x.shape)}, the model expects (N, {', '.join(map(str, t.shape))})")
    return x


def check_input(graph: Graph, x: np.ndarray) -> np.ndarray:
    """Validate a batch against the graph input (N, *shape) and its integer range."""
    t = graph.input_type
    x = check_shape(graph, x)
    if np.issubdtype(x.dtype, np.floating):
        if not np.all(np.isfinite(x)) or not np.all(x == np.round(x)):
            raise BnnfpgaError(f"input must hold integers ({t.dtype}), found non-integer values (a model that quantizes "
                               "a float input takes float frames with --float-input)")
    elif not np.issubdtype(x.dtype, np.integer):
        raise BnnfpgaError(f"input must be an integer array, got dtype {x.dtype}")
    if x.size and (x.min() < t.dtype.min or x.max() > t.dtype.max):
        raise BnnfpgaError(
            f"input values must lie in [{t.dtype.min}, {t.dtype.max}] ({t.dtype}), found [{x.min()}, {x.max()}]"
        )
    return x.astype(np.int64)


def to_channels_last(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 3, 1) if x.ndim == 4 else x


def to_channels_first(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 3, 1, 2) if x.ndim == 4 else x


def _integer_dot(op: DotProduct, weight: np.ndarray, x: np.ndarray, in_type: TensorType, route: str) -> np.ndarray:
    if route == "auto":
        route = "packed" if kernels.xnor_applies(in_type.dtype, weight) else "gemm"
    bound = in_type.dtype.magnitude * op.fan_in * int(np.abs(weight).max(initial=0))
    if isinstance(op, Conv):
        return kernels.conv(x, weight, op.strides, op.pads, route, in_type.dtype, bound)
    return kernels.dense(x, weight, route, in_type.dtype, bound)


def _gained_dot(op: DotProduct, x: np.ndarray, in_type: TensorType, route: str) -> np.ndarray:
    """gains[:, 0]·P − gains[:, 1]·N over the two weight planes (DotProduct): exact integers
    with integer gains, float64 with the float gains read from the model."""
    planes = [_integer_dot(op, (op.weight == sign).astype(np.int8), x, in_type, route) for sign in (1, -1)]
    positive, negative = (np.asarray(p).astype(np.int64) for p in planes)
    if op.has_float_gains:
        return op.gains[:, 0] * positive.astype(np.float64) - op.gains[:, 1] * negative.astype(np.float64)
    return op.gains[:, 0].astype(np.int64) * positive - op.gains[:, 1].astype(np.int64) * negative


def _residual_dot(op: DotProduct, x: np.ndarray, route: str) -> np.ndarray:
    """n^K·W·x̂ (DotProduct.residual_order): exact int64 on integers (fixed-point gains with a
    ``residual_gain_shift``), float64 before folding."""
    if isinstance(op, Conv):
        return kernels.residual_conv(x, op.weight, op.strides, op.pads, op.residual_order, route, op.residual_gain_shift)
    return kernels.residual_rows(x, op.weight, op.residual_order, route, op.residual_gain_shift)


def _run_node(op, x: np.ndarray, in_type: TensorType, route: str) -> np.ndarray:
    if isinstance(op, DotProduct) and op.residual_order:
        if op.weight_dtype.kind == "float" or not in_type.dtype.is_integer:
            x = x.astype(np.float64)
        y = _residual_dot(op, x, "gemm" if route == "auto" else route)
        return y if op.bias is None else y + op.bias
    if isinstance(op, DotProduct):
        if op.weight_dtype.kind == "float" or not in_type.dtype.is_integer:
            if isinstance(op, Conv):
                return float_conv(x, op.effective_weight, op.bias, op.strides, op.pads)
            y = x.astype(np.float64) @ op.effective_weight.T
            return y if op.bias is None else y + op.bias
        if op.gains is not None:
            return _gained_dot(op, x, in_type, route)
        return _integer_dot(op, op.weight, x, in_type, route)
    if isinstance(op, Affine):
        return x * op.scale + np.moveaxis(op.offset(), 0, -1)  # (C, H, W) position biases channels-last
    if isinstance(op, OutputAffine):
        return x * op.scale + op.bias
    if isinstance(op, IntegerAffine):
        return x.astype(np.int64) * op.scale + op.offset
    if isinstance(op, PReLU):
        x = x.astype(np.float64)
        return np.where(x >= 0, x, op.slope * x)
    if isinstance(op, Binarize):
        return np.where(x > 0 if op.strict else x >= 0, 1, -1).astype(np.int8)
    if isinstance(op, Threshold):
        return kernels.threshold(x, op.thresholds, op.constant, op.base)
    if isinstance(op, LevelQuantizer):
        return op.evaluate(x)
    if isinstance(op, Clamp):
        return np.clip(x.astype(np.float64), op.lo, op.hi)
    if isinstance(op, MaxPool):
        return kernels.max_pool(x, op.kernel, op.strides, op.pads, op.use_min)
    if isinstance(op, SumPool):
        return kernels.sum_pool(x, op.kernel, op.strides, op.pads)
    if isinstance(op, LabelSelect):
        return ranked(x if op.largest else -x, op.k)
    if isinstance(op, Reshape):  # ONNX reshapes in (N, C, H, W) order
        return to_channels_last(to_channels_first(x).reshape((x.shape[0],) + tuple(op.shape)))
    raise TypeError(f"golden model has no kernel for {type(op).__name__}")


def _join(op, xs: list[np.ndarray], out_type: TensorType) -> np.ndarray:
    """Add or Concat (channels-last): exact int64 on integers, float64 otherwise; a concat
    of bipolar tensors stays int8 ±1."""
    if not out_type.dtype.is_integer:
        xs = [x.astype(np.float64) for x in xs]
    elif out_type.dtype.kind != "bipolar":
        xs = [x.astype(np.int64) for x in xs]
    if isinstance(op, Add):
        return xs[0] * (1 << op.shifts[0]) + xs[1] * (1 << op.shifts[1])
    return np.concatenate(xs, axis=-1)


def execute(graph: Graph, x: np.ndarray, route: str = "packed", keep_all: bool = False) -> dict[str, np.ndarray]:
    """Run ``graph`` on frames ``x`` (N, *input shape). Returns {tensor: value} for the output,
    or for every tensor when ``keep_all``, in ONNX layout (N, C, H, W) or (N, F). Bipolar
    tensors are int8 ±1; integers are int64 (packed route) or integer-valued floats (gemm
    route); floats are float64."""
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}")
    x = check_input(graph, x)
    types = graph.types()
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, x.shape[0], BATCH):
        values = {graph.input_name: to_channels_last(x[start : start + BATCH])}
        for node in graph.nodes:
            if isinstance(node.op, JOINS):
                values[node.output] = _join(node.op, [values[i] for i in node.inputs], types[node.output])
            else:
                (inp,) = node.inputs
                values[node.output] = _run_node(node.op, values[inp], types[inp], route)
        kept = values if keep_all else {graph.output_name: values[graph.output_name]}
        parts.append({k: to_channels_first(v) for k, v in kept.items()})
    if not parts:
        return {graph.output_name: np.zeros((0,) + types[graph.output_name].shape)}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def predict(graph: Graph, x: np.ndarray, route: str = "auto") -> np.ndarray:
    """The model's output for frames ``x``: float32 when the output is a host-side affine,
    then the graph's head (softmax probabilities, int64 class indices) if it has one."""
    y = execute(graph, x, route)[graph.output_name]
    y = y.astype(np.float32) if np.issubdtype(y.dtype, np.floating) else y
    return graph.head.apply(y) if graph.head is not None else y
