"""What every pass is: one graph-to-graph transformation with a name."""

from bnnfpga.ir.graph import Graph, Node


class Pass:
    """A pass returns a new graph and leaves its argument unchanged (it works on ``graph.copy()``).
    The graph it returns has the same semantics (the golden model computes the same output)."""

    def apply(self, graph: Graph) -> Graph:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__


class LocalRewrite(Pass):
    """A pass made of one local rewrite of a node and its single consumer, applied until no
    pair matches any more. Subclasses implement ``rewrite``."""

    def rewrite(self, g: Graph, node: Node, consumer: Node) -> bool:
        """Rewrite ``node`` → ``consumer`` in place and return True, or return False."""
        raise NotImplementedError

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        while any(
            (consumer := g.only_consumer(node.output)) is not None and self.rewrite(g, node, consumer)
            for node in list(g.nodes)
        ):
            pass
        return g


class NodeRewrite(Pass):
    """A pass made of one rewrite of a single node, applied to every node in topological
    order; the rewrite may remove nodes in front of the current one and insert nodes behind
    it (those are visited too). Subclasses implement ``rewrite``; ``Sweep`` runs several in
    one pass where each enables the others further down (the joins of a dense block)."""

    def rewrite(self, g: Graph, node: Node) -> None:
        raise NotImplementedError

    def apply(self, graph: Graph) -> Graph:
        return Sweep(self.name, self).apply(graph)


class Sweep(Pass):
    """Several NodeRewrites (or LocalRewrites, tried on a node and its single consumer) in one
    topological sweep, every rewrite tried on every node."""

    def __init__(self, name: str, *rewrites: NodeRewrite | LocalRewrite):
        self._name, self.rewrites = name, rewrites

    @property
    def name(self) -> str:
        return self._name

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        i = 0
        while i < len(g.nodes):
            node = g.nodes[i]
            for rewrite in self.rewrites:
                if node not in g.nodes:
                    break
                if isinstance(rewrite, NodeRewrite):
                    rewrite.rewrite(g, node)
                elif (consumer := g.only_consumer(node.output)) is not None:
                    rewrite.rewrite(g, node, consumer)
            i = g.nodes.index(node) + 1 if node in g.nodes else i
        return g
