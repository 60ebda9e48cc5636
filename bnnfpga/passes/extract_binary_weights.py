"""Recognise binary weights by their values: every output row takes the values ±s_r."""

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, DotProduct
from bnnfpga.passes.base import Pass


def split_binary_rows(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """weight (O, ...) = s[:, None] · B with B ∈ {−1, +1} and s ≥ 0, or None when some row takes
    other values. A row of zeros (batchnorm γ = 0 folded in by the exporter) has s = 0."""
    rows = weight.reshape(weight.shape[0], -1)
    magnitude = np.abs(rows)
    scale = magnitude.max(axis=1)
    if not np.all(magnitude == scale[:, None]):
        return None
    signs = np.where(weight >= 0, 1, -1).astype(np.int8)
    return signs, scale


class ExtractBinaryWeights(Pass):
    """Float weights W = s·B (+ bias) become ±1 weights B followed by Affine(s, bias)."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        out: list[Node] = []
        for node in g.nodes:
            op = node.op
            out.append(node)
            if not isinstance(op, DotProduct) or op.weight.dtype == np.int8:
                continue
            split = split_binary_rows(op.weight)
            if split is None:
                rows = op.weight.reshape(op.out_channels, -1)
                bad = next(r for r in range(len(rows)) if len(np.unique(np.abs(rows[r]))) > 1)
                values = np.unique(rows[bad])
                shown = ", ".join(f"{v:g}" for v in values[:6]) + (", …" if len(values) > 6 else "")
                raise ModelError(
                    f"weights are not binary: output channel {bad} takes {len(values)} distinct values ({shown}); "
                    "supported: each output channel's weights are ±s (BNN sign weights, optionally scaled)",
                    node.source,
                    type(op).__name__,
                )
            signs, scale = split
            bias = op.bias if op.bias is not None else np.zeros(op.out_channels)
            node.op = type(op)(**{**vars(op), "weight": signs, "bias": None})
            if np.all(scale == 1) and np.all(bias == 0):
                continue
            acc = g.fresh_name(f"{node.name}_acc")
            affine = Node(g.fresh_name(f"{node.name}_scale"), Affine(scale=scale.astype(np.float64), bias=bias.astype(np.float64)), (acc,), node.output, node.source)
            node.output = acc
            out.append(affine)
        g.nodes = out
        return g
