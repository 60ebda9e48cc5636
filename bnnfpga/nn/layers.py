"""BNN layers (Courbariaux et al.): sign activations and sign weights, trained with the
straight-through estimator; XNOR-Net / BWN layers (Rastegari et al.), whose ±1 weights carry a
scale α per output channel, the mean |w| of the row (α folds into the thresholds behind). In eval mode they are plain ``torch.where(x >= 0, 1, -1)``, so
``torch.onnx.export`` writes ``Where(GreaterOrEqual(x, 0), 1, -1)`` (legacy exporter) or
folds the weights to ±1 constants (dynamo exporter): both forms bnnfpga reads."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def binarize(x: torch.Tensor, straight_through: bool) -> torch.Tensor:
    """+1 where x ≥ 0 else −1 (docs/DESIGN.md 3.2). With ``straight_through`` the gradient passes
    unchanged where |x| ≤ 1 and is 0 elsewhere (the hardtanh STE)."""
    signs = torch.where(x >= 0, 1.0, -1.0)
    if not straight_through:
        return signs
    clipped = torch.clamp(x, -1.0, 1.0)
    return clipped + (signs - clipped).detach()


class BinarySign(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return binarize(x, self.training)


class BinaryConv2d(nn.Conv2d):
    """Conv2d with ±1 weights (the float weights are the latent, trained values)."""

    def __init__(self, *args, bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = binarize(self.weight, self.training)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class BinaryLinear(nn.Linear):
    """Linear with ±1 weights."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__(in_features, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, binarize(self.weight, self.training), self.bias)


def scaled_binarize(w: torch.Tensor, straight_through: bool) -> torch.Tensor:
    """α·sign(w) per output channel, α = mean |w| of the row (XNOR-Net, BWN). The gradient
    passes straight through to the latent weights (within |w| ≤ 1) and to α."""
    view = (-1,) + (1,) * (w.dim() - 1)
    alpha = w.abs().reshape(w.shape[0], -1).mean(dim=1).reshape(view)
    return alpha * binarize(w, straight_through)


class XNORConv2d(nn.Conv2d):
    """Conv2d with ±α weights per output channel (XNOR-Net's binary weights; BWN when the
    activations in front are k-bit rather than signs)."""

    def __init__(self, *args, bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = scaled_binarize(self.weight, self.training)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class XNORLinear(nn.Linear):
    """Linear with ±α weights per output channel (XNOR-Net, BWN)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__(in_features, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, scaled_binarize(self.weight, self.training), self.bias)
