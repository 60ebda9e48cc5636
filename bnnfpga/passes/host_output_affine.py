"""The last layer's per-class affine runs on the host (docs/DESIGN.md 3.7)."""

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, DotProduct, OutputAffine, Reshape
from bnnfpga.passes.base import Pass


class HostOutputAffine(Pass):
    """A final Affine on integer accumulators becomes OutputAffine (host side); a graph that
    ends in a dot product gets an identity OutputAffine, so the accelerator always streams
    integer accumulators and the host always produces float logits."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        types = g.types()
        last = g.producer(g.output_name)
        while last is not None and isinstance(last.op, Reshape):  # a trailing flatten stays on the host
            last = g.producer(last.inputs[0])
        if last is None:
            return g
        if isinstance(last.op, Affine) and types[last.inputs[0]].dtype.is_integer:
            if last.op.position_bias is not None:
                raise ModelError(
                    "the last layer is a zero-padded convolution of an offset input: its offset differs at the border "
                    "positions, which the host-side output affine does not carry; supported: such a convolution "
                    "followed by a binarisation or quantizer",
                    last.source,
                    "Conv",
                )
            last.op = OutputAffine(scale=last.op.scale, bias=last.op.bias)
        elif isinstance(last.op, DotProduct) and types[last.output].dtype.is_integer:
            channels = types[last.output].shape[0]
            name = g.fresh_name(f"{last.name}_host")
            out = Node(name, OutputAffine(scale=np.ones(channels), bias=np.zeros(channels)), (last.output,), name, last.source)
            g.nodes.insert(g.nodes.index(last) + 1, out)
            g.replace_tensor(last.output, name)
            out.inputs = (last.output,)
            if last.output in g.onnx_tensors:
                g.onnx_tensors[name] = g.onnx_tensors.pop(last.output)
        return g
