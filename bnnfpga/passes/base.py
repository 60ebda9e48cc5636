"""What every pass is: one graph-to-graph transformation with a name."""

from bnnfpga.ir.graph import Graph


class Pass:
    """A pass returns a new graph and leaves its argument unchanged (it works on ``graph.copy()``).
    The graph it returns has the same semantics (the golden model computes the same output)."""

    def apply(self, graph: Graph) -> Graph:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__
