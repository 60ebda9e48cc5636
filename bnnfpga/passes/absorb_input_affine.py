"""Move the affine in front of a dot product (input normalisation, or the (a+b)/2 + (a−b)/2·x
of a Where with other values than ±1) behind it, where threshold folding can absorb it."""

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.golden.kernels import float_conv
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, Conv, Dense, DotProduct, Reshape
from bnnfpga.passes.base import Pass


class AbsorbInputAffine(Pass):
    """Affine(a, b) → Dot(W) becomes Dot(W) → Affine(a, W·b).

    The scale must be one number for all input channels (else the weights would stop being
    binary). The offset term W·b must not depend on the output position, which fails for a
    zero-padded convolution with b ≠ 0: padding is zero *after* the offset, so border
    positions see fewer offset terms (DESIGN 3.5 forbids changing padding semantics).
    An affine in front of a flatten moves behind it first.
    """

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        types = g.types()
        progress = True
        while progress:
            progress = False
            for node in g.nodes:
                nxt = g.only_consumer(node.output)
                if not isinstance(node.op, Affine) or nxt is None:
                    continue
                if isinstance(nxt.op, Reshape):
                    self._swap_with_reshape(g, node, nxt, types)
                elif isinstance(nxt.op, DotProduct):
                    self._absorb(g, node, nxt, types)
                else:
                    continue
                types = g.types()
                progress = True
                break
        return g

    @staticmethod
    def _swap_with_reshape(g: Graph, affine: Node, reshape: Node, types) -> None:
        in_shape = types[affine.inputs[0]].shape
        per_channel = int(np.prod(in_shape[1:])) if len(in_shape) > 1 else 1
        new_affine = Affine(scale=np.repeat(affine.op.scale, per_channel), bias=np.repeat(affine.op.bias, per_channel))
        # reshape now reads the affine's input; the affine reads the reshape's output.
        affine.op, reshape.op = reshape.op, new_affine
        affine.name, reshape.name = reshape.name, affine.name
        g.onnx_tensors.pop(affine.output, None)

    @staticmethod
    def _absorb(g: Graph, affine: Node, dot: Node, types) -> None:
        op: DotProduct = dot.op
        a, b = affine.op.scale, affine.op.bias
        if not np.all(a == a[0]):
            raise ModelError(
                "per-channel input scale cannot be folded into binary weights; supported: one scale for all channels",
                affine.source,
                "Mul/Div",
            )
        if a[0] == 0:
            raise ModelError("input scale is zero", affine.source, "Mul")
        weight = op.weight.astype(np.float64)
        if isinstance(op, Conv):
            c, h, w = types[affine.inputs[0]].shape
            bias_map = np.broadcast_to(b, (1, h, w, c))  # channels-last, as the golden kernels
            offset = float_conv(bias_map, weight, None, op.strides, op.pads)[0]  # (OH, OW, O)
            per_channel = offset[:1, :1, :]
            if not np.all(offset == per_channel):
                raise ModelError(
                    f"the input offset before zero-padded convolution {dot.source!r} would make border outputs "
                    "position-dependent; supported: no offset (e.g. normalise to x/255 only) or no padding in this layer",
                    affine.source,
                    "Sub/Add",
                )
            offset = per_channel.reshape(-1)
        else:
            offset = weight @ b
        g.nodes.remove(affine)
        g.onnx_tensors.pop(affine.output, None)
        dot.inputs = affine.inputs
        post = g.only_consumer(dot.output)
        if isinstance(post, Node) and isinstance(post.op, Affine):
            post.op = Affine(scale=post.op.scale * a[0], bias=post.op.bias + post.op.scale * offset)
            return
        old, acc = dot.output, g.fresh_name(f"{dot.name}_acc")
        dot.output = acc
        scale = Affine(scale=np.full(op.out_channels, a[0]), bias=offset)
        g.nodes.insert(g.nodes.index(dot) + 1, Node(g.fresh_name(f"{dot.name}_scale"), scale, (acc,), old, affine.source))
