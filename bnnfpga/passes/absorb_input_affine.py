"""Move the affine in front of a dot product (input normalisation, or the (a+b)/2 + (a−b)/2·x
of a Where with other values than ±1) behind it, where threshold folding can absorb it."""

import math
from fractions import Fraction

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, Conv, DotProduct, IntegerAffine, MaxPool, Reshape
from bnnfpga.ir.patches import float_conv
from bnnfpga.ir.verify import MAX_ACCUMULATOR_BITS
from bnnfpga.passes.base import LocalRewrite
from bnnfpga.passes.unshare_affines import copy_for_each_reader

# Bits of the integer gains g_c of a per-channel input scale a_c ≈ g_c·a_max/2^G (fewer where
# the first layer's accumulator would pass 32 bits, never fewer than MIN_INPUT_GAIN_BITS).
INPUT_GAIN_BITS = 16
MIN_INPUT_GAIN_BITS = 8


class AbsorbInputAffine(LocalRewrite):
    """Affine(a, b) → Dot(W) becomes Dot(W) → Affine(a, W·b).

    In front of a residual binarization (``residual_order``) only a scale moves: x̂(a·x) =
    a·x̂(x) for one a ≠ 0 (docs/DESIGN.md 5.3); an offset is refused.

    The scale must be one number for all input channels (else the weights would stop being
    binary). For a zero-padded convolution with b ≠ 0 the offset term W·b depends on the
    output position (padding is zero *after* the offset, docs/DESIGN.md 3.5): a border
    position sees b through fewer taps. The affine behind then carries that exact float64 term
    per position (``position_bias``), and threshold folding gives the border positions their
    own thresholds. An affine in front of a flatten or a max-pool (the dequantisation of k-bit
    levels that are pooled before the next layer) moves behind it first.

    A per-channel scale a_c on the integer input frame (torchvision's per-channel std) first splits
    into integer gains g_c in front (IntegerAffine, exact where the a_c are small multiples of
    one unit, else G-bit fixed point with a warning; docs/DESIGN.md 3.4) and one scale behind.
    """

    def rewrite(self, g: Graph, node: Node, nxt: Node) -> bool:
        if not isinstance(node.op, Affine):
            return False
        scale = node.op.scale
        on_input = node.inputs == (g.input_name,)  # gains on the raw frame; hidden layers keep the error
        if on_input and isinstance(nxt.op, (Reshape, DotProduct)) and not np.all(scale == scale[0]):
            dot = self._reading_dot(g, node)
            if dot is not None and g.types()[node.inputs[0]].dtype.is_integer:
                self._gains_in_front(g, node, dot)
        if isinstance(nxt.op, Reshape):
            readers = g.consumers(nxt.output)
            if not readers or nxt.output == g.output_name or not all(isinstance(r.op, (DotProduct, Reshape))
                                                                     for r in readers):
                return False  # only on the way into dense layers (SinkReshape moves the other way)
            self._swap_with_reshape(g, node, nxt, g.types())
            # dense layers reading one flatten (ABC-Net's weight bases): an affine in front of each
            copy_for_each_reader(g, nxt)
        elif isinstance(nxt.op, MaxPool):
            if node.op.position_bias is not None:
                return False  # max(y + b[p]) over a window is no affine of max(y)
            reader = g.only_consumer(nxt.output)
            if reader is None or not isinstance(reader.op, (DotProduct, Reshape, MaxPool)):
                return False
            self._swap_with_pool(g, node, nxt)
        elif isinstance(nxt.op, DotProduct):
            self._absorb(g, node, nxt, g.types())
        else:
            return False
        return True

    @staticmethod
    def _reading_dot(g: Graph, node: Node) -> Node | None:
        """The dot product that reads ``node``'s output, directly or through flattens."""
        reader = g.only_consumer(node.output)
        while reader is not None and isinstance(reader.op, Reshape):
            reader = g.only_consumer(reader.output)
        return reader if reader is not None and isinstance(reader.op, DotProduct) else None

    @staticmethod
    def _gains_in_front(g: Graph, affine: Node, dot: Node) -> None:
        """Affine(a, b) on integers x becomes IntegerAffine(g) → Affine(u, b) with integer gains
        g_c and one unit u: exact (a_c = g_c·u) where the ratios a_c/a_max share a denominator
        q ≤ 2^G, else g_c = round(2^G·a_c/a_max) and a warning names the relative error."""
        a = affine.op.scale.astype(np.float64)
        zero = np.flatnonzero(a == 0)
        if zero.size:
            raise ModelError(f"the input scale of channel {int(zero[0])} is zero", affine.source, "Mul/Div")
        x_type = g.types()[affine.inputs[0]].dtype
        op: DotProduct = dot.op
        largest = x_type.magnitude * op.fan_in * max(1, int(np.abs(op.weight).max(initial=1)))
        bits = min(INPUT_GAIN_BITS, MAX_ACCUMULATOR_BITS - 1 - math.ceil(math.log2(largest + 1)))
        if bits < MIN_INPUT_GAIN_BITS:
            raise ModelError(
                f"per-channel input scale: the accumulators of {dot.source!r} leave {bits} bits for the integer "
                f"input gains, fewer than {MIN_INPUT_GAIN_BITS}; supported: one scale for all channels, or a first "
                "layer with fewer or narrower weights",
                affine.source, "Mul/Div")
        reference = float(np.abs(a).max())
        ratios = [Fraction(float(v)) / Fraction(reference) for v in a]
        q = math.lcm(*(r.denominator for r in ratios))
        if q <= 1 << bits:
            gains, unit = np.array([int(r * q) for r in ratios], np.int64), reference / q
        else:
            gains = np.array([round(r * (1 << bits)) for r in ratios], np.int64)
            unit = reference / (1 << bits)
            error = float(np.max(np.abs(gains * unit - a) / np.abs(a)))
            g.notes.append(
                f"warning: node {affine.source!r}: the per-channel input scale becomes {bits}-bit integer gains "
                f"({', '.join(str(int(v)) for v in gains[:4])}{', …' if len(gains) > 4 else ''}) times {unit:.6g}, "
                f"relative error up to {error:.1e}; the first layer's decisions can differ from the float model's "
                "within that margin (docs/DESIGN.md 3.4)")
        name = g.fresh_name(f"{affine.name}_gains")
        gained = Node(name, IntegerAffine(scale=gains, offset=np.zeros(len(gains), np.int64)), affine.inputs, name,
                      affine.source)
        g.nodes.insert(g.nodes.index(affine), gained)
        affine.inputs = (name,)
        affine.op = Affine(scale=np.full(len(a), unit), bias=affine.op.bias, position_bias=affine.op.position_bias)

    @staticmethod
    def _swap_with_reshape(g: Graph, affine: Node, reshape: Node, types) -> None:
        in_shape = types[affine.inputs[0]].shape
        per_channel = int(np.prod(in_shape[1:])) if len(in_shape) > 1 else 1
        bias = np.broadcast_to(affine.op.offset().reshape((-1,) + (1,) * (len(in_shape) - 1)), in_shape)
        new_affine = Affine(scale=np.repeat(affine.op.scale, per_channel), bias=bias.reshape(-1))  # ONNX flatten order
        g.exchange(affine, reshape, reshape.op, new_affine)

    @staticmethod
    def _swap_with_pool(g: Graph, affine: Node, pool: Node) -> None:
        """max(s·x + b) = s·max(x) + b for s ≥ 0, s·min(x) + b for s < 0."""
        op: MaxPool = pool.op
        use_min = op.use_min if op.use_min is not None else np.zeros(len(affine.op.scale), bool)
        new_pool = MaxPool(kernel=op.kernel, strides=op.strides, pads=op.pads, use_min=use_min ^ (affine.op.scale < 0))
        g.exchange(affine, pool, new_pool, affine.op)

    @staticmethod
    def _absorb(g: Graph, affine: Node, dot: Node, types) -> None:
        op: DotProduct = dot.op
        a, b = affine.op.scale, affine.op.bias
        if affine.op.position_bias is not None:
            raise ModelError(
                f"the offset behind a zero-padded convolution differs at its border positions, and {dot.source!r} "
                "reads it without an activation in between; supported: a binarisation or quantizer behind that "
                "convolution (optionally after batchnorm and max-pooling)",
                dot.source,
                type(op).__name__,
            )
        if not np.all(a == a[0]):
            raise ModelError(
                "per-channel input scale cannot be folded into the integer weights of the next layer; supported: one scale "
                "for all channels",
                affine.source,
                "Mul/Div",
            )
        if a[0] == 0:
            raise ModelError("input scale is zero", affine.source, "Mul")
        if op.residual_order and np.any(b):
            raise ModelError(
                f"an offset in front of a residual binarization (HORQ, XNOR-Net's input scaling) changes the signs and "
                f"scales it takes, so it cannot move behind {dot.source!r}; supported: integer levels times one scale "
                "(a quantizer without zero point) in front of it",
                affine.source, "Add/Sub")
        weight = op.effective_weight
        position_offset = None
        if isinstance(op, Conv):
            c, h, w = types[affine.inputs[0]].shape
            bias_map = np.broadcast_to(b, (1, h, w, c))  # channels-last, as the golden kernels
            offset = float_conv(bias_map, weight, None, op.strides, op.pads)[0]  # (OH, OW, O)
            per_channel = offset[:1, :1, :]
            if not np.all(offset == per_channel):
                # Padding is zero after the offset: a border position sees it through fewer taps.
                position_offset = offset.transpose(2, 0, 1)  # (O, OH, OW)
                offset = np.zeros(op.out_channels)
            else:
                offset = per_channel.reshape(-1)
        else:
            offset = weight @ b
        g.nodes.remove(affine)
        g.onnx_tensors.pop(affine.output, None)
        dot.inputs = affine.inputs
        AbsorbInputAffine._scale_behind(g, dot, a[0], offset, position_offset, affine.source)

    @staticmethod
    def _scale_behind(g: Graph, dot: Node, a: float, offset: np.ndarray, position_offset: np.ndarray | None,
                      source: str) -> None:
        """Dot → Affine(a, offset[, position_offset]) composed with an affine already behind
        the dot, if any."""
        op: DotProduct = dot.op
        post = g.only_consumer(dot.output)
        if isinstance(post, Node) and isinstance(post.op, Affine):
            scale, bias, position_bias = post.op.scale, post.op.bias, post.op.position_bias
            if position_offset is not None:
                moved = scale[:, None, None] * position_offset
                position_bias = moved if position_bias is None else position_bias + moved
            post.op = Affine(scale=scale * a, bias=bias + scale * offset, position_bias=position_bias)
            return
        old, acc = dot.output, g.fresh_name(f"{dot.name}_acc")
        dot.output = acc
        scale = Affine(scale=np.full(op.out_channels, a), bias=offset, position_bias=position_offset)
        g.nodes.insert(g.nodes.index(dot) + 1, Node(g.fresh_name(f"{dot.name}_scale"), scale, (acc,), old, source))
