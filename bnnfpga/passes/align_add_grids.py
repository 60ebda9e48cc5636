"""Bring the two inputs of an add onto one integer grid: the dequantisations move behind it."""

from fractions import Fraction

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Add, Affine, Binarize, DotProduct
from bnnfpga.passes.base import NodeRewrite
from bnnfpga.passes.unshare_affines import copy_for_each_reader


class AlignAddGrids(NodeRewrite):
    """Add(s_a·a + b_a, s_b·b + b_b) on integer a, b becomes Add(a·2^k, b) → Affine(s_b,
    b_a + b_b) where s_a = 2^k·s_b on every channel (k ≥ 0; else the other way round): the
    sum of two quantized streams is exact integer addition on the finer grid
    (docs/DESIGN.md 3.15), and the affine behind it folds into the thresholds of the
    binarisation or quantizer that reads the sum. An input without an affine is an integer
    tensor with scale 1. Inputs that are integers on grids whose ratio is not a power of two
    are refused, naming the add; inputs that are not integers are left to the verifier."""

    def rewrite(self, g: Graph, add: Node) -> None:
        if not isinstance(add.op, Add) or g.types()[add.output].dtype.is_integer:
            return
        sides = [self._grid(g, add, tensor) for tensor in add.inputs]
        if None in sides:
            return
        (scale_a, bias_a, a), (scale_b, bias_b, b) = sides
        if self._dots_of_one_input(g, a, b):
            return  # weight bases (ABC-Net): MergeWeightBases makes them one dot product
        try:
            k = self._exponent(add, scale_a, scale_b)
        except ModelError:
            if not self._signs_of_one_input(g, a, b):
                raise
            raise ModelError(
                "adds signs of one tensor with weights that are not integer multiples of one unit (ABC-Net's "
                f"activation bases with β ratio {float(scale_a[0]):.6g} : {float(scale_b[0]):.6g}); supported: "
                "Σ β_j·sign(x + v_j) with integer ratios of the β_j (e.g. 1 : ½), which is one multi-threshold "
                "quantizer (docs/DESIGN.md 5)", add.source, "Add") from None
        for tensor in set(add.inputs):
            producer = g.producer(tensor)
            if producer is not None and isinstance(producer.op, Affine):
                g.nodes.remove(producer)
                g.onnx_tensors.pop(producer.output, None)
        if bias_a.ndim != bias_b.ndim:  # one side's offset differs at the border positions (docs/DESIGN.md 3.4)
            bias_a, bias_b = (v if v.ndim == 3 else v[:, None, None] for v in (bias_a, bias_b))
        offset = bias_a + bias_b
        sum_name = g.fresh_name(f"{add.name}_levels")
        behind = Affine(scale=scale_b if k >= 0 else scale_a,
                        bias=offset if offset.ndim == 1 else np.zeros(len(scale_a)),
                        position_bias=offset if offset.ndim == 3 else None)
        dequantize = Node(g.fresh_name(f"{add.name}_dequantize"), behind, (sum_name,), add.output, add.source)
        g.nodes.insert(g.nodes.index(add) + 1, dequantize)
        copy_for_each_reader(g, dequantize)  # the sum may feed the next block and its shortcut
        add.op = Add(shifts=(k, 0) if k >= 0 else (0, -k))
        add.inputs, add.output = (a, b), sum_name

    @staticmethod
    def _grid(g: Graph, add: Node, tensor: str):
        """(scale, offset, integer tensor) of one input, or None when it is not an affine of
        integers read by this add alone."""
        types = g.types()
        if types[tensor].dtype.is_integer:
            channels = types[tensor].shape[0]
            return np.ones(channels), np.zeros(channels), tensor
        producer = g.producer(tensor)
        if (producer is None or not isinstance(producer.op, Affine) or g.consumers(tensor) != [add]
                or tensor == g.output_name or not types[producer.inputs[0]].dtype.is_integer):
            return None
        return producer.op.scale.astype(np.float64), producer.op.offset().astype(np.float64), producer.inputs[0]

    @staticmethod
    def _signs_of_one_input(g: Graph, a: str, b: str) -> bool:
        """Both integer inputs are binarisations of (affines of) one tensor."""
        def source(tensor: str) -> str | None:
            producer = g.producer(tensor)
            if producer is None or not isinstance(producer.op, Binarize):
                return None
            inner = g.producer(producer.inputs[0])
            return inner.inputs[0] if inner is not None and isinstance(inner.op, Affine) else producer.inputs[0]

        return source(a) is not None and source(a) == source(b)

    @staticmethod
    def _dots_of_one_input(g: Graph, a: str, b: str) -> bool:
        """Both integer inputs are dot products (or sums of them) of one tensor."""
        def sources(tensor: str) -> set[str] | None:
            producer = g.producer(tensor)
            if producer is not None and isinstance(producer.op, DotProduct):
                return {producer.inputs[0]}
            if producer is not None and isinstance(producer.op, Add):
                parts = [sources(t) for t in producer.inputs]
                return None if None in parts else set().union(*parts)
            return None

        first, second = sources(a), sources(b)
        return first is not None and first == second and len(first) == 1

    @staticmethod
    def _exponent(add: Node, scale_a: np.ndarray, scale_b: np.ndarray) -> int:
        """k with scale_a = 2^k·scale_b on every channel, exactly."""
        exponents = set()
        for sa, sb in zip(scale_a, scale_b):
            ratio = Fraction(float(sa)) / Fraction(float(sb)) if sb != 0 else Fraction(0)
            power = ratio.numerator if ratio.denominator == 1 else ratio.denominator
            if ratio <= 0 or min(ratio.numerator, ratio.denominator) != 1 or power & (power - 1):
                exponents.add(None)
                break
            exponents.add(power.bit_length() - 1 if ratio.denominator == 1 else 1 - power.bit_length())
        if len(exponents) != 1 or None in exponents:
            shown = ", ".join(f"{float(sa):.6g}/{float(sb):.6g}" for sa, sb in list(zip(scale_a, scale_b))[:4])
            raise ModelError(
                f"the two inputs of this add are integer levels on grids whose ratio is not one power of two on every "
                f"channel (scales {shown}{' …' if len(scale_a) > 4 else ''}); supported: a shortcut quantized on the "
                "block's grid or on a grid 2^k times finer or coarser, the same k on every channel (docs/DESIGN.md 3.15)",
                add.source, "Add")
        return exponents.pop()
