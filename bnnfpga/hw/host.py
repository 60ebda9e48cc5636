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


def describe_io(graph: Graph) -> list[str]:
    """What the accelerator takes and returns, and what the host does around it, one line
    each (for compile's progress and report.md)."""
    lines = []
    if graph.input_quantizer is not None:
        q = graph.input_quantizer
        lines.append(f"input: float frames, quantized on the host by the model's {q.source!r} to "
                     f"{graph.input_type.dtype} levels [{q.qmin}, {q.qmax}] ({q.order} order, {q.rounding})")
    lines.append(f"output: {describe_output(graph)}")
    return lines


def describe_output(graph: Graph) -> str:
    """What the accelerator streams out and what the host makes of it, in one line."""
    if graph.head is not None and graph.head.kind == "labels":
        return f"the accelerator selects the top {graph.head.k} class label(s) (label select engine)"
    finish = f"; the host computes {graph.head.kind}" if graph.head is not None else ""
    return f"the accelerator streams the last layer's integers{finish}"
