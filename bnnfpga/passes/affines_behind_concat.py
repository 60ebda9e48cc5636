"""Move the dequantising affines of a concat's inputs behind it."""

import numpy as np

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, Concat
from bnnfpga.passes.base import NodeRewrite
from bnnfpga.passes.unshare_affines import copy_for_each_reader


class AffinesBehindConcat(NodeRewrite):
    """Concat(s_i·x_i + b_i) on integer x_i becomes Concat(x_i) → Affine(s, b) with the
    per-channel scales and offsets of the inputs laid end to end: a per-channel affine
    commutes with channel concatenation (docs/DESIGN.md 3.15). An input without an affine is
    an integer tensor with scale 1. The binarisation or quantizer that reads the concat then
    folds into thresholds on its integer channels. A concat with an input that is not an
    affine of integers read by it alone is left to the verifier."""

    def rewrite(self, g: Graph, concat: Node) -> None:
        if not isinstance(concat.op, Concat):
            return
        types = g.types()
        if types[concat.output].dtype.is_integer or len(set(concat.inputs)) != len(concat.inputs):
            return
        sides = []
        for tensor in concat.inputs:
            t, producer = types[tensor], g.producer(tensor)
            if t.dtype.is_integer:
                sides.append((np.ones(t.shape[0]), np.zeros(t.shape[0]), None, tensor))
            elif (producer is not None and isinstance(producer.op, Affine) and g.consumers(tensor) == [concat]
                  and tensor != g.output_name and types[producer.inputs[0]].dtype.is_integer):
                op = producer.op
                sides.append((op.scale, op.bias, op.position_bias, producer.inputs[0]))
            else:
                return
        self._move(g, concat, sides, types[concat.output].shape)

    @staticmethod
    def _move(g: Graph, concat: Node, sides, shape) -> None:
        for tensor in concat.inputs:
            producer = g.producer(tensor)
            if producer is not None and isinstance(producer.op, Affine):
                g.nodes.remove(producer)
                g.onnx_tensors.pop(producer.output, None)
        position_bias = None
        if any(p is not None for _, _, p, _ in sides):
            position_bias = np.concatenate([p if p is not None else np.zeros((len(s),) + tuple(shape[1:]))
                                            for s, _, p, _ in sides])
        behind = Affine(scale=np.concatenate([s for s, _, _, _ in sides]).astype(np.float64),
                        bias=np.concatenate([b for _, b, _, _ in sides]).astype(np.float64), position_bias=position_bias)
        levels = g.fresh_name(f"{concat.name}_levels")
        dequantize = Node(g.fresh_name(f"{concat.name}_dequantize"), behind, (levels,), concat.output, concat.source)
        g.nodes.insert(g.nodes.index(concat) + 1, dequantize)
        concat.inputs, concat.output = tuple(tensor for _, _, _, tensor in sides), levels
        copy_for_each_reader(g, dequantize)  # a dense block's concat feeds its next layer and the next concat
