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
