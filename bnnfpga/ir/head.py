"""The classifier head (docs/DESIGN.md 3.13): what a model computes from its class scores at
the very end (ONNX ``Softmax``, ``LogSoftmax``, ``ArgMax``, ``TopK``), or how the class
indices a label-select engine found are returned. The head runs on the host; it is part of
the contract because the golden model, the host side of the hardware path and ``verify``
must all mean the same thing by it, ties included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# 'labels': the graph's output already holds the top-k class indices (LabelSelect); the
# head only gives them the model's output shape.
HEAD_KINDS = ("softmax", "logsoftmax", "argmax", "topk", "labels")
INDEX_KINDS = ("argmax", "topk", "labels")


def ranked(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores of each row (N, C), largest first; equal scores in
    index order, as ONNX ArgMax (select_last_index=0) and TopK (largest=1, sorted=1) break
    ties. int64."""
    order = np.argsort(-np.asarray(scores), axis=1, kind="stable")
    return order[:, :k].astype(np.int64)


@dataclass(frozen=True)
class Head:
    """``kind`` in HEAD_KINDS; ``k`` indices for topk/labels; ``keepdims`` keeps ArgMax's
    class axis ((N, 1) rather than (N,))."""

    kind: str
    k: int = 1
    keepdims: bool = True

    def __post_init__(self) -> None:
        if self.kind not in HEAD_KINDS:
            raise ValueError(f"unknown head {self.kind!r}")
        if self.k < 1:
            raise ValueError("a head selects at least one class")

    @property
    def returns_indices(self) -> bool:
        return self.kind in INDEX_KINDS

    def apply(self, y: np.ndarray) -> np.ndarray:
        """The head on a batch: class scores (N, C) → float32 probabilities or int64 indices;
        for 'labels', the indices (N, k) themselves."""
        if self.kind == "labels":
            labels = np.asarray(y).astype(np.int64)
        elif self.kind in ("argmax", "topk"):
            labels = ranked(y, 1 if self.kind == "argmax" else self.k)
        else:
            scores = np.asarray(y, np.float64)
            shifted = scores - scores.max(axis=1, keepdims=True)
            log_total = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            out = shifted - log_total if self.kind == "logsoftmax" else np.exp(shifted - log_total)
            return out.astype(np.float32)
        return labels if self.keepdims or labels.shape[1] > 1 else labels[:, 0]

    def to_json(self) -> dict:
        return {"kind": self.kind, "k": self.k, "keepdims": self.keepdims}

    @staticmethod
    def from_json(doc: dict | None) -> Head | None:
        return None if doc is None else Head(str(doc["kind"]), int(doc["k"]), bool(doc["keepdims"]))
