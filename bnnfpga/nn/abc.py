"""ABC-Net (Lin, Zhao and Pan 2017, "Towards accurate binary convolutional neural network"):
weights and activations as sums of scaled binary bases.

Weights: W ≈ Σ_i α_i·B_i with M bases B_i = sign(W − mean(W) + u_i·std(W)), the shifts u_i
spread evenly over [−1, 1], and α the least-squares fit of W by the bases (per layer as in
the paper, or per output channel). The layer computes the branches as the paper writes
them, Σ_i α_i·(x ∗ B_i): that is what ``torch.onnx.export`` writes, and what bnnfpga
merges into one dot product with weight bases and integer gains (docs/DESIGN.md 5.2).
Training passes the gradient straight through the signs to the latent weights (the
hardtanh STE of bnnfpga.nn.layers.binarize); α is refitted at every step and not trained.
The bases and α are fixed when the layer enters eval mode (``model.eval()``): buffers, so
that the export holds them as constants rather than a least-squares solve ONNX has no op
for.

Activations: A ≈ Σ_j β_j·H_{v_j}(x), H_v(x) = +1 where x + v ≥ ½ else −1 (the paper's
2·[clip(x + v, 0, 1) ≥ ½] − 1), N shifts v_j trained. β is fixed, with integer ratios
(1 : ½, 1 : ½ : ¼, ...): then the sum is a multi-threshold quantizer that folds into the
thresholds of the layer in front (each shift a threshold, repeated β_j/β_min times); other
ratios are refused by bnnfpga, naming the add.
"""

from __future__ import annotations

from fractions import Fraction

import torch
from torch import nn
from torch.nn import functional as F

from bnnfpga.nn.layers import binarize


def weight_bases(w: torch.Tensor, count: int, straight_through: bool = False) -> torch.Tensor:
    """The ``count`` bases (M, *w.shape) of ±1 of ABC-Net's weight approximation."""
    centred, spread = w - w.mean(), w.std()
    shifts = torch.linspace(-1.0, 1.0, count) if count > 1 else torch.zeros(1)
    return torch.stack([binarize(centred + float(u) * spread, straight_through) for u in shifts])


def least_squares_gains(w: torch.Tensor, bases: torch.Tensor, per_channel: bool) -> torch.Tensor:
    """α minimising ||W − Σ_i α_i·B_i||²: (M,) for the layer, or (O, M) per output channel."""
    w, bases = w.detach().double(), bases.detach().double()
    if per_channel:
        columns = bases.reshape(len(bases), w.shape[0], -1).permute(1, 2, 0)  # (O, fan-in, M)
        return torch.linalg.lstsq(columns, w.reshape(w.shape[0], -1, 1)).solution[..., 0].float()
    columns = bases.reshape(len(bases), -1).T  # (weights, M)
    return torch.linalg.lstsq(columns, w.reshape(-1, 1)).solution[:, 0].float()


class _WeightBases:
    """Shared by the ABC layers: M bases, α per layer or per channel, fixed in eval mode."""

    def _init_bases(self, bases: int, per_channel: bool) -> None:
        if bases < 1:
            raise ValueError(f"ABC-Net needs at least one weight base, got {bases}")
        self.base_count, self.per_channel = bases, per_channel
        self.register_buffer("frozen_bases", torch.empty(0), persistent=False)
        self.register_buffer("frozen_gains", torch.empty(0), persistent=False)
        self.frozen = False  # a Python flag, so that export traces no test

    def bases_and_gains(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(B (M, *weight.shape), α (M,) or (O, M)) from the latent weights now."""
        bases = weight_bases(self.weight, self.base_count, straight_through=self.training)
        return bases, least_squares_gains(self.weight, bases, self.per_channel)

    def train(self, mode: bool = True):
        super().train(mode)
        if not mode:
            with torch.no_grad():
                self.frozen_bases, self.frozen_gains = self.bases_and_gains()
            self.frozen = True
        return self

    def _branches(self, x: torch.Tensor, apply) -> torch.Tensor:
        """Σ_i α_i·apply(x, B_i): the weighted sum of the weights in training (one product),
        the paper's branches in eval mode (what the export writes)."""
        if self.training:
            bases, gains = self.bases_and_gains()
            per_base = gains.T if self.per_channel else gains  # (M, O) or (M,)
            view = per_base.shape + (1,) * (bases.dim() - per_base.dim())
            return apply(x, (bases * per_base.reshape(view)).sum(0))
        if not self.frozen:
            self.train(False)
        total = None
        for i in range(self.base_count):
            gain = self.frozen_gains[:, i] if self.per_channel else self.frozen_gains[i]
            if self.per_channel:
                gain = gain.reshape(-1, *([1] * (x.dim() - 2)))
            branch = gain * apply(x, self.frozen_bases[i])
            total = branch if total is None else total + branch
        return total


class ABCLinear(_WeightBases, nn.Linear):
    """Linear with ABC-Net weights: ``bases`` M binary bases, α per layer (``per_channel``:
    per output channel)."""

    def __init__(self, in_features: int, out_features: int, bases: int = 3, per_channel: bool = False,
                 bias: bool = False):
        super().__init__(in_features, out_features, bias=bias)
        self._init_bases(bases, per_channel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._branches(x, F.linear)
        return out if self.bias is None else out + self.bias


class ABCConv2d(_WeightBases, nn.Conv2d):
    """Conv2d with ABC-Net weights: ``bases`` M binary bases, α per layer (``per_channel``:
    per output channel)."""

    def __init__(self, *args, bases: int = 3, per_channel: bool = False, bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)
        self._init_bases(bases, per_channel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._branches(x, lambda v, w: F.conv2d(v, w, None, self.stride, self.padding, self.dilation, self.groups))
        return out if self.bias is None else out + self.bias.reshape(1, -1, 1, 1)


def _check_integer_ratios(betas: tuple[float, ...]) -> None:
    smallest = min(betas)
    if smallest <= 0 or any((Fraction(b) / Fraction(smallest)).denominator != 1 for b in betas):
        raise ValueError(f"ABC-Net activation scales β {betas} must be positive with integer ratios (such as 1 : 0.5) "
                         "for bnnfpga to fold them into thresholds")


class ABCActivation(nn.Module):
    """Σ_j β_j·H_{v_j}(x) with fixed ``betas`` (integer ratios) and trained shifts v_j, one per
    base, initialised so that the thresholds ½ − v_j spread evenly over [−½, ½]."""

    def __init__(self, betas: tuple[float, ...] = (1.0, 0.5)):
        super().__init__()
        _check_integer_ratios(tuple(betas))
        self.betas = tuple(float(b) for b in betas)
        count = len(self.betas)
        self.shifts = nn.Parameter(torch.linspace(0.0, 1.0, count) if count > 1 else torch.full((1,), 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = None
        for j, beta in enumerate(self.betas):
            term = beta * binarize(x + (self.shifts[j] - 0.5), self.training)
            total = term if total is None else total + term
        return total
