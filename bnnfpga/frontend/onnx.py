"""Plain ONNX frontend: models exported by ``torch.onnx.export`` (legacy and dynamo modes).

The graph is walked once in topological order. Every tensor is either a *constant* (an
initialiser, or an op whose inputs are all constant: folded with ONNX's reference
evaluator, so weight binarisation such as ``Where(GreaterOrEqual(W, 0), 1, -1)`` becomes a
plain weight array), a *dynamic* IR tensor, or a *comparison* of a dynamic tensor with a
constant that only ``Where`` may consume. Dynamic ops become float-level IR ops (Conv,
Dense, Affine, Binarize, MaxPool, Reshape); the passes then fold them to integers.
Binary weights are recognised later by their values (``ExtractIntegerWeights``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from bnnfpga.errors import ModelError
from bnnfpga.frontend.common import check_input_options, node_attributes, uniform_values
from bnnfpga.frontend.residual import (
    RESIDUAL_IDIOMS,
    AbsResidual,
    Beta,
    ChannelMeanAbs,
    Fields,
    Patches,
    Residual,
    SignDot,
    SignOf,
    Signs,
    Terms,
    Unfolding,
    Window,
    box_value,
    patch_taps,
    residual_dot_op,
    unit_scale,
    window_index,
)
from bnnfpga.frontend.values import Const, Dynamic
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.head import Head
from bnnfpga.ir.input_quantizer import InputQuantizer
from bnnfpga.ir.ops import Add, Affine, Binarize, Clamp, Concat, Conv, Dense, MaxPool, PReLU, Quantize, Reshape, SumPool
from bnnfpga.ir.types import TensorType, uint
from bnnfpga.names import UniqueNames

SUPPORTED_DYNAMIC_OPS = (
    "Conv, Gemm, MatMul, BatchNormalization, Add/Sub/Mul/Div by per-channel constants, Neg, "
    "Add (or Sum) of two activations of one shape (a residual shortcut), Concat along channels, "
    "PRelu with a per-channel slope (in front of a quantizer or sign), "
    "Where(GreaterOrEqual/Greater/LessOrEqual/Less(x, c), a, b), Sign, MaxPool, AveragePool, GlobalAveragePool, "
    "ReduceMean over H and W, "
    "Abs/ReduceMean/Sign/Mul/Add/Sub chains of a residual binarization (HORQ of order K, XNOR-Net's input scaling) "
    "into a MatMul/Gemm or Conv, over receptive fields laid out by a 0/1 Conv or by F.unfold (Pad, Gather, "
    "Transpose, Reshape), "
    "Flatten, Reshape, Squeeze (to a vector), Not (of a comparison), "
    "Identity, Dropout, QuantizeLinear [→ Clip] → DequantizeLinear (QCDQ), Clip/Relu → [Mul/Div/Add] → Round (PACT, DoReFa); "
    "at the end: Softmax, LogSoftmax, ArgMax, TopK (indices) over the classes"
)


# The level range of a Round before BoundQuantizers finds its Clip (int32).
UNBOUNDED_LEVELS = (-(1 << 31), (1 << 31) - 1)


@dataclass
class _Compare:
    """x <cmp> c for a dynamic x, waiting for the Where that turns it into binarisation."""

    x: Dynamic
    cmp: str  # 'ge' | 'gt' | 'le' | 'lt'
    c: np.ndarray  # per-channel


@dataclass
class _Headed:
    """Class scores ``x`` (the ONNX tensor ``scores``) behind a classifier head: the end of
    the graph."""

    x: Dynamic
    scores: str
    head: Head
    node: str  # the head's ONNX node and op, for errors
    op: str


@dataclass
class _TopKValues:
    """TopK's sorted values output: supported only unused (the model returns the indices)."""

    node: str
    op: str = "TopK"


@dataclass
class _Levels:
    """The integer levels between a QuantizeLinear and its DequantizeLinear (QCDQ): ``x``
    is the output of the IR Quantize node ``quantize`` (reading a ``quantized`` tensor),
    which a Clip may still narrow; ``quantize`` None: the levels of the model's float input,
    quantized on the host (the importer's input quantizer)."""

    x: Dynamic
    quantize: Node | None
    quantized: TensorType | None


@dataclass
class _FloatInput:
    """The model's float input (``--float-input``): only its quantizer may read it."""

    shape: tuple[int, ...]


# Values that are half of an idiom wait for the op that completes it: what they are, and the
# ops they may feed (besides the pass-through ones). Any other consumer is refused by name,
# rather than handed a value it cannot read.
_WAITING = {
    _Compare: ("a comparison of an activation with a constant (binarisation as Where(x >= c, a, b))", ("Where", "Not")),
    _Levels: ("the integers of a QuantizeLinear", ("Clip", "DequantizeLinear")),
    _FloatInput: ("the model's float input (--float-input), which the host quantizes with the model's own quantizer,",
                  ("Quant", "IntQuant", "BipolarQuant", "QuantizeLinear")),
    **RESIDUAL_IDIOMS,
}
# Values that end the graph: any consumer is refused, naming the node that made them.
_FINAL = {
    _Headed: "a classifier head (Softmax, LogSoftmax, ArgMax, TopK) must end the graph",
    _TopKValues: "TopK's values are not supported (its indices are, as the model's output)",
}
_PASS_THROUGH = ("Identity", "Dropout")
# The ops that read a Dynamic's view (its ONNX shape) rather than its IR type.
_VIEW_OPS = ("Squeeze", "Unsqueeze", "Reshape", "Flatten", "Shape") + _PASS_THROUGH
_COMPARE_OPS = {"GreaterOrEqual": "ge", "Greater": "gt", "LessOrEqual": "le", "Less": "lt"}
# x <cmp> c written as c <cmp'> x when the constant comes first.
_MIRROR = {"ge": "le", "gt": "lt", "le": "ge", "lt": "gt"}
# not (x <cmp> c) as x <cmp'> c.
_NEGATION = {"ge": "lt", "gt": "le", "le": "gt", "lt": "ge"}


