"""Run-time residual binarization of the input (docs/DESIGN.md 5.3).

HORQ (Li et al. 2017, "Performance guaranteed network acceleration via high-order residual
quantization") binarizes each input vector in K steps: R_0 = x, and for k = 1 … K
β_k = mean |R_{k−1}|, H_k = sign(R_{k−1}), R_k = R_{k−1} − β_k·H_k; the layer sees
x̂ = Σ_k β_k·H_k. In a convolution the vector is the receptive field of each output
position. XNOR-Net's input scaling (Rastegari et al. 2016) is order 1 with β written as
K = A ∗ k: the channel mean of |x|, box-filtered over the window.

The weights are XNOR-Net's α·sign(W) per output channel (``scaled_binarize``). ``sign`` is
ONNX's Sign (0 ↦ 0), so that what the export says is what bnnfpga computes. Training passes
the gradient straight through the whole input binarizer (∂x̂/∂x = 1) and through the weight
signs (the hardtanh STE).

The export is the paper's arithmetic in plain ops: Abs, ReduceMean, Sign, Mul, Add and Sub
over the vector axis, then MatMul (fc) or a 1×1 Conv over the receptive fields, which a
fixed 0/1 Conv extracts (``patch_kernel``); XNOR-Net's conv writes Conv(Sign(x), W) times
the box filter of ReduceMean(Abs(x)). bnnfpga reads both (frontend/residual.py).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from bnnfpga.nn.layers import scaled_binarize


def residual_binarize(x: torch.Tensor, order: int, dim: int = 1) -> torch.Tensor:
    """x̂ = Σ_k β_k·H_k of HORQ of ``order`` over axis ``dim`` (kept for broadcasting)."""
    if order < 1:
        raise ValueError(f"residual binarization needs order ≥ 1, got {order}")
    residual, approximation = x, None
    for _ in range(order):
        term = residual.abs().mean(dim=dim, keepdim=True) * torch.sign(residual)
        approximation = term if approximation is None else approximation + term
        residual = residual - term
    return approximation


def _straight_through(x: torch.Tensor, binarized: torch.Tensor, training: bool) -> torch.Tensor:
    return x + (binarized - x).detach() if training else binarized


def patch_kernel(channels: int, kernel: tuple[int, int]) -> torch.Tensor:
    """The 0/1 conv weight (C·KH·KW, C, KH, KW) whose output channel c·KH·KW + i·KW + j is
    input channel c at tap (i, j): im2col as a convolution, in ``weight.reshape(O, -1)`` order."""
    kh, kw = kernel
    eye = torch.eye(channels * kh * kw)
    return eye.reshape(channels * kh * kw, channels, kh, kw)


class HORQLinear(nn.Linear):
    """Linear with ±α weights and the input binarized by HORQ of ``order``."""

    def __init__(self, in_features: int, out_features: int, order: int = 2, bias: bool = False):
        super().__init__(in_features, out_features, bias=bias)
        if order < 1:
            raise ValueError(f"HORQ needs order ≥ 1, got {order}")
        self.order = order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xq = _straight_through(x, residual_binarize(x, self.order, dim=1), self.training)
        return F.linear(xq, scaled_binarize(self.weight, self.training), self.bias)


class HORQConv2d(nn.Conv2d):
    """Conv2d with ±α weights and each receptive field binarized by HORQ of ``order``; zero
    padding counts in the mean (a padded tap is 0), as in XNOR-Net's box filter. The fields
    are laid out by a convolution with a 0/1 kernel, or with ``unfold`` by ``F.unfold`` (how
    many HORQ implementations write it; ONNX: Pad, Gather, Gather, Transpose, Reshape, and
    W @ x̂): the same values, and bnnfpga reads both."""

    def __init__(self, *args, order: int = 2, bias: bool = False, unfold: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)
        if order < 1:
            raise ValueError(f"HORQ needs order ≥ 1, got {order}")
        if self.groups != 1 or self.dilation != (1, 1) or self.padding_mode != "zeros":
            raise ValueError("HORQConv2d supports groups=1, dilation=1 and zero padding")
        if isinstance(self.padding, str):
            raise ValueError("HORQConv2d takes integer padding")
        self.order, self.unfold = order, unfold
        self.register_buffer("patches", patch_kernel(self.in_channels, self.kernel_size), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = scaled_binarize(self.weight, self.training)
        if self.unfold:
            fields = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # (N, C·KH·KW, L)
            xq = _straight_through(fields, residual_binarize(fields, self.order, dim=1), self.training)
            y = w.reshape(w.shape[0], -1) @ xq
            oh, ow = ((size + 2 * p - k) // s + 1 for size, p, k, s in zip(x.shape[2:], self.padding, self.kernel_size,
                                                                           self.stride))
            y = y.reshape(x.shape[0], -1, oh, ow)
            return y if self.bias is None else y + self.bias.reshape(1, -1, 1, 1)
        fields = F.conv2d(x, self.patches, None, self.stride, self.padding)  # (N, C·KH·KW, OH, OW)
        xq = _straight_through(fields, residual_binarize(fields, self.order, dim=1), self.training)
        return F.conv2d(xq, w.reshape(w.shape[0], -1, 1, 1), self.bias)


def _sign(x: torch.Tensor, training: bool) -> torch.Tensor:
    """ONNX Sign; in training with the hardtanh straight-through gradient."""
    if not training:
        return torch.sign(x)
    clipped = torch.clamp(x, -1.0, 1.0)
    return clipped + (torch.sign(x) - clipped).detach()


class ScaledInputXNORLinear(nn.Linear):
    """XNOR-Net's fully connected layer with input scaling: (sign(x) · α·sign(W)ᵀ)·mean|x|."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__(in_features, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.abs().mean(dim=1, keepdim=True)
        return F.linear(_sign(x, self.training), scaled_binarize(self.weight, self.training)) * scale + (
            0 if self.bias is None else self.bias)


class ScaledInputXNORConv2d(nn.Conv2d):
    """XNOR-Net's convolution with input scaling: (sign(I) ∗ α·sign(W)) ⊙ K, K = A ∗ k with
    A the channel mean of |I| and k the 1/(KH·KW) box filter over the same windows."""

    def __init__(self, *args, bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)
        if self.groups != 1 or self.dilation != (1, 1) or self.padding_mode != "zeros":
            raise ValueError("ScaledInputXNORConv2d supports groups=1, dilation=1 and zero padding")
        kh, kw = self.kernel_size
        self.register_buffer("box", torch.full((1, 1, kh, kw), 1.0 / (kh * kw)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = F.conv2d(x.abs().mean(dim=1, keepdim=True), self.box, None, self.stride, self.padding)
        w = scaled_binarize(self.weight, self.training)
        y = F.conv2d(_sign(x, self.training), w, None, self.stride, self.padding) * k
        return y if self.bias is None else y + self.bias.reshape(1, -1, 1, 1)
