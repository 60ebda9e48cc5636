"""The split between accelerator and host (docs/DESIGN.md 3.7): the folded graph's trailing
output affine (and any reshape around it) runs on the host; the accelerator streams out the
int32 accumulators before it."""

from __future__ import annotations

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import OutputAffine, Reshape


def host_nodes(graph: Graph) -> list[Node]:
    """The trailing nodes that run on the host: the output affine and any flatten after it."""
    tail = []
    node = graph.producer(graph.output_name)
    while node is not None and isinstance(node.op, (OutputAffine, Reshape)):
        tail.insert(0, node)
        node = graph.producer(node.inputs[0])
    return tail


def accumulator_tensor(graph: Graph) -> str:
    """The tensor the accelerator streams out: what the host-side nodes start from."""
    tail = host_nodes(graph)
    return tail[0].inputs[0] if tail else graph.output_name