class OnnxImporter:
    """Plain ONNX. Subclasses (frontend/qonnx.py) add op handlers (``op_<Type>``), domains
    (``DOMAINS``) and constant evaluators (``fold_constant``)."""

    DOMAINS = ("", "ai.onnx")
    SUPPORTED = SUPPORTED_DYNAMIC_OPS

    def __init__(self, model: onnx.ModelProto, input_bits: int, input_scale: float = 1.0, float_input: bool = False):
        self.model = model
        self.input_bits = input_bits
        self.input_scale = input_scale
        self.float_input = float_input
        self.input_quantizer: InputQuantizer | None = None
        self.opsets = {imp.domain or "": imp.version for imp in model.opset_import}
        self.env: dict[str, Const | Dynamic | _Compare | _Levels] = {}
        self.nodes: list[Node] = []
        self.names = UniqueNames()
        self.onnx_tensors: dict[str, str] = {}
        self.onnx_scales: dict[str, tuple[list[float], list[float]]] = {}
        self.notes: list[str] = []

    # -- helpers ---------------------------------------------------------------------------
    def emit(self, onnx_node, op, x: Dynamic, suffix: str = "") -> Dynamic:
        base = (onnx_node.name or f"{onnx_node.op_type}_{len(self.nodes)}") + suffix
        name = self.names.take(base)
        node = Node(name, op, (x.tensor,), name, source=onnx_node.name or onnx_node.op_type)
        self.nodes.append(node)
        out_type = op.output_type([x.type])
        return Dynamic(name, out_type)

    def per_channel(self, onnx_node, x: Dynamic, c: np.ndarray) -> np.ndarray:
        """A constant that broadcasts against x (N, C, ...) and is uniform except along C,
        as a float64 vector of length C."""
        rank = len(x.type.shape) + 1
        c = np.asarray(c, dtype=np.float64)
        if c.ndim > rank:
            raise ModelError(f"constant of shape {c.shape} does not broadcast per channel", onnx_node.name, onnx_node.op_type)
        full_shape = (1,) + x.type.shape
        try:
            full = np.broadcast_to(c.reshape((1,) * (rank - c.ndim) + c.shape), full_shape)
        except ValueError:
            raise ModelError(f"constant of shape {c.shape} does not broadcast against {full_shape}", onnx_node.name, onnx_node.op_type) from None
        first = full[(0, slice(None)) + (slice(0, 1),) * (rank - 2)]
        if not np.array_equal(np.broadcast_to(first, full_shape), full):
            raise ModelError(
                "constant varies over spatial positions; only per-channel or per-tensor constants are supported",
                onnx_node.name,
                onnx_node.op_type,
            )
        return first.reshape(-1).copy()

    def unsupported(self, onnx_node, why: str = "") -> ModelError:
        msg = why or "unsupported operation on activations"
        return ModelError(f"{msg}; supported on activations: {self.SUPPORTED}", onnx_node.name, onnx_node.op_type)

    def opset(self, onnx_node) -> int | None:
        """The version of ``onnx_node``'s domain the model imports (None if it imports none)."""
        return self.opsets.get(onnx_node.domain or "", self.opsets.get("ai.onnx") if not onnx_node.domain else None)

    def fold_constant(self, onnx_node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
        """Evaluate a node whose inputs are all constants (weight binarisation, shape
        arithmetic, Constant nodes) with ONNX's reference implementation of the op at the
        model's opset, so every old form (axes as attributes, Reshape-5, Clip-6) means what
        the spec says it means at that version."""
        from onnx.reference import ReferenceEvaluator  # slow to import; only models with constant subgraphs need it

        feeds = {name: np.asarray(value) for name, value in zip(onnx_node.input, inputs) if name}
        # A one-node model, not the bare node: only a model's opset import makes the
        # evaluator pick the op's version (Unsqueeze-1 with its axes attribute, not Unsqueeze-13).
        graph = helper.make_graph(
            [onnx_node], "constant",
            [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape) for k, v in feeds.items()],
            [helper.make_empty_tensor_value_info(name) for name in onnx_node.output if name])
        one_node = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in self.opsets.items()])
        try:
            try:
                evaluator = ReferenceEvaluator(one_node)
            except RuntimeError:
                # No implementation of the model's version: the evaluator keeps only the
                # versions whose semantics changed (DequantizeLinear 19, not 13), so the
                # newest one means the same as the model's.
                evaluator = ReferenceEvaluator(onnx_node)
            return evaluator.run(None, feeds)
        except Exception:  # the evaluator's own messages are about its internals, not the model
            raise ModelError("cannot evaluate this constant expression (the op, its attributes or its constant inputs "
                             "are not valid at this opset)", onnx_node.name, onnx_node.op_type) from None

    # -- walk ------------------------------------------------------------------------------
    def run(self) -> Graph:
        g = self.model.graph
        for init in g.initializer:
            self.env[init.name] = Const(numpy_helper.to_array(init))
        inputs = [i for i in g.input if i.name not in self.env]
        if len(inputs) != 1:
            raise ModelError(f"the model must have exactly one input, found {len(inputs)}")
        self.check_supported_ops(inputs[0].name)
        x = self.read_input(inputs[0])
        graph_input = x
        if self.float_input:  # the input quantizer's levels become the IR input (quantize_input)
            self.env[inputs[0].name] = _FloatInput(x.type.shape)
        else:
            self.onnx_tensors[x.tensor] = inputs[0].name
            if self.input_scale != 1.0:  # the ONNX input is the integer frame times the scale
                x = self.emit_input_scale(x)
            self.env[inputs[0].name] = x
        self.graph_input = graph_input
        for node in g.node:
            self.visit(node)
        if self.float_input:
            if self.input_quantizer is None:
                raise ModelError(f"--float-input: the model's input {inputs[0].name!r} is not read by a quantizer "
                                 "(QONNX Quant/BipolarQuant or QuantizeLinear) whose levels the accelerator could take")
            graph_input = Dynamic(graph_input.tensor, TensorType(graph_input.type.shape, self.input_quantizer.dtype))
        if len(g.output) != 1:
            raise ModelError(f"the model must have exactly one output, found {len(g.output)}")
        out = self.env.get(g.output[0].name)
        head, scores = None, g.output[0].name
        if isinstance(out, _Headed):
            head, scores, out = out.head, out.scores, out.x
        if isinstance(out, _TopKValues):
            raise ModelError(f"the model's output {g.output[0].name!r} is TopK's values; supported are TopK's indices "
                             "(the classes), or the scores themselves", out.node, out.op, self.opsets.get(""))
        if not isinstance(out, Dynamic):
            raise ModelError(f"output {g.output[0].name!r} does not depend on the input")
        self.onnx_tensors[out.tensor] = scores
        self.prune_unused(out.tensor)
        self.notes.extend(
            f"node {node.source!r} (Sign): read as binarisation x >= 0 → +1, x < 0 → −1 (ONNX Sign maps 0 to 0)"
            for node in self.nodes if isinstance(node.op, Binarize) and node.op.onnx_sign)
        return Graph(
            input_name=graph_input.tensor,
            input_type=graph_input.type,
            nodes=self.nodes,
            output_name=out.tensor,
            model_name=g.name or "model",
            onnx_tensors=self.onnx_tensors,
            notes=self.notes,
            input_scale=self.input_scale,
            onnx_scales={k: v for k, v in self.onnx_scales.items() if k in self.onnx_tensors.values()},
            head=head,
            input_quantizer=self.input_quantizer,
        )

    def tag_levels(self, levels: Dynamic, onnx_name: str, scale: np.ndarray, zeropt: np.ndarray) -> None:
        """The ONNX tensor ``onnx_name`` holds scale·(levels − zeropt) per channel."""
        self.onnx_tensors[levels.tensor] = onnx_name
        self.onnx_scales[onnx_name] = ([float(v) for v in scale], [float(v) for v in zeropt])

    def emit_input_scale(self, x: Dynamic) -> Dynamic:
        name = self.names.take("input_scale")
        op = Affine(scale=np.full(x.type.shape[0], self.input_scale), bias=np.zeros(x.type.shape[0]))
        self.nodes.append(Node(name, op, (x.tensor,), name, source="input scale"))
        return Dynamic(name, op.output_type([x.type]))

    def prune_unused(self, output: str) -> None:
        """Drop nodes the output does not depend on (dead branches of the ONNX graph)."""
        needed, kept = {output}, []
        for node in reversed(self.nodes):
            if node.output in needed:
                needed.update(node.inputs)
                kept.append(node)
        self.nodes = kept[::-1]
        self.onnx_tensors = {k: v for k, v in self.onnx_tensors.items() if k in needed}

    def check_supported_ops(self, input_name: str) -> None:
        """Name every node on the activation path whose op has no handler, all at once."""
        dynamic, bad, seen_types = {input_name}, [], set()
        for node in self.model.graph.node:
            if node.op_type != "Shape" and any(i in dynamic for i in node.input):  # shapes are static
                dynamic.update(node.output)
                if not hasattr(self, f"op_{node.op_type}") and node.op_type not in seen_types:
                    seen_types.add(node.op_type)
                    bad.append(f"{node.op_type} ({node.name or 'unnamed'})")
        if bad:
            first = next(n for n in self.model.graph.node if f"{n.op_type} ({n.name or 'unnamed'})" == bad[0])
            also = f"; also unsupported: {', '.join(bad[1:6])}{' …' if len(bad) > 6 else ''}" if len(bad) > 1 else ""
            raise ModelError(f"unsupported operation on activations{also}; supported on activations: {self.SUPPORTED}",
                             first.name, first.op_type, self.opset(first))

    def read_input(self, vi) -> Dynamic:
        dims = vi.type.tensor_type.shape.dim
        shape = []
        for i, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(d.dim_value)
            elif i == 0:
                shape.append(None)  # batch
            else:
                raise ModelError(
                    f"input {vi.name!r} has a dynamic dimension {i} ({d.dim_param or '?'}); "
                    "only the batch dimension may be dynamic: export with a fixed image size"
                )
        if len(shape) < 2:
            raise ModelError(f"input {vi.name!r} has rank {len(shape)}; expected (N, C, H, W) or (N, F)")
        name = self.names.take("input")
        return Dynamic(name, TensorType(tuple(shape[1:]), uint(self.input_bits)))

    def visit(self, node) -> None:
        try:
            self.visit_at_opset(node)
        except ModelError as exc:
            raise exc.at_opset(self.opset(node)) from None

    def visit_at_opset(self, node) -> None:
        ins = [self.env.get(name) if name else None for name in node.input]
        for name, value in zip(node.input, ins):
            if name and value is None:
                raise ModelError(f"input {name!r} is not produced by any earlier node", node.name, node.op_type)
        if node.domain not in self.DOMAINS:
            raise ModelError(f"custom op domain {node.domain!r} is not supported (supported: the ONNX standard ops, "
                             "and QONNX's qonnx.custom_op.general)", node.name, node.op_type)

        if all(v is None or isinstance(v, Const) for v in ins) and node.op_type != "Shape":
            outs = self.fold_constant(node, [None if v is None else v.value for v in ins])
            for name, value in zip(node.output, outs):
                if name:
                    self.env[name] = Const(np.asarray(value))
            return

        handler = getattr(self, f"op_{node.op_type}", None)
        if handler is None:
            raise self.unsupported(node)
        for value in ins:
            if type(value) in _FINAL and node.op_type not in _PASS_THROUGH:
                raise ModelError(f"{_FINAL[type(value)]}; here it feeds {node.op_type} {node.name!r}", value.node, value.op,
                                 self.opset(node))
            if isinstance(value, Dynamic) and value.view is not None and node.op_type not in _VIEW_OPS:
                raise self.unsupported(node, f"{node.op_type} on a vector seen as (N, {', '.join(map(str, value.view))}): "
                                             "supported are vectors (N, F) and images (N, C, H, W)")
            waiting = _WAITING.get(type(value))
            if waiting and node.op_type not in waiting[1] + _PASS_THROUGH:
                what, consumers = waiting
                raise self.unsupported(node, f"{what} must feed {' or '.join(consumers)} directly, not {node.op_type}")
        result = handler(node, ins)
        self.env[node.output[0]] = result
        if isinstance(result, Dynamic) and result.type.dtype.kind == "bipolar":
            self.onnx_tensors.setdefault(result.tensor, node.output[0])

    # -- dynamic ops -----------------------------------------------------------------------
    def _dyn_and_const(self, node, ins):
        a, b = ins[0], ins[1]
        if isinstance(a, Dynamic) and isinstance(b, Const):
            return a, b.value, False
        if isinstance(a, Const) and isinstance(b, Dynamic):
            return b, a.value, True
        if node.op_type == "Add" or not all(isinstance(v, Dynamic) for v in (a, b)):
            raise self.unsupported(node, "needs one activation and one constant operand")
        raise self.unsupported(node, f"{node.op_type} of two activations (a multiply merge such as squeeze-excitation, or a "
                                     "difference of branches) is not supported; two branches join by Add (a residual "
                                     "shortcut) or Concat")

    def op_Identity(self, node, ins):
        return ins[0]

    def op_Dropout(self, node, ins):
        if len(node.output) > 1 and node.output[1]:
            raise self.unsupported(node, "Dropout mask output is not supported")
        return ins[0]

    def op_Shape(self, node, ins):
        (x,) = ins
        # The batch dimension is reported as 1: reshapes keep it as their leading dimension.
        shape = x.value.shape if isinstance(x, Const) else (1,) + x.shape
        attrs = node_attributes(node)  # opset 15: a slice [start, end) of the shape
        rank = len(shape)
        start, end = (int(attrs.get(k, d)) for k, d in (("start", 0), ("end", rank)))
        start, end = (min(max(v + rank if v < 0 else v, 0), rank) for v in (start, end))
        return Const(np.array(shape[start:end], dtype=np.int64))

    def op_Conv(self, node, ins):
        x = ins[0]
        if isinstance(x, (ChannelMeanAbs, Terms)):
            return self._residual_conv(node, ins)
        if not isinstance(x, Dynamic) or not self._constant_parameters(ins):
            raise self.unsupported(node, "Conv needs constant weights and bias")
        if len(x.type.shape) != 3:
            raise self.unsupported(node, "Conv needs an (N, C, H, W) input")
        weight, bias, strides, attrs = self._conv_geometry(node, ins, x.type.shape[0])
        pads = self._pads(node, attrs, x.type.shape[1:], weight.shape[2:], strides)
        op = Conv(weight=weight, bias=bias, strides=strides, pads=pads)
        y = self.emit(node, op, x)
        if isinstance(x, SignOf):
            return SignDot(y.tensor, y.type, source=x.source, op=op)
        taps = patch_taps(weight) if bias is None or not np.any(bias) else None
        if taps is not None:
            return Patches(y.tensor, y.type, fields=Fields(x, Window(op.kernel, strides, pads), taps))
        return y

    @staticmethod
    def _constant_parameters(ins) -> bool:
        """A Conv's weight and (optional) bias are constants."""
        return isinstance(ins[1], Const) and (len(ins) < 3 or ins[2] is None or isinstance(ins[2], Const))

    def _conv_geometry(self, node, ins, channels: int):
        """The constant weight and bias, the strides and the attributes of a Conv on ``channels``
        channels (an activation, or a residual binarization's chain)."""
        if not self._constant_parameters(ins):
            raise self.unsupported(node, "Conv needs constant weights and bias")
        attrs = node_attributes(node)
        weight = np.asarray(ins[1].value, dtype=np.float64)
        if weight.ndim != 4:
            raise self.unsupported(node, "only 2-D convolution is supported")
        if attrs.get("group", 1) != 1:
            raise self.unsupported(node, f"grouped convolution (group={attrs['group']}) is not supported")
        if any(d != 1 for d in attrs.get("dilations", [1, 1])):
            raise self.unsupported(node, "dilated convolution is not supported")
        if weight.shape[1] != channels:
            raise ModelError(f"weight has {weight.shape[1]} input channels, activation has {channels}", node.name, node.op_type)
        strides = tuple(int(s) for s in attrs.get("strides", [1, 1]))
        bias = np.asarray(ins[2].value, dtype=np.float64) if len(ins) > 2 and ins[2] is not None else None
        return weight, bias, strides, attrs

    def _residual_conv(self, node, ins):
        """XNOR-Net's box filter of the channel mean of |x| (its β per window), or the 1×1
        conv that reads x̂ of laid-out receptive fields (HORQ)."""
        x = ins[0]
        if isinstance(x, ChannelMeanAbs):
            weight, bias, strides, attrs = self._conv_geometry(node, ins, 1)
            v = box_value(weight)
            if v is None or (bias is not None and np.any(bias)):
                raise self.unsupported(node, "the channel mean of |x| is read by a box filter (a Conv with one constant "
                                             "weight and no bias) as XNOR-Net's K = A ∗ k")
            kernel = (int(weight.shape[2]), int(weight.shape[3]))
            pads = self._pads(node, attrs, x.source.type.shape[1:], kernel, strides)
            return Beta(Fields(x.source, Window(kernel, strides, pads)), 1, x.scale * v * kernel[0] * kernel[1])
        if x.fields.window is None:
            raise self.unsupported(node, "the terms of a vector's residual binarization are read by MatMul or Gemm")
        weight, bias, strides, attrs = self._conv_geometry(node, ins, x.fields.size)
        pads = self._pads(node, attrs, (1, 1), weight.shape[2:], strides)
        if weight.shape[2:] != (1, 1) or strides != (1, 1) or any(pads):
            raise self.unsupported(node, "the terms of laid-out receptive fields are read by a 1×1 Conv without "
                                         "stride or padding")
        return self._residual_read(node, x, weight[:, :, 0, 0], bias)

    def _pads(self, node, attrs, spatial, kernel, strides) -> tuple[int, int, int, int]:
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad in ("NOTSET", "VALID"):
            p = [int(v) for v in attrs.get("pads", [0, 0, 0, 0])] if auto_pad == "NOTSET" else [0, 0, 0, 0]
            return (p[0], p[1], p[2], p[3])
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            pads = []
            for size, k, s in zip(spatial, kernel, strides):
                out = -(-size // s)
                total = max(0, (out - 1) * s + k - size)
                small, large = total // 2, total - total // 2
                pads.append((small, large) if auto_pad == "SAME_UPPER" else (large, small))
            return (pads[0][0], pads[1][0], pads[0][1], pads[1][1])
        raise self.unsupported(node, f"auto_pad={auto_pad} is not supported")

    def op_Gemm(self, node, ins):
        x, b = ins[0], ins[1]
        attrs = node_attributes(node)
        if not isinstance(x, (Dynamic, Terms)) or not isinstance(b, Const) or attrs.get("transA", 0):
            raise self.unsupported(node, "Gemm needs the activation as A (transA=0) and constant B, C")
        w = np.asarray(b.value, dtype=np.float64) * float(attrs.get("alpha", 1.0))
        weight = w if attrs.get("transB", 0) else w.T
        bias = None
        if len(ins) > 2 and ins[2] is not None:
            if not isinstance(ins[2], Const):
                raise self.unsupported(node, "Gemm needs a constant C")
            c = np.asarray(ins[2].value, np.float64) * float(attrs.get("beta", 1.0))
            if c.size not in (1, weight.shape[0]):
                raise self.unsupported(node, f"Gemm with C of shape {c.shape}: supported is a bias per output")
            bias = np.broadcast_to(c.reshape(-1), (weight.shape[0],)).copy()
        return self._dense(node, x, weight, bias)

    def op_MatMul(self, node, ins):
        x, w = ins[0], ins[1]
        if isinstance(x, Const) and isinstance(w, Terms) and w.fields.unfolded and np.ndim(x.value) == 2:
            return self._unfolded_read(node, w, np.asarray(x.value, dtype=np.float64))
        if not isinstance(x, (Dynamic, Terms)) or not isinstance(w, Const) or np.ndim(w.value) != 2:
            raise self.unsupported(node, "MatMul needs the activation first and a constant 2-D weight")
        return self._dense(node, x, np.asarray(w.value, dtype=np.float64).T, None)

    def _dense(self, node, x: Dynamic | Terms, weight: np.ndarray, bias):
        if isinstance(x, Terms):
            if x.fields.unfolded:
                raise self.unsupported(node, "the terms of receptive fields laid out by F.unfold are read as W @ x̂ "
                                             "(MatMul with the constant weight first)")
            if x.fields.window is not None:
                raise self.unsupported(node, "the terms of laid-out receptive fields are read by a 1×1 Conv")
            return self._residual_read(node, x, weight, bias)
        if len(x.type.shape) != 1:
            raise self.unsupported(node, f"fully connected layer needs a flat (N, F) input, got {x.type}; add Flatten")
        if weight.shape[1] != x.type.shape[0]:
            raise ModelError(f"weight expects {weight.shape[1]} inputs, activation has {x.type.shape[0]}", node.name, node.op_type)
        op = Dense(weight=weight, bias=bias)
        y = self.emit(node, op, x)
        return SignDot(y.tensor, y.type, source=x.source, op=op) if isinstance(x, SignOf) else y

    # -- residual binarization (frontend/residual.py) -------------------------------------------
    def _residual_read(self, node, terms: Terms, weight: np.ndarray, bias) -> Dynamic:
        """A dot product of x̂ = Σ_{k ≤ K} β_k·H_k: Dot(residual_order K) → Affine(scale/n^K, bias)."""
        order, fields = terms.complete_order, terms.fields
        if order is None:
            raise self.unsupported(node, f"it reads the residual binarization terms {sorted(terms.orders)}; x̂ of order K "
                                         "sums the terms of orders 1 … K")
        if weight.shape[1] != fields.size:
            raise ModelError(f"weight expects {weight.shape[1]} inputs, the binarized vectors have {fields.size}",
                             node.name, node.op_type)
        return self._residual_dot(node, fields, weight, order, terms.scale, bias)

    def _unfolded_read(self, node, terms: Terms, weight: np.ndarray) -> Dynamic:
        """W @ x̂ over F.unfold's fields (N, C·KH·KW, L): a convolution whose output the ONNX
        graph sees as (N, O, L) until it reshapes it to (N, O, OH, OW)."""
        y = self._residual_read(node, terms, weight, None)
        o, oh, ow = y.type.shape
        return Dynamic(y.tensor, y.type, view=(o, oh * ow))

    def _residual_dot(self, node, fields: Fields, weight: np.ndarray, order: int, scale: float, bias) -> Dynamic:
        y = self.emit(node, residual_dot_op(fields, weight, order), fields.source)
        return self._affine(node, y, scale / float(fields.size) ** order, 0.0 if bias is None else bias)

    @staticmethod
    def _reads_vectors(fields: Fields, x) -> bool:
        """x is R_0 of ``fields``: the activation itself, or its laid-out receptive fields."""
        if fields.taps is not None:
            return isinstance(x, Patches) and x.fields.same(fields)
        return fields.window is None and isinstance(x, Dynamic) and not isinstance(x, Patches) and x.tensor == fields.source.tensor

    def _residual_product(self, node, a, b):
        for p, q in ((a, b), (b, a)):
            if isinstance(q, Const) and isinstance(p, (Beta, ChannelMeanAbs, Terms)):
                c = np.asarray(q.value, np.float64)
                if c.size != 1:
                    break
                return type(p)(**{**vars(p), "scale": p.scale * float(c.reshape(-1)[0])})
            if not isinstance(p, Beta):
                continue
            if isinstance(q, Signs) and q.order == p.order and q.fields.same(p.fields):
                return Terms(p.fields, frozenset({p.order}), p.scale)
            if isinstance(q, SignOf) and p.order == 1 and self._reads_vectors(p.fields, q.source):
                return Terms(p.fields, frozenset({1}), p.scale)
            if isinstance(q, SignDot) and p.order == 1:
                return self._scaled_sign_dot(node, p, q)
        raise self.unsupported(node, "Mul in a residual binarization multiplies β_k with H_k of the same vectors "
                                     "(or XNOR-Net's K with the dot product of sign(x)), or a scale by one constant")

    def _scaled_sign_dot(self, node, beta: Beta, dot: SignDot) -> Dynamic:
        """XNOR-Net: (sign(x) · W)·β over the same vectors is a dot product of order 1."""
        op = dot.op
        window = Window(op.kernel, op.strides, op.pads) if isinstance(op, Conv) else None
        if beta.fields.source.tensor != dot.source.tensor or beta.fields.window != window:
            raise self.unsupported(node, "XNOR-Net's scale K must be the mean |x| over the same vectors (the same "
                                         "kernel, strides and padding) as the dot product of sign(x) it multiplies")
        if op.bias is not None and np.any(op.bias):
            raise self.unsupported(node, "the dot product of sign(x) has a bias in front of XNOR-Net's scale K; "
                                         "supported: the bias behind the scale")
        return self._residual_dot(node, Fields(dot.source, window), op.weight, 1, beta.scale, None)

    def _residual_sum(self, node, a, b):
        for p, q in ((a, b), (b, a)):
            if isinstance(p, Terms) and isinstance(q, Const) and not np.any(q.value):
                return p
        if (isinstance(a, Terms) and isinstance(b, Terms) and a.fields.same(b.fields) and not (a.orders & b.orders)
                and abs(a.scale - b.scale) <= 1e-6 * abs(a.scale)):
            return Terms(a.fields, a.orders | b.orders, a.scale)
        raise self.unsupported(node, "Add in a residual binarization sums terms β_k·H_k of different orders k of the "
                                     "same vectors")

    def _residual_step(self, node, x, terms):
        """R_k = R_{k−1} − β_k·H_k, or x − Σ_{j ≤ k} β_j·H_j."""
        if isinstance(terms, Terms) and unit_scale(terms.scale):
            k = max(terms.orders)
            if terms.orders == frozenset({k}) and isinstance(x, Residual) and x.order == k - 1 and x.fields.same(terms.fields):
                return Residual(terms.fields, k)
            if terms.complete_order == k and self._reads_vectors(terms.fields, x):
                return Residual(terms.fields, k)
        raise self.unsupported(node, "Sub in a residual binarization is R_k = R_(k−1) − β_k·H_k (or x − Σ_(j≤k) β_j·H_j) "
                                     "with β_k = mean |R_(k−1)| unscaled")

    def op_BatchNormalization(self, node, ins):
        x = ins[0]
        if not isinstance(x, Dynamic) or not all(isinstance(v, Const) for v in ins[1:5]):
            raise self.unsupported(node, "BatchNormalization needs constant parameters")
        if len([o for o in node.output if o]) > 1:
            raise self.unsupported(node, "BatchNormalization in training mode is not supported")
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        gamma, beta, mean, var = (np.asarray(v.value, dtype=np.float64).reshape(-1) for v in ins[1:5])
        scale = gamma / np.sqrt(var + np.float64(np.float32(eps)))
        return self.emit(node, Affine(scale=scale, bias=beta - mean * scale), x)

    def _affine(self, node, x: Dynamic, scale, bias) -> Dynamic:
        c = x.type.shape[0]
        scale = np.broadcast_to(np.asarray(scale, np.float64), (c,)).copy()
        bias = np.broadcast_to(np.asarray(bias, np.float64), (c,)).copy()
        return self.emit(node, Affine(scale=scale, bias=bias), x)

    def emit_join(self, onnx_node, op, xs: list[Dynamic]) -> Dynamic:
        name = self.names.take(onnx_node.name or f"{onnx_node.op_type}_{len(self.nodes)}")
        self.nodes.append(Node(name, op, tuple(x.tensor for x in xs), name, source=onnx_node.name or onnx_node.op_type))
        return Dynamic(name, op.output_type([x.type for x in xs]))

    def op_Add(self, node, ins):
        if any(type(v) in RESIDUAL_IDIOMS for v in ins):
            return self._residual_sum(node, *ins)
        if len(ins) == 2 and all(isinstance(v, Dynamic) for v in ins):  # a residual shortcut joins its block
            a, b = ins
            if a.type.shape != b.type.shape:
                raise self.unsupported(node, f"Add of activations of shapes {a.type.shape} and {b.type.shape}: "
                                             "supported is a sum of equal shapes (no broadcasting)")
            return self.emit_join(node, Add(), [a, b])
        x, c, _ = self._dyn_and_const(node, ins)
        return self._affine(node, x, 1.0, self.per_channel(node, x, c))

    def op_Sum(self, node, ins):
        if len(ins) == 1:
            return ins[0]
        if len(ins) != 2:
            raise self.unsupported(node, f"Sum of {len(ins)} tensors: supported is the sum of two (a residual shortcut)")
        return self.op_Add(node, ins)

    def op_Concat(self, node, ins):
        xs = [v for v in ins if v is not None]
        if not all(isinstance(v, Dynamic) for v in xs):
            raise self.unsupported(node, "Concat of activations with constants is not supported")
        rank = len(xs[0].type.shape) + 1
        axis = int(node_attributes(node).get("axis", 1))
        if (axis + rank if axis < 0 else axis) != 1 or any(len(x.type.shape) + 1 != rank for x in xs):
            raise self.unsupported(node, f"Concat along axis {axis}: supported is the channel axis (1) of tensors of one rank")
        if len({x.type.shape[1:] for x in xs}) != 1:
            raise self.unsupported(node, f"Concat of feature maps of different sizes {[x.type.shape for x in xs]}")
        return xs[0] if len(xs) == 1 else self.emit_join(node, Concat(), xs)

    def op_Sub(self, node, ins):
        if any(type(v) in RESIDUAL_IDIOMS for v in ins):
            return self._residual_step(node, *ins)
        x, c, const_first = self._dyn_and_const(node, ins)
        c = self.per_channel(node, x, c)
        return self._affine(node, x, -1.0, c) if const_first else self._affine(node, x, 1.0, -c)

    def op_Mul(self, node, ins):
        if any(type(v) in RESIDUAL_IDIOMS for v in ins):
            return self._residual_product(node, *ins)
        x, c, _ = self._dyn_and_const(node, ins)
        return self._affine(node, x, self.per_channel(node, x, c), 0.0)

    def op_Div(self, node, ins):
        x, c, const_first = self._dyn_and_const(node, ins)
        if const_first:
            raise self.unsupported(node, "division of a constant by an activation is not supported")
        c = self.per_channel(node, x, c)
        if np.any(c == 0):
            raise ModelError("division by zero", node.name, node.op_type)
        return self._affine(node, x, 1.0 / c, 0.0)

    def op_Neg(self, node, ins):
        return self._affine(node, ins[0], -1.0, 0.0)

    def _compare(self, node, ins):
        x, c, const_first = self._dyn_and_const(node, ins)
        cmp = _COMPARE_OPS[node.op_type]
        return _Compare(x, _MIRROR[cmp] if const_first else cmp, self.per_channel(node, x, c))

    op_GreaterOrEqual = op_Greater = op_LessOrEqual = op_Less = _compare

    def op_Not(self, node, ins):
        """Not(x < c) is x >= c: the legacy exporter writes ``>=`` so before opset 12."""
        (cond,) = ins
        if not isinstance(cond, _Compare):
            raise self.unsupported(node, "Not is supported on a comparison of an activation with a constant")
        return _Compare(cond.x, _NEGATION[cond.cmp], cond.c)

    def op_Where(self, node, ins):
        cond, a, b = ins
        if not isinstance(cond, _Compare) or not isinstance(a, Const) or not isinstance(b, Const):
            raise self.unsupported(node, "Where is supported as binarisation Where(x >= c, a, b) with constant a, b")
        x = cond.x
        hi = self.per_channel(node, x, a.value)
        lo = self.per_channel(node, x, b.value)
        if np.any(hi == lo):
            raise self.unsupported(node, "Where with equal branches is a constant, not a binarisation")
        # x >= c ⇔ x − c >= 0;  x <= c ⇔ c − x >= 0; gt/lt are the strict forms.
        if cond.cmp in ("ge", "gt"):
            x = self._affine(node, x, 1.0, -cond.c) if np.any(cond.c != 0) else x
        else:
            x = self._affine(node, x, -1.0, cond.c)
        v = self.emit(node, Binarize(strict=cond.cmp in ("gt", "lt")), x, suffix="_sign")
        if np.array_equal(hi, np.ones_like(hi)) and np.array_equal(lo, -np.ones_like(lo)):
            return v
        # Where(x, a, b) = (a + b)/2 + (a − b)/2 · sign
        return self._affine(node, v, (hi - lo) / 2, (hi + lo) / 2)

    def op_Abs(self, node, ins):
        """|R_k| in a residual binarization (frontend/residual.py)."""
        x = ins[0]
        if isinstance(x, Residual):
            return AbsResidual(x.fields, x.order)
        if isinstance(x, Patches):
            return AbsResidual(x.fields, 0)
        if isinstance(x, Dynamic) and x.view is None and len(x.type.shape) in (1, 3):
            return AbsResidual(Fields(x), 0)
        raise self.unsupported(node, "Abs is supported at the start of a residual binarization (HORQ, XNOR-Net's "
                                     "input scaling) over a vector (N, F) or a feature map (N, C, H, W)")

    def op_Sign(self, node, ins):
        """A binarisation, unless a residual binarization's chain reads it (frontend/residual.py)."""
        x = ins[0]
        if isinstance(x, Residual):
            return Signs(x.fields, x.order + 1)
        y = self.emit(node, Binarize(strict=False, onnx_sign=True), x)
        return SignOf(y.tensor, y.type, source=x)

    def op_MaxPool(self, node, ins):
        (x,) = ins
        if len(node.output) > 1 and node.output[1]:
            raise self.unsupported(node, "MaxPool indices output is not supported")
        if len(x.type.shape) != 3:
            raise self.unsupported(node, "MaxPool needs an (N, C, H, W) input")
        attrs = node_attributes(node)
        kernel = tuple(int(k) for k in attrs["kernel_shape"])
        if len(kernel) != 2:
            raise self.unsupported(node, "only 2-D max-pooling is supported")
        if any(d != 1 for d in attrs.get("dilations", [1, 1])):
            raise self.unsupported(node, "dilated max-pooling is not supported")
        strides = tuple(int(s) for s in attrs.get("strides", [1, 1]))
        pads = list(self._pads(node, attrs, x.type.shape[1:], kernel, strides))
        if attrs.get("ceil_mode", 0):
            # ceil_mode adds windows at the bottom/right edge; extra padding gives the same windows.
            for axis, (size, k, s) in enumerate(zip(x.type.shape[1:], kernel, strides)):
                span = size + pads[axis] + pads[axis + 2] - k
                out = -(-span // s) + 1
                if (out - 1) * s >= size + pads[axis]:  # the last window would start in the padding
                    if self.opsets.get("", 0) < 19:
                        raise self.unsupported(node, "ceil_mode makes a window lie entirely in the padding "
                                                     "(before opset 19 ONNX keeps it; its value is undefined)")
                    out -= 1  # opset 19 drops it, as PyTorch does
                pads[axis + 2] += max(0, (out - 1) * s + k - (size + pads[axis] + pads[axis + 2]))
        return self.emit(node, MaxPool(kernel=kernel, strides=strides, pads=tuple(pads)), x)

    def op_AveragePool(self, node, ins):
        """The window's sum times 1/(KH·KW): SumPool → Affine."""
        (x,) = ins
        if len(x.type.shape) != 3:
            raise self.unsupported(node, "AveragePool needs an (N, C, H, W) input")
        attrs = node_attributes(node)
        kernel = tuple(int(k) for k in attrs["kernel_shape"])
        if len(kernel) != 2:
            raise self.unsupported(node, "only 2-D average pooling is supported")
        if any(d != 1 for d in attrs.get("dilations", [1, 1])) or attrs.get("ceil_mode", 0):
            raise self.unsupported(node, "dilated or ceil_mode average pooling is not supported")
        strides = tuple(int(s) for s in attrs.get("strides", [1, 1]))
        pads = self._pads(node, attrs, x.type.shape[1:], kernel, strides)
        if any(pads) and not attrs.get("count_include_pad", 0):
            raise self.unsupported(node, "average pooling over padding with count_include_pad=0 divides border windows "
                                         "by fewer taps; supported: no padding, or count_include_pad=1")
        return self._average(node, x, kernel, strides, pads)

    def op_GlobalAveragePool(self, node, ins):
        (x,) = ins
        if len(x.type.shape) != 3:
            raise self.unsupported(node, "GlobalAveragePool needs an (N, C, H, W) input")
        kernel = (x.type.shape[1], x.type.shape[2])
        return self._average(node, x, kernel, kernel, (0, 0, 0, 0))

    def op_ReduceMean(self, node, ins):
        """The mean over both spatial axes (how the dynamo exporter writes a global average pool),
        or β = mean |R| in a residual binarization."""
        x = ins[0]
        attrs = node_attributes(node)
        axes = attrs.get("axes")
        if len(ins) > 1 and ins[1] is not None:
            if not isinstance(ins[1], Const):
                raise self.unsupported(node, "ReduceMean needs constant axes")
            axes = np.asarray(ins[1].value).reshape(-1).tolist()
        if isinstance(x, AbsResidual):
            return self._residual_mean(node, x, axes, bool(attrs.get("keepdims", 1)))
        if len(x.type.shape) != 3 or axes is None or sorted(int(a) % 4 for a in axes) != [2, 3]:
            raise self.unsupported(node, "ReduceMean is supported over the two spatial axes of an (N, C, H, W) input "
                                         "(a global average pool)")
        kernel = (x.type.shape[1], x.type.shape[2])
        mean = self._average(node, x, kernel, kernel, (0, 0, 0, 0))
        return mean if attrs.get("keepdims", 1) else self._reshape(node, mean, (x.type.shape[0],))

    def _residual_mean(self, node, x: AbsResidual, axes, keepdims: bool):
        fields = x.fields
        rank = (3 if fields.unfolded else 4) if fields.window is not None else len(fields.source.type.shape) + 1
        axes = None if axes is None else sorted(int(a) % rank for a in axes)
        if keepdims and axes == [1]:
            if fields.window is not None or rank == 2:
                return Beta(fields, x.order + 1)
            if rank == 4 and x.order == 0:
                return ChannelMeanAbs(fields.source, 1.0)
        raise self.unsupported(node, "ReduceMean of |x| in a residual binarization is over axis 1 with keepdims=1: the "
                                     "features of a vector (N, F), the laid-out receptive fields (N, C·KH·KW, OH, OW), "
                                     "or the channels of a feature map (XNOR-Net's A)")

    def _average(self, node, x: Dynamic, kernel, strides, pads) -> Dynamic:
        pool = SumPool(kernel=kernel, strides=strides, pads=tuple(pads))
        total = self.emit(node, pool, x, suffix="_sum")
        return self._affine(node, total, 1.0 / pool.taps, 0.0)

    # -- QCDQ: QuantizeLinear → [Clip] → DequantizeLinear ------------------------------------
    def _linear_quant_params(self, node, ins, x: Dynamic) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Per-channel scale and zero point of a QuantizeLinear/DequantizeLinear, and the
        zero point's array (its dtype is the integer type), if given."""
        if not all(isinstance(v, Const) for v in ins[1:] if v is not None):
            raise self.unsupported(node, f"{node.op_type} needs a constant scale and zero point")
        attrs = node_attributes(node)
        rank = len(x.type.shape) + 1
        axis = attrs.get("axis", 1) % rank

        def along_axis(value):
            value = np.asarray(value)
            if value.ndim == 1 and value.size > 1:  # per-axis: a 1-D tensor along ``axis``
                if axis != 1:
                    raise self.unsupported(node, f"{node.op_type} per axis {axis}: supported is per channel (axis 1) or per tensor")
                value = value.reshape((-1,) + (1,) * (rank - 2))
            return self.per_channel(node, x, value)

        zp = ins[2].value if len(ins) > 2 and ins[2] is not None else None
        scale = along_axis(ins[1].value)
        zeropt = along_axis(zp) if zp is not None else np.zeros_like(scale)
        if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
            raise ModelError(f"{node.op_type} needs a positive scale", node.name, node.op_type)
        return scale, zeropt, None if zp is None else np.asarray(zp)

    def float_input_view(self, value) -> Dynamic | None:
        """The model's float input as a value of its shape (for per-channel constants), or
        None when ``value`` is not the float input."""
        if not isinstance(value, _FloatInput):
            return None
        return Dynamic(self.graph_input.tensor, TensorType(value.shape, self.graph_input.type.dtype))

    def quantize_input(self, node, quantizer: InputQuantizer) -> Dynamic:
        """The model's float input read by its first quantizer: the IR input holds the
        quantizer's levels from now on (the host computes them, ``quantizer``)."""
        if self.input_quantizer is not None:
            raise self.unsupported(node, "the float input is quantized twice; supported: one quantizer reading it")
        self.input_quantizer = quantizer
        x = self.graph_input
        return Dynamic(x.tensor, TensorType(x.type.shape, quantizer.dtype))

    def op_QuantizeLinear(self, node, ins):
        x = ins[0]
        if self.float_input_view(x) is not None:
            return self._quantize_float_input(node, ins, self.float_input_view(x))
        if not isinstance(x, Dynamic):
            raise self.unsupported(node, "QuantizeLinear needs a float activation")
        scale, zeropt, zp = self._linear_quant_params(node, ins, x)
        dtype = np.dtype(zp.dtype) if zp is not None else np.dtype(np.uint8)
        if not np.issubdtype(dtype, np.integer) or dtype.itemsize > 2:
            raise self.unsupported(node, f"QuantizeLinear to {dtype}: supported are 8- and 16-bit integer types")
        info = np.iinfo(dtype)
        # ONNX: saturate(round_half_even(x / scale) + zp); with an integer zp that is the
        # rounding of x/scale + zp, clipped to the type (clip and round commute on integers).
        y = self._affine(node, x, 1.0 / scale, zeropt) if np.any(scale != 1) or np.any(zeropt != 0) else x
        q = self.emit(node, Quantize(qmin=int(info.min), qmax=int(info.max), rounding="ROUND"), y, suffix="_levels")
        return _Levels(q, self.nodes[-1], y.type)

    def _quantize_float_input(self, node, ins, holder: Dynamic) -> _Levels:
        """QuantizeLinear on the float input: the host quantizes (ONNX order: round x/scale
        half to even, add the zero point, saturate), the IR input holds the levels."""
        scale, zeropt, zp = self._linear_quant_params(node, ins, holder)
        dtype = np.dtype(zp.dtype) if zp is not None else np.dtype(np.uint8)
        if not np.issubdtype(dtype, np.integer) or dtype.itemsize > 1:
            raise self.unsupported(node, f"QuantizeLinear of the float input to {dtype}: supported are 8-bit integer types")
        info = np.iinfo(dtype)
        quantizer = InputQuantizer(uniform_values(scale), uniform_values(zeropt), int(info.min), int(info.max), "ROUND", "onnx",
                                   source=node.name or node.op_type)
        return _Levels(self.quantize_input(node, quantizer), None, None)

    def op_Clip(self, node, ins):
        levels = ins[0]
        attrs = node_attributes(node)
        bounds = [attrs.get("min"), attrs.get("max")]  # opset < 11
        for i in (0, 1):
            if len(ins) > i + 1 and ins[i + 1] is not None:
                if not isinstance(ins[i + 1], Const) or np.size(ins[i + 1].value) != 1:
                    raise self.unsupported(node, "Clip needs constant scalar bounds")
                bounds[i] = float(np.asarray(ins[i + 1].value).reshape(-1)[0])
        if isinstance(levels, Dynamic):  # a float clamp, e.g. PACT's clamp(x, 0, α) before a Round
            c = levels.type.shape[0]
            lo = np.full(c, -np.inf if bounds[0] is None else bounds[0])
            hi = np.full(c, np.inf if bounds[1] is None else bounds[1])
            if np.any(lo > hi):
                raise ModelError(f"Clip with min {bounds[0]} > max {bounds[1]}", node.name, node.op_type)
            return self.emit(node, Clamp(lo=lo, hi=hi), levels)
        if not isinstance(levels, _Levels):
            raise self.unsupported(node, "Clip is supported on activations and on the integers between QuantizeLinear "
                                         "and DequantizeLinear")
        # The levels come from an IR Quantize, or (quantize None) from the host's quantizer of
        # the float input; the Clip narrows whichever it is.
        op = self.input_quantizer if levels.quantize is None else levels.quantize.op
        lo = op.qmin if bounds[0] is None else max(op.qmin, int(np.ceil(bounds[0])))
        hi = op.qmax if bounds[1] is None else min(op.qmax, int(np.floor(bounds[1])))
        if lo >= hi:
            raise ModelError(f"Clip to [{bounds[0]}, {bounds[1]}] leaves fewer than two levels", node.name, node.op_type)
        if levels.quantize is None:
            self.input_quantizer = dataclasses.replace(op, qmin=lo, qmax=hi)
            return _Levels(Dynamic(levels.x.tensor, TensorType(levels.x.type.shape, self.input_quantizer.dtype)), None, None)
        levels.quantize.op = Quantize(qmin=lo, qmax=hi, rounding=op.rounding)
        return _Levels(Dynamic(levels.x.tensor, levels.quantize.op.output_type([levels.quantized])), levels.quantize,
                       levels.quantized)

    def op_DequantizeLinear(self, node, ins):
        levels = ins[0]
        if not isinstance(levels, _Levels):
            raise self.unsupported(node, "DequantizeLinear on activations needs a QuantizeLinear in front of it")
        scale, zeropt, _ = self._linear_quant_params(node, ins, levels.x)
        self.tag_levels(levels.x, node.output[0], scale, zeropt)
        if np.all(scale == 1) and np.all(zeropt == 0):
            return levels.x
        return self._affine(node, levels.x, scale, -zeropt * scale)

    def op_PRelu(self, node, ins):
        x, slope = ins
        if not isinstance(x, Dynamic) or not isinstance(slope, Const):
            raise self.unsupported(node, "PRelu needs an activation and a constant slope")
        return self.emit(node, PReLU(slope=self.per_channel(node, x, slope.value)), x)

    def op_Relu(self, node, ins):
        if not isinstance(ins[0], Dynamic):
            raise self.unsupported(node, "Relu is supported on activations in front of a Round (PACT/DoReFa)")
        c = ins[0].type.shape[0]
        return self.emit(node, Clamp(lo=np.zeros(c), hi=np.full(c, np.inf)), ins[0])

    def op_Round(self, node, ins):
        if not isinstance(ins[0], Dynamic):
            raise self.unsupported(node, "Round is supported on activations behind a Clip (PACT/DoReFa)")
        # Unbounded for now: BoundQuantizers takes the levels from the Clip in front.
        levels = self.emit(node, Quantize(qmin=UNBOUNDED_LEVELS[0], qmax=UNBOUNDED_LEVELS[1], rounding="ROUND"), ins[0])
        self.onnx_tensors[levels.tensor] = node.output[0]  # Round's output holds the levels themselves
        return levels

    # -- classifier heads: the end of the graph, computed on the host (ir/head.py) --------------
    def _class_scores(self, node, x, axis: int) -> Dynamic:
        if not isinstance(x, Dynamic) or x.view is not None or len(x.type.shape) != 1:
            shape = x.shape if isinstance(x, Dynamic) else "?"
            raise self.unsupported(node, f"{node.op_type} is supported over the classes of a vector (N, C), "
                                         f"not over an input of shape (N, {', '.join(map(str, shape))})")
        if axis not in (1, -1):
            raise self.unsupported(node, f"{node.op_type} over axis {axis}: supported is the class axis (1 or -1)")
        return x

    def _softmax(self, node, ins):
        attrs = node_attributes(node)
        x = self._class_scores(node, ins[0], int(attrs.get("axis", 1 if self.opset(node) < 13 else -1)))
        return _Headed(x, node.input[0], Head(node.op_type.lower()), node.name, node.op_type)

    op_Softmax = op_LogSoftmax = _softmax

    def op_ArgMax(self, node, ins):
        attrs = node_attributes(node)
        x = self._class_scores(node, ins[0], int(attrs.get("axis", 0)))
        if attrs.get("select_last_index", 0):
            raise self.unsupported(node, "ArgMax with select_last_index=1 (ties to the last index) is not supported; "
                                         "supported: ties to the first index, the ONNX default")
        return _Headed(x, node.input[0], Head("argmax", keepdims=bool(attrs.get("keepdims", 1))), node.name, node.op_type)

    def op_TopK(self, node, ins):
        attrs = node_attributes(node)
        x = self._class_scores(node, ins[0], int(attrs.get("axis", -1)))
        if len(ins) > 1:
            if not isinstance(ins[1], Const) or np.size(ins[1].value) != 1:
                raise self.unsupported(node, "TopK needs a constant k")
            k = int(np.asarray(ins[1].value).reshape(-1)[0])
        else:
            k = int(attrs.get("k", 1))  # opset < 10
        if not attrs.get("largest", 1) or not attrs.get("sorted", 1):
            raise self.unsupported(node, "TopK with largest=0 or sorted=0 is not supported; supported: the k largest, sorted")
        if not 1 <= k <= x.type.shape[0]:
            raise ModelError(f"TopK of {k} out of {x.type.shape[0]} classes", node.name, node.op_type)
        if len(node.output) > 1 and node.output[1]:
            self.env[node.output[1]] = _Headed(x, node.input[0], Head("topk", k), node.name, node.op_type)
        return _TopKValues(node.name)

    def op_Flatten(self, node, ins):
        (x,) = ins
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if axis != 1:
            raise self.unsupported(node, "Flatten is supported with axis=1 only")
        return self._reshape_to(node, x, (x.type.size,))

    def _axes(self, node, ins) -> list[int] | None:
        """Squeeze/Unsqueeze axes: an attribute before opset 13, the second input after."""
        if len(ins) > 1 and ins[1] is not None:
            if not isinstance(ins[1], Const):
                raise self.unsupported(node, f"{node.op_type} needs constant axes")
            return [int(a) for a in np.asarray(ins[1].value).reshape(-1)]
        axes = node_attributes(node).get("axes")
        return None if axes is None else [int(a) for a in axes]

    def op_Squeeze(self, node, ins):
        """Dropping the unit spatial axes of an (N, C, 1, 1) tensor: a flatten."""
        x = ins[0]
        full = (1,) + x.shape
        axes = self._axes(node, ins)
        axes = [i for i, d in enumerate(full) if d == 1 and i > 0] if axes is None else [a % len(full) for a in axes]
        if 0 in axes:
            raise self.unsupported(node, "Squeeze of the batch dimension is not supported")
        if any(full[a] != 1 for a in axes):
            raise ModelError(f"Squeeze of axes {axes} of shape {full}: an axis is not of size 1", node.name, node.op_type)
        return self._reshape_to(node, x, tuple(d for i, d in enumerate(x.shape, start=1) if i not in axes))

    def op_Unsqueeze(self, node, ins):
        """Adding unit axes behind the channels of a vector, e.g. (N, C) → (N, C, 1, 1)."""
        x = ins[0]
        axes = self._axes(node, ins)
        rank = len(x.shape) + 1 + len(axes or ())
        axes = sorted(a % rank for a in axes or ())
        if not axes or axes[0] == 0:
            raise self.unsupported(node, "Unsqueeze needs axes behind the batch dimension")
        shape = list(x.shape)
        for a in axes:
            shape.insert(a - 1, 1)
        return self._reshape_to(node, x, tuple(shape))

    def _reshape_to(self, node, x: Dynamic, shape: tuple[int, ...]) -> Dynamic:
        """A reshape the IR has (the identity, or a flatten to (N, F)), or a vector seen as
        (C, 1, ...) for the next Squeeze/Unsqueeze/Reshape (no data moves: ONNX order is kept)."""
        if shape == x.type.shape:
            return Dynamic(x.tensor, x.type)
        if len(shape) == 1:
            return self._reshape(node, Dynamic(x.tensor, x.type), shape)
        vector = x.type.shape[0] == x.type.size
        if vector and shape[0] == x.type.size and all(d == 1 for d in shape[1:]):
            return Dynamic(x.tensor, x.type, view=tuple(shape))
        raise self.unsupported(node, f"{node.op_type} from (N, {', '.join(map(str, x.type.shape))}) to "
                                     f"(N, {', '.join(map(str, shape))}): only flattening to (N, F) is supported")

    # -- F.unfold: Pad → Gather (rows) → Gather (columns) → Transpose → Reshape (frontend/residual.py)
    def op_Pad(self, node, ins):
        """Zero padding of a feature map's spatial axes in front of F.unfold's gathers."""
        x = ins[0]
        attrs = node_attributes(node)
        mode = attrs.get("mode", b"constant")
        if len(ins) > 1:  # opset 11 on: pads, constant_value and axes are inputs
            pads = ins[1].value if isinstance(ins[1], Const) else None
            value = ins[2] if len(ins) > 2 else None
            zero = value is None or (isinstance(value, Const) and not np.any(value.value))
        else:
            pads, zero = attrs.get("pads"), not attrs.get("value", 0.0)
        axes = ins[3] if len(ins) > 3 else None
        if (not isinstance(x, Dynamic) or len(x.type.shape) != 3 or (mode.decode() if isinstance(mode, bytes) else mode) != "constant"
                or pads is None or not zero or axes is not None):
            raise self.unsupported(node, "Pad is read as the zero padding of a feature map (N, C, H, W) in front of "
                                         "F.unfold's gathers (a HORQ convolution's receptive fields); a padded "
                                         "convolution takes Conv's pads")
        p = [int(v) for v in np.asarray(pads).reshape(-1)]
        if len(p) != 8 or any(v < 0 for v in p) or p[0] or p[1] or p[4] or p[5]:
            raise self.unsupported(node, f"Pad {p}: supported is zero padding of H and W only")
        return Unfolding(x, (p[2], p[3], p[6], p[7]))

    def op_Gather(self, node, ins):
        """F.unfold's window rows (axis 2) and then window columns (axis 4)."""
        data, indices = ins[0], ins[1]
        if isinstance(data, Dynamic) and len(data.type.shape) == 3 and data.view is None:
            data = Unfolding(data)
        axis = int(node_attributes(node).get("axis", 0))
        if isinstance(data, Unfolding) and isinstance(indices, Const) and not data.transposed:
            _, h, w = data.source.type.shape
            top, left, bottom, right = data.pads
            if axis == 2 and data.rows is None and (rows := window_index(np.asarray(indices.value), h + top + bottom)):
                return Unfolding(data.source, data.pads, rows)
            if axis in (4, -2) and data.rows is not None and data.cols is None and (
                    cols := window_index(np.asarray(indices.value), w + left + right)):
                return Unfolding(data.source, data.pads, data.rows, cols)
        raise self.unsupported(node, "Gather on activations is read as F.unfold's layout of receptive fields: the "
                                     "window rows (axis 2), then the window columns (axis 4), each index tap + "
                                     "window·stride (no dilation)")

    def op_Transpose(self, node, ins):
        """F.unfold's (N, C, KH, OH, KW, OW) → (N, C, KH, KW, OH, OW)."""
        x = ins[0]
        perm = [int(v) for v in node_attributes(node).get("perm", [])]
        if isinstance(x, Unfolding) and x.cols is not None and not x.transposed and perm == [0, 1, 2, 4, 3, 5]:
            return Unfolding(x.source, x.pads, x.rows, x.cols, transposed=True)
        raise self.unsupported(node, "Transpose on activations is read only in F.unfold's layout of receptive fields "
                                     "(perm [0, 1, 2, 4, 3, 5] after its two gathers)")

    def _unfolded_fields(self, node, x: Unfolding, target: list[int]) -> Patches:
        """The Reshape to (N, C·KH·KW, OH·OW) that ends F.unfold: the receptive fields, laid
        out in (C, KH, KW) order by a Conv with a 0/1 kernel (an ordinary op, dropped when only
        the chain reads it)."""
        c = x.source.type.shape[0]
        (kh, _, oh), (kw, _, ow) = x.rows, x.cols
        n = c * kh * kw
        fits = len(target) == 3 and target[0] in (0, 1, -1) and target.count(-1) <= 1 and all(
            v in (-1, expected) for v, expected in zip(target[1:], (n, oh * ow)))
        if not x.transposed or not fits:
            raise self.unsupported(node, f"Reshape of F.unfold's windows to {target}: supported is (N, C·KH·KW, L) = "
                                         f"(N, {n}, {oh * ow})")
        window = x.window
        op = Conv(weight=np.eye(n).reshape(n, c, kh, kw), strides=window.strides, pads=window.pads)
        y = self.emit(node, op, x.source)
        return Patches(y.tensor, y.type, fields=Fields(x.source, window, tuple(range(n)), unfolded=True))

    def op_Reshape(self, node, ins):
        x, shape = ins[0], ins[1]
        if not isinstance(shape, Const):
            raise self.unsupported(node, "Reshape needs a constant shape")
        target = [int(v) for v in shape.value.reshape(-1)]
        if isinstance(x, Unfolding):
            return self._unfolded_fields(node, x, target)
        if not target or target[0] not in (0, 1, -1):
            raise self.unsupported(node, f"Reshape to {target} changes the batch dimension")
        if any(v == 0 and i > len(x.shape) for i, v in enumerate(target)) or any(v < -1 for v in target):
            raise ModelError(f"invalid Reshape target {target} for {x.type}", node.name, node.op_type)
        rest = [x.shape[i - 1] if v == 0 else v for i, v in enumerate(target)][1:]
        if target[0] == -1 and -1 in rest:
            raise self.unsupported(node, f"Reshape to {target} is ambiguous")
        if -1 in rest:
            known = int(np.prod([v for v in rest if v != -1]))
            if known == 0 or x.type.size % known:
                raise ModelError(f"cannot reshape {x.type} to {target}", node.name, node.op_type)
            rest[rest.index(-1)] = x.type.size // known
        if int(np.prod(rest)) != x.type.size:
            raise ModelError(f"cannot reshape {x.type} to {target}", node.name, node.op_type)
        return self._reshape_to(node, x, tuple(rest))

    def _reshape(self, node, x: Dynamic, shape):
        if tuple(shape) == x.type.shape:
            return x
        return self.emit(node, Reshape(shape=tuple(shape)), x)


def import_model(model: onnx.ModelProto, input_bits: int = 8, input_scale: float = 1.0,
                 float_input: bool = False) -> Graph:
    """Translate a checked plain ONNX model into a float-level IR graph. The model's input
    receives the integer frame times ``input_scale`` (or, ``float_input``, float frames)."""
    check_input_options(input_bits, input_scale, float_input)
    return OnnxImporter(model, input_bits, input_scale, float_input).run()
