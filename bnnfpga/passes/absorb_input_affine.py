"""Move the affine in front of a dot product (input normalisation, or the (a+b)/2 + (a−b)/2·x
of a Where with other values than ±1) behind it, where threshold folding can absorb it."""

import math
from fractions import Fraction

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, Conv, DotProduct, IntegerAffine, MaxPool, Reshape
from bnnfpga.ir.patches import float_conv
from bnnfpga.passes.base import LocalRewrite

# Largest q in a·x + b = (a/q)·(q·x + r): it widens the first layer's input by log2(q) bits.
MAX_OFFSET_DENOMINATOR = 256


class AbsorbInputAffine(LocalRewrite):
    """Affine(a, b) → Dot(W) becomes Dot(W) → Affine(a, W·b).

    The scale must be one number for all input channels (else the weights would stop being
    binary). For a zero-padded convolution with b ≠ 0 the offset term W·b depends on the
    output position (padding is zero *after* the offset, docs/DESIGN.md 3.5); there the offset stays
    in front as an exact IntegerAffine u = q·x + r and only the scale a/q moves behind.
    An affine in front of a flatten or a max-pool (the dequantisation of k-bit levels that
    are pooled before the next layer) moves behind it first.
    """

    def rewrite(self, g: Graph, node: Node, nxt: Node) -> bool:
        if not isinstance(node.op, Affine):
            return False
        if isinstance(nxt.op, Reshape):
            reader = g.only_consumer(nxt.output)
            if reader is None or not isinstance(reader.op, (DotProduct, Reshape)):
                return False  # only on the way into a dense layer (SinkReshape moves the other way)
            self._swap_with_reshape(g, node, nxt, g.types())
        elif isinstance(nxt.op, MaxPool):
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
    def _swap_with_reshape(g: Graph, affine: Node, reshape: Node, types) -> None:
        in_shape = types[affine.inputs[0]].shape
        per_channel = int(np.prod(in_shape[1:])) if len(in_shape) > 1 else 1
        new_affine = Affine(scale=np.repeat(affine.op.scale, per_channel), bias=np.repeat(affine.op.bias, per_channel))
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
        if not np.all(a == a[0]):
            raise ModelError(
                "per-channel input scale cannot be folded into the integer weights of the next layer; supported: one scale "
                "for all channels",
                affine.source,
                "Mul/Div",
            )
        if a[0] == 0:
            raise ModelError("input scale is zero", affine.source, "Mul")
        weight = op.effective_weight
        if isinstance(op, Conv):
            c, h, w = types[affine.inputs[0]].shape
            bias_map = np.broadcast_to(b, (1, h, w, c))  # channels-last, as the golden kernels
            offset = float_conv(bias_map, weight, None, op.strides, op.pads)[0]  # (OH, OW, O)
            per_channel = offset[:1, :1, :]
            if not np.all(offset == per_channel):
                # Padding is zero after the offset: apply the offset exactly, in integers, in front.
                AbsorbInputAffine._offset_in_integers(g, affine, dot, types)
                return
            offset = per_channel.reshape(-1)
        else:
            offset = weight @ b
        g.nodes.remove(affine)
        g.onnx_tensors.pop(affine.output, None)
        dot.inputs = affine.inputs
        AbsorbInputAffine._scale_behind(g, dot, a[0], offset, affine.source)

    @staticmethod
    def _offset_in_integers(g: Graph, affine: Node, dot: Node, types) -> None:
        """a·x + b = (a/q)·(q·x + r) with integers q > 0 and r = q·b/a: the conv then sees the
        integer tensor q·x + r, zero-padded exactly as the model says."""
        a, b = float(affine.op.scale[0]), affine.op.bias
        if not types[affine.inputs[0]].dtype.is_integer:
            raise ModelError(f"an offset in front of zero-padded convolution {dot.source!r} needs an integer input",
                             affine.source, "Sub/Add")
        ratios = [Fraction(float(v) / a).limit_denominator(MAX_OFFSET_DENOMINATOR) for v in b]
        exact = all(abs(float(r) - float(v) / a) <= 1e-9 * max(1.0, abs(float(v) / a)) for r, v in zip(ratios, b))
        q = math.lcm(*(r.denominator for r in ratios))
        if not exact or q > MAX_OFFSET_DENOMINATOR:
            raise ModelError(
                f"the input offset before zero-padded convolution {dot.source!r} is not a simple fraction of the "
                f"input scale (offset/scale must be r/q with q ≤ {MAX_OFFSET_DENOMINATOR}); supported: such offsets "
                "(e.g. (x/255 − 0.5)/0.25), no offset, or no padding in this layer",
                affine.source,
                "Sub/Add",
            )
        affine.op = IntegerAffine(scale=q, offset=np.array([int(r * q) for r in ratios], dtype=np.int64))
        g.onnx_tensors.pop(affine.output, None)
        AbsorbInputAffine._scale_behind(g, dot, a / q, np.zeros(dot.op.out_channels), affine.source)

    @staticmethod
    def _scale_behind(g: Graph, dot: Node, a: float, offset: np.ndarray, source: str) -> None:
        """Dot → Affine(a, offset) composed with an affine already behind the dot, if any."""
        op: DotProduct = dot.op
        post = g.only_consumer(dot.output)
        if isinstance(post, Node) and isinstance(post.op, Affine):
            post.op = Affine(scale=post.op.scale * a, bias=post.op.bias + post.op.scale * offset)
            return
        old, acc = dot.output, g.fresh_name(f"{dot.name}_acc")
        dot.output = acc
        scale = Affine(scale=np.full(op.out_channels, a), bias=offset)
        g.nodes.insert(g.nodes.index(dot) + 1, Node(g.fresh_name(f"{dot.name}_scale"), scale, (acc,), old, source))
