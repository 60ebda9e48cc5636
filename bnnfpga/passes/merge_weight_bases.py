"""A sum of scaled dot products of one input with binary weights (ABC-Net's weight bases) becomes
one dot product with its weights factored into bases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Add, Affine, Conv, DotProduct, is_integer_weight
from bnnfpga.passes.base import NodeRewrite


@dataclass
class _Side:
    """gain[o]·(dot of ``x`` with ``bases``) + bias[o], made by ``nodes``."""

    dot: DotProduct
    x: str
    bases: np.ndarray  # (M, O, ...) ±1
    gains: np.ndarray  # (O, M)
    bias: np.ndarray  # (O,)
    nodes: list[Node]


class MergeWeightBases(NodeRewrite):
    """Add(Affine(α_a·s_a, b_a)(dot(x, B_a)), Affine(α_b·s_b, b_b)(dot(x, B_b))) with ±1 weights
    B_a, B_b (ABC-Net: W ≈ Σ_i α_i·B_i, each base a conv or matmul of the same activation,
    scaled and summed) becomes one DotProduct of x with ``bases`` (B_a, B_b) and float
    ``base_gains`` per row, its weight their sum, followed by Affine(1, b_a + b_b). A side may
    itself be such a merged dot product, so a chain of M − 1 adds merges all M bases.
    ``IntegerBaseGains`` then puts the gains on an integer grid. Runs once the affines in front
    of the dot products have moved behind them (AbsorbInputAffine), so both read the same
    integer tensor."""

    def rewrite(self, g: Graph, add: Node) -> None:
        if not isinstance(add.op, Add) or g.types()[add.output].dtype.is_integer or add.inputs[0] == add.inputs[1]:
            return
        sides = [self._side(g, tensor, add) for tensor in add.inputs]
        if None in sides:
            return
        a, b = sides
        if a.x != b.x or not self._same_geometry(a.dot, b.dot):
            return
        bases = np.concatenate([a.bases, b.bases])
        gains = np.concatenate([a.gains, b.gains], axis=1)
        view = (gains.shape[0],) + (1,) * (bases.ndim - 2)
        weight = sum(gains[:, i].reshape(view) * bases[i] for i in range(len(bases)))
        for node in a.nodes + b.nodes:
            g.nodes.remove(node)
            g.onnx_tensors.pop(node.output, None)
        fields = {**vars(a.dot), "weight": weight, "bias": None, "bases": bases, "base_gains": gains,
                  "flipped": None, "acc_min": None, "acc_max": None}
        summed = g.fresh_name(f"{add.name}_bases")
        output = add.output
        add.op, add.inputs, add.output = type(a.dot)(**fields), (a.x,), summed
        g.nodes.insert(g.nodes.index(add) + 1, Node(g.fresh_name(f"{add.name}_bias"),
                                                    Affine(scale=np.ones(len(weight)), bias=a.bias + b.bias),
                                                    (summed,), output, add.source))

    @staticmethod
    def _same_geometry(a: DotProduct, b: DotProduct) -> bool:
        if type(a) is not type(b) or a.weight.shape[1:] != b.weight.shape[1:] or a.out_channels != b.out_channels:
            return False
        return not isinstance(a, Conv) or (a.strides, a.pads) == (b.strides, b.pads)

    @staticmethod
    def _side(g: Graph, tensor: str, add: Node) -> _Side | None:
        """One input of the add as a scaled (sum of) binary dot product(s), or None."""
        producer = g.producer(tensor)
        if producer is None or g.consumers(tensor) != [add] or tensor == g.output_name:
            return None
        nodes, scale, bias = [], None, None
        if isinstance(producer.op, Affine) and producer.op.position_bias is None:
            nodes, scale, bias = [producer], producer.op.scale, producer.op.bias
            inner = g.producer(producer.inputs[0])
            if inner is None or g.consumers(producer.inputs[0]) != [producer]:
                return None
            producer = inner
        op = producer.op
        if not isinstance(op, DotProduct) or op.gains is not None or op.bias is not None:
            return None
        rows = op.out_channels
        scale = np.ones(rows) if scale is None else scale
        bias = np.zeros(rows) if bias is None else bias
        if op.bases is not None:
            if is_integer_weight(op.weight):
                return None
            bases, gains = op.bases, op.base_gains * scale[:, None]
        elif is_integer_weight(op.weight) and np.all(np.abs(op.weight) == 1):
            bases, gains = op.weight[None].astype(np.int8), scale[:, None].astype(np.float64)
        else:
            return None
        return _Side(op, producer.inputs[0], bases, gains, bias.astype(np.float64), nodes + [producer])
