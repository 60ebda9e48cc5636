"""Put the float gains of weight bases (ABC-Net) on one integer grid per layer."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, Binarize, DotProduct, FloatThresholds, Quantize, Truncate, is_integer_weight
from bnnfpga.passes.base import Pass

# The accumulator of a layer with weight bases stays below 2^ACCUMULATOR_BITS in magnitude
# when it leaves the accelerator (the int32 output stream), below 2^HIDDEN_ACCUMULATOR_BITS when
# a quantizer reads it inside its engine (verify.MAX_BASES_ACCUMULATOR_BITS, with room for the
# thresholds at max + 1): wide enough that float32 gains (24-bit significands a few octaves
# apart) on a layer of up to 2^14 reachable input sums stay exact.
ACCUMULATOR_BITS = 30
HIDDEN_ACCUMULATOR_BITS = 46


class IntegerBaseGains(Pass):
    """A DotProduct with ``bases`` and float ``base_gains`` α (float32 values read as float64:
    dyadic rationals) gets integer gains C = α·2^K, the same K for the whole layer, and an
    Affine(2^−K) behind it. K is the smallest that makes every C exact, when the accumulator
    bound Σ_i |C_i|·max|x|·fan_in stays below 2^HIDDEN_ACCUMULATOR_BITS (a quantizer reads
    the layer) or 2^ACCUMULATOR_BITS (the last layer); otherwise the largest K that keeps it
    there, C = round(α·2^K), and ``compile`` says so with the largest relative change of a
    gain (docs/DESIGN.md 5.2: where the float model can then decide differently)."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        types = g.types()
        out: list[Node] = []
        for node in g.nodes:
            out.append(node)
            op = node.op
            if not isinstance(op, DotProduct) or op.bases is None or is_integer_weight(op.weight):
                continue
            x = types[node.inputs[0]].dtype
            if not x.is_integer:
                continue  # verify_folded names it
            reach = x.magnitude * op.fan_in
            gains = op.base_gains.astype(np.float64)
            exact = max(Fraction(float(v)).denominator.bit_length() - 1 for v in gains.ravel() if v != 0) \
                if np.any(gains) else 0
            bits = HIDDEN_ACCUMULATOR_BITS if self._quantized(g, node) else ACCUMULATOR_BITS
            largest = float(np.abs(gains).sum(axis=1).max())
            limit = int(np.floor(np.log2((2.0**bits - 1) / max(largest * reach, 1e-300))))
            k = min(exact, limit)
            while k > -64 and float(np.abs(np.round(gains * 2.0**k)).sum(axis=1).max()) * reach >= 2.0**bits:
                k -= 1
            integer = np.round(gains * 2.0**k).astype(np.int64)
            if k < exact:
                nonzero = gains != 0
                change = float(np.max(np.abs(integer[nonzero] * 2.0**-k - gains[nonzero]) / np.abs(gains[nonzero])))
                g.notes.append(f"node {node.source!r}: weight-base gains rounded to the grid 2^{-k} (largest relative "
                               f"change {change:.2g}) to keep the accumulator within {bits} bits")
            view = (op.out_channels,) + (1,) * (op.weight.ndim - 1)
            weight = sum(integer[:, i].reshape(view) * op.bases[i].astype(np.int64) for i in range(len(op.bases)))
            magnitude = int(np.abs(weight).max(initial=0))
            dtype = np.int16 if magnitude < 2**15 else np.int32 if magnitude < 2**31 else np.int64
            g.notes.append(f"node {node.source!r}: {len(op.bases)} binary weight bases (ABC-Net) with integer gains "
                           f"on the grid 2^{-k}")
            acc = g.fresh_name(f"{node.name}_acc")
            node.op = type(op)(**{**vars(op), "weight": weight.astype(dtype), "base_gains": integer.astype(dtype)})
            out.append(Node(g.fresh_name(f"{node.name}_grid"), Affine(scale=np.full(op.out_channels, 2.0**-k),
                                                                      bias=np.zeros(op.out_channels)),
                            (acc,), node.output, node.source))
            node.output = acc
        g.nodes = out
        return g

    @staticmethod
    def _quantized(g: Graph, node: Node) -> bool:
        """Every path from the dot product's output meets a binarisation or quantizer through
        affines only: the accumulator stays inside the engine."""
        readers = g.consumers(node.output)
        if not readers or node.output == g.output_name:
            return False
        return all(isinstance(r.op, (Binarize, FloatThresholds, Quantize, Truncate)) or
                   (isinstance(r.op, Affine) and IntegerBaseGains._quantized(g, r)) for r in readers)
