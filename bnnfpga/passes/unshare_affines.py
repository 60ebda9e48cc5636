"""Give every reader of a shared affine its own copy (the fork of a residual or dense block)."""

import dataclasses

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, PReLU
from bnnfpga.passes.base import Pass


class UnshareAffines(Pass):
    """An Affine (or PReLU) read by several nodes (a dequantised tensor feeding both a block's
    binarisation and its shortcut) becomes one copy per reader, each inserted right behind
    the original so the order stays topological. Each copy then merges and folds along its
    own branch: into the binarisation's thresholds on one side, behind the add on the other
    (AlignAddGrids). The first reader, and the graph output, keep the original. Last nodes
    first, so that a chain of them (ReActNet's RPReLU: affine, PReLU, affine) is copied whole."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        for node in reversed([n for n in g.nodes if isinstance(n.op, (Affine, PReLU))]):
            copy_for_each_reader(g, node)
        return g


def copy_for_each_reader(g: Graph, affine: Node) -> None:
    """Give every reader of ``affine``'s output (an elementwise node) but the first (or the
    graph output) a copy."""
    readers = g.consumers(affine.output)
    keep = 0 if affine.output == g.output_name else 1
    at = g.nodes.index(affine)
    for reader in readers[keep:]:
        name = g.fresh_name(f"{affine.name}_for_{reader.name}")
        at += 1
        g.nodes.insert(at, dataclasses.replace(affine, name=name, output=name))
        reader.inputs = tuple(name if i == affine.output else i for i in reader.inputs)
