"""Give every tensor the name of the node that produces it (readable ir.json and reports)."""

from bnnfpga.ir.graph import Graph
from bnnfpga.passes.base import Pass


class NameTensorsAfterNodes(Pass):
    """Rewrites that swap ops leave tensor names behind their nodes; this pass restores
    tensor == producing node name. It changes names only, never values."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        rename = {n.output: n.name for n in g.nodes}
        if len(set(rename.values())) != len(rename) or g.input_name in rename.values():
            return g  # node names collide with other tensors: keep the names as they are
        for node in g.nodes:
            node.inputs = tuple(rename.get(i, i) for i in node.inputs)
            node.output = rename[node.output]
        g.output_name = rename.get(g.output_name, g.output_name)
        g.onnx_tensors = {rename.get(k, k): v for k, v in g.onnx_tensors.items()}
        return g
