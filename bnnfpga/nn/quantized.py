"""Ternary weights (TWN, Li & Liu 2016; TTQ, Zhu et al. 2017), k-bit weights (symmetric per row, and
DoReFa's, Zhou et al. 2016) and k-bit activations (PACT, Choi et al. 2018; DoReFa; HWGQ, Cai et al.
2017), trained with straight-through estimators. In eval
mode the weights are constants per output channel, {−α, 0, +α} or α/n·{−n … n}
(n = 2^(k−1) − 1), and the activation is ``round(clamp(x, 0, α)·n/α)·α/n`` (n = 2^k − 1),
which ``torch.onnx.export`` writes as Clip → Mul → Round → Mul: all forms bnnfpga reads
(ternary weights as two bit planes, k-bit weights as two's complement integers, the
activation as 2^k − 1 thresholds)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def ternarize(w: torch.Tensor, straight_through: bool, threshold_ratio: float = 0.7) -> torch.Tensor:
    """α·sign(w) where |w| > Δ, else 0, per output channel: Δ = threshold_ratio·mean|w|,
    α = mean of |w| over the kept weights (TWN). The gradient passes straight through."""
    flat = w.detach().abs().reshape(w.shape[0], -1)
    delta = threshold_ratio * flat.mean(dim=1, keepdim=True)
    keep = flat > delta
    alpha = (flat * keep).sum(dim=1, keepdim=True) / keep.sum(dim=1, keepdim=True).clamp(min=1)
    view = (-1,) + (1,) * (w.dim() - 1)
    ternary = torch.where(keep.reshape(w.shape), torch.sign(w.detach()), torch.zeros_like(w)) * alpha.reshape(view)
    if not straight_through:
        return ternary
    return w + (ternary - w).detach()


def quantize_weights(w: torch.Tensor, bits: int, straight_through: bool) -> torch.Tensor:
    """Symmetric k-bit weights per output channel: α/n·round(w·n/α), α = max|w|,
    n = 2^(bits−1) − 1 (narrow range, as Brevitas's weight quantizers). The gradient passes
    straight through."""
    n = (1 << (bits - 1)) - 1
    view = (-1,) + (1,) * (w.dim() - 1)
    alpha = w.detach().abs().reshape(w.shape[0], -1).amax(dim=1).clamp(min=1e-8).reshape(view)
    quantized = torch.round(w.detach() * (n / alpha)) * (alpha / n)
    if not straight_through:
        return quantized
    return w + (quantized - w).detach()


def dorefa_weights(w: torch.Tensor, bits: int, straight_through: bool) -> torch.Tensor:
    """DoReFa-Net's k-bit weights: 2·quantize_k(tanh(w)/(2·max|tanh w|) + ½) − 1, i.e. the
    levels (2i − n)/n for i = 0 … n, n = 2^bits − 1 (one grid per layer). The gradient passes
    straight through the rounding."""
    n = (1 << bits) - 1
    t = torch.tanh(w)
    unit = t / (2 * t.detach().abs().max().clamp(min=1e-8)) + 0.5
    rounded = torch.round(unit * n) / n
    if straight_through:
        rounded = unit + (rounded - unit).detach()
    return 2 * rounded - 1


class TernaryConv2d(nn.Conv2d):
    """Conv2d with ternary weights {−α, 0, +α} per output channel."""

    def __init__(self, *args, bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = ternarize(self.weight, self.training)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class TernaryLinear(nn.Linear):
    """Linear with ternary weights {−α, 0, +α} per output channel."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__(in_features, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, ternarize(self.weight, self.training), self.bias)


def trained_ternarize(w: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, straight_through: bool,
                      threshold_ratio: float = 0.05) -> torch.Tensor:
    """TTQ (Zhu et al. 2017): +Wp where w > Δ, −Wn where w < −Δ, else 0, with Δ =
    threshold_ratio·max|w| and two trained scales Wp, Wn per layer. The scales learn from
    the gradients of their own weights; the latent weights get theirs straight through."""
    delta = threshold_ratio * w.detach().abs().max()
    pos, neg = (w.detach() > delta).to(w.dtype), (w.detach() < -delta).to(w.dtype)
    ternary = positive * pos - negative * neg
    if not straight_through:
        return ternary.detach()
    return ternary + (w - w.detach())


class TTQConv2d(nn.Conv2d):
    """Conv2d with trained ternary weights {−Wn, 0, +Wp} (``trained_ternarize``)."""

    def __init__(self, *args, bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)
        self.positive = nn.Parameter(torch.tensor(1.0))
        self.negative = nn.Parameter(torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = trained_ternarize(self.weight, self.positive, self.negative, self.training)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class TTQLinear(nn.Linear):
    """Linear with trained ternary weights {−Wn, 0, +Wp} (``trained_ternarize``)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__(in_features, out_features, bias=bias)
        self.positive = nn.Parameter(torch.tensor(1.0))
        self.negative = nn.Parameter(torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, trained_ternarize(self.weight, self.positive, self.negative, self.training), self.bias)


class IntConv2d(nn.Conv2d):
    """Conv2d with ``bits``-bit symmetric weights per output channel (``quantize_weights``)."""

    def __init__(self, *args, bits: int = 4, bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)
        self.bits = bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = quantize_weights(self.weight, self.bits, self.training)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class IntLinear(nn.Linear):
    """Linear with ``bits``-bit symmetric weights per output channel (``quantize_weights``)."""

    def __init__(self, in_features: int, out_features: int, bits: int = 4, bias: bool = False):
        super().__init__(in_features, out_features, bias=bias)
        self.bits = bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, quantize_weights(self.weight, self.bits, self.training), self.bias)


class DoReFaConv2d(nn.Conv2d):
    """Conv2d with DoReFa-Net's ``bits``-bit weights (``dorefa_weights``)."""

    def __init__(self, *args, bits: int = 2, bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)
        self.bits = bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = dorefa_weights(self.weight, self.bits, self.training)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class DoReFaLinear(nn.Linear):
    """Linear with DoReFa-Net's ``bits``-bit weights (``dorefa_weights``)."""

    def __init__(self, in_features: int, out_features: int, bits: int = 2, bias: bool = False):
        super().__init__(in_features, out_features, bias=bias)
        self.bits = bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, dorefa_weights(self.weight, self.bits, self.training), self.bias)


class UniformActivation(nn.Module):
    """k-bit unsigned activation on a fixed range: y = round(clamp(x, 0, top)·n/top)·top/n,
    n = 2^bits − 1, the gradient straight through the rounding (zero outside the clamp).
    ``DoReFaActivation`` (top = 1) and ``HWGQ`` are this with their papers' ranges; PACT learns
    its top. Exported as Clip → Mul → Round → Mul, which bnnfpga reads as 2^bits − 1 thresholds."""

    def __init__(self, bits: int, top: float):
        super().__init__()
        self.levels = (1 << bits) - 1
        self.top = float(top)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scaled = torch.clamp(x, 0.0, self.top) * (self.levels / self.top)
        rounded = torch.round(scaled)
        if self.training:
            rounded = scaled + (rounded - scaled).detach()
        return rounded * (self.top / self.levels)


class DoReFaActivation(UniformActivation):
    """DoReFa-Net's k-bit activation: clip to [0, 1], then k-bit levels."""

    def __init__(self, bits: int = 2):
        super().__init__(bits, 1.0)


def hwgq_step(bits: int) -> float:
    """HWGQ's step Δ*: the uniform step whose levels 0, Δ, …, (2^bits − 1)·Δ quantize a unit
    half-wave Gaussian (x ~ N(0, 1) behind a ReLU) with the least mean square error, by
    golden-section search on a fine grid of x (deterministic; 2 bits: Δ* ≈ 0.651)."""
    x = np.linspace(0.0, 8.0, 80001)
    density = np.exp(-x * x / 2)
    top = (1 << bits) - 1

    def error(step: float) -> float:
        return float(np.sum((np.clip(np.round(x / step), 0, top) * step - x) ** 2 * density))

    lo, hi = 0.01, 4.0
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        lo, hi = (lo, b) if error(a) < error(b) else (a, hi)
    return round(float(lo + hi) / 2, 6)


class HWGQ(UniformActivation):
    """Half-wave Gaussian quantization (HWGQ, Cai et al. 2017): a ReLU whose outputs take the
    2^bits levels of the step ``hwgq_step(bits)`` fitted to a unit Gaussian input; the
    batchnorm in front normalises the input to that distribution."""

    def __init__(self, bits: int = 2):
        super().__init__(bits, hwgq_step(bits) * ((1 << bits) - 1))


class PACT(nn.Module):
    """k-bit unsigned activation with a learned clipping level α:
    y = round(clamp(x, 0, α)·n/α)·α/n, n = 2^bits − 1 (round half to even, as ONNX Round)."""

    def __init__(self, bits: int = 2, alpha: float = 4.0):
        super().__init__()
        self.levels = (1 << bits) - 1
        self.alpha = nn.Parameter(torch.tensor(float(alpha)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        clipped = torch.clamp(x, min=torch.zeros_like(self.alpha), max=self.alpha)
        scaled = clipped * (self.levels / self.alpha)
        rounded = torch.round(scaled)
        if self.training:
            rounded = scaled + (rounded - scaled).detach()
        return rounded * (self.alpha / self.levels)
