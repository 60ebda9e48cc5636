"""What an ONNX tensor is while the frontend walks the graph: a constant, or a dynamic IR
tensor. Half-finished idioms have their own values (frontend/onnx.py, frontend/residual.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnnfpga.ir.types import TensorType


@dataclass
class Const:
    value: np.ndarray


@dataclass
class Dynamic:
    tensor: str  # IR tensor name
    type: TensorType
    # The ONNX shape (batch left out) where it differs from the IR type's: a vector of C
    # values seen as (C, 1) or (C, 1, 1) between two Squeeze/Unsqueeze/Reshape steps.
    view: tuple[int, ...] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.view or self.type.shape
