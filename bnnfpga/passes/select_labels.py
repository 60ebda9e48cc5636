"""The classifier's answer in the accelerator (docs/DESIGN.md 3.13): a LabelSelect engine
ranks the last layer's integer accumulators, instead of the host ranking float logits.
Not one of the folding stages: the API applies it when the head is chosen (``--head``)."""

from __future__ import annotations

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.head import Head
from bnnfpga.ir.ops import DotProduct, LabelSelect, OutputAffine, Reshape
from bnnfpga.passes.base import Pass


class SelectLabels(Pass):
    """Folded graph ending in dot product → OutputAffine (→ flatten) becomes dot product →
    LabelSelect(k), with a 'labels' head. Ranking the accumulators a is ranking the logits
    s·a + b only when every class has the same scale s ≠ 0 and bias b (then equal
    accumulators are equal logits, and ties fall to the lower index either way); a per-class
    affine (a batchnorm behind the last layer, per-row weight scales) is refused by name.
    A model that returns ArgMax/TopK must select exactly its k; one that returns scores
    (softmax, logits) then returns the k best class indices instead (noted)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        tail = g.producer(g.output_name)
        while tail is not None and isinstance(tail.op, Reshape):
            tail = g.producer(tail.inputs[0])
        dot = g.producer(tail.inputs[0]) if tail is not None and isinstance(tail.op, OutputAffine) else None
        if dot is None or not isinstance(dot.op, DotProduct):
            last = tail or g.nodes[-1]
            raise ModelError("a label select needs the last layer to end in its accumulators (a dot product without "
                             "a quantizer behind it); use --head logits", last.source or last.name, type(last.op).__name__)
        affine: OutputAffine = tail.op
        where = (tail.source or tail.name, "OutputAffine")
        scores = g.types()[dot.output]
        if len(scores.shape) != 1:
            raise ModelError(f"a label select ranks a vector of classes, not accumulators of shape {scores.shape}; "
                             "use --head logits", *where)
        scale, bias = np.unique(affine.scale), np.unique(affine.bias)
        if len(scale) != 1 or len(bias) != 1 or scale[0] == 0:
            raise ModelError("a label select ranks the integer accumulators, which orders the logits only when every "
                             "class has one output scale and bias; this layer's differ per class (a batchnorm or "
                             "per-class weight scales behind it): use --head logits", *where)
        classes = int(np.prod(scores.shape))
        head = g.head
        if not 1 <= self.k <= classes:
            raise ModelError(f"--head topk={self.k}: the model has {classes} classes", *where)
        if head is not None and head.kind in ("argmax", "topk") and self.k != (1 if head.kind == "argmax" else head.k):
            raise ModelError(f"the model returns its top {1 if head.kind == 'argmax' else head.k} classes; "
                             f"--head topk={self.k} must select as many (or use --head logits)", *where)
        name = g.fresh_name(f"{dot.name}_labels")
        g.nodes = g.nodes[: g.nodes.index(dot) + 1] + [Node(name, LabelSelect(self.k, bool(scale[0] > 0)), (dot.output,),
                                                             name, dot.source)]
        g.output_name = name
        g.onnx_tensors = {t: o for t, o in g.onnx_tensors.items() if t in {n.output for n in g.nodes} | {g.input_name}}
        if head is None or not head.returns_indices:
            what = "logits" if head is None else f"{head.kind} probabilities"
            g.notes.append(f"the accelerator returns the top {self.k} class indices (label select); the model's {what} "
                           "are not computed (--head logits computes them)")
        g.head = Head("labels", self.k, head.keepdims if head is not None and head.kind == "argmax" else True)
        return g
