"""Incremental network quantization (INQ, Zhou et al. 2017): weights become 0 or ±2^n,
n in [n2, n1], a part of them at a time, the rest retrained in float around them.

A ``bits``-bit INQ layer has 2^(bits−2) exponents (one bit marks zero, one the sign): 5 bits
→ 8 powers of two, 4 → 4, 3 → 2. n1 = ⌊log2(4·max|w|/3)⌋ is fixed from the float weights
when quantization starts (the paper's rule, per layer), n2 = n1 + 1 − 2^(bits−2). A weight
goes to the power β of P = {0, 2^n2, …, 2^n1} with (α + β)/2 ≤ |w| < 3β/2, α the power
below β (0 below 2^n2): round to the nearest power on a linear scale, 0 under 2^(n2−1).

Training follows the paper's schedule (``INQ_SCHEDULE``): quantize 50% of each layer's
weights, those of the largest magnitude (the pruning-inspired partition), freeze them and
retrain the others; then 75%, 87.5% and 100%. ``quantize_fraction(model, f)`` takes one
step. Once every weight is frozen the layer's weights are constants 0 or ±2^n, which
``torch.onnx.export`` writes as they are and bnnfpga reads as power-of-two weights
(docs/DESIGN.md 3.11): a shift-and-add engine with no multiplier.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

# Fractions of the weights quantized after each retraining stage (the INQ paper's).
INQ_SCHEDULE = (0.5, 0.75, 0.875, 1.0)


def power_of_two_range(w: torch.Tensor, bits: int) -> tuple[int, int]:
    """(n2, n1): the exponents of a ``bits``-bit INQ layer whose float weights are ``w``."""
    if bits < 3:
        raise ValueError(f"INQ needs at least 3 bits (zero, sign, one exponent bit), got {bits}")
    largest = float(w.detach().abs().max())
    n1 = math.floor(math.log2(4.0 * largest / 3.0)) if largest > 0 else 0
    return n1 + 1 - (1 << (bits - 2)), n1


def round_to_powers_of_two(w: torch.Tensor, n2: int, n1: int) -> torch.Tensor:
    """Each weight to 0 or ±2^n, n in [n2, n1], by the INQ rule (module docstring)."""
    magnitude = w.abs()
    exponent = torch.floor(torch.log2(magnitude.clamp(min=2.0 ** (n2 - 2)) / 1.5)) + 1  # 3β/2 edges
    exponent = exponent.clamp(n2, n1)
    power = torch.exp2(exponent)
    zero = magnitude < 2.0 ** (n2 - 1)
    return torch.where(zero, torch.zeros_like(w), torch.sign(w) * power)


class _INQ:
    """Shared state of the INQ layers: the frozen mask, the frozen values (a buffer, so that
    neither the optimiser's momentum nor weight clipping moves them) and the exponent range."""

    def _init_inq(self, bits: int) -> None:
        self.bits = bits
        self.register_buffer("frozen", torch.zeros_like(self.weight, dtype=torch.bool))
        self.register_buffer("quantized", torch.zeros_like(self.weight))
        self.register_buffer("exponents", torch.zeros(2, dtype=torch.long))  # (n2, n1), set at the first step
        self.complete = False  # every weight frozen: a Python flag, so that export traces no test

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self.complete = bool(self.frozen.all())

    def quantize_fraction(self, fraction: float) -> None:
        """Quantize and freeze the largest-magnitude weights not yet frozen until ``fraction``
        of the layer is frozen."""
        with torch.no_grad():
            if not self.frozen.any():
                self.exponents.copy_(torch.tensor(power_of_two_range(self.weight, self.bits)))
            n2, n1 = (int(v) for v in self.exponents)
            more = round(fraction * self.weight.numel()) - int(self.frozen.sum())
            if more <= 0:
                return
            candidates = self.weight.abs().masked_fill(self.frozen, -1.0).reshape(-1)
            mask = torch.zeros(self.weight.numel(), dtype=torch.bool, device=self.weight.device)
            mask[torch.topk(candidates, more).indices] = True
            mask = mask.reshape(self.weight.shape)
            self.quantized[mask] = round_to_powers_of_two(self.weight[mask], n2, n1)
            self.frozen |= mask
            self.complete = bool(self.frozen.all())

    def current_weight(self) -> torch.Tensor:
        """The frozen powers of two where frozen, the float weights elsewhere; once all are
        frozen, the buffer itself (the export's constant)."""
        if self.complete:
            return self.quantized
        return torch.where(self.frozen, self.quantized, self.weight)


class INQLinear(nn.Linear, _INQ):
    """Linear with INQ weights: ``bits``-bit powers of two once ``quantize_fraction(1.0)``."""

    def __init__(self, in_features: int, out_features: int, bits: int = 5, bias: bool = False):
        super().__init__(in_features, out_features, bias=bias)
        self._init_inq(bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.current_weight(), self.bias)


class INQConv2d(nn.Conv2d, _INQ):
    """Conv2d with INQ weights: ``bits``-bit powers of two once ``quantize_fraction(1.0)``."""

    def __init__(self, *args, bits: int = 5, bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)
        self._init_inq(bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.current_weight(), self.bias, self.stride, self.padding, self.dilation, self.groups)


def quantize_fraction(model: nn.Module, fraction: float) -> nn.Module:
    """One INQ step on every INQ layer of ``model``."""
    for m in model.modules():
        if isinstance(m, _INQ):
            m.quantize_fraction(fraction)
    return model


def inq_layers_done(model: nn.Module) -> bool:
    """Every weight of every INQ layer is frozen (the model exports as powers of two)."""
    return all(m.complete for m in model.modules() if isinstance(m, _INQ))
