"""Residual and branching binary blocks (Bi-Real Net, binary DenseNets) with integer
shortcuts, as docs/DESIGN.md 3.15 asks for them: every tensor that crosses a join is k-bit
levels on a power-of-two grid, so that the add or concat is exact integer arithmetic.

``FakeQuant`` writes Clip → Div → Round → Mul, the way a plain-torch quantizer exports;
with a fixed power-of-two scale the grids of a block and its shortcut differ by powers of
two only (an average-pooled shortcut sits on a grid 4× finer)."""

from __future__ import annotations

import torch
from torch import nn

from bnnfpga.nn.layers import BinaryConv2d, BinarySign


class FakeQuant(nn.Module):
    """Signed ``bits``-bit levels on the grid ``scale``: y = round(clamp(x, qmin·s, qmax·s)/s)·s
    (round half to even, as ONNX Round), the straight-through estimator in training."""

    def __init__(self, bits: int = 8, scale: float = 2.0**-4):
        super().__init__()
        self.scale = scale
        self.lo, self.hi = -(1 << (bits - 1)) * scale, ((1 << (bits - 1)) - 1) * scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scaled = torch.clamp(x, self.lo, self.hi) / self.scale
        rounded = torch.round(scaled)
        if self.training:
            rounded = scaled + (rounded - scaled).detach()
        return rounded * self.scale


class RSign(nn.Module):
    """ReActNet's sign with a learned per-channel threshold: sign(x − β[c]) (+1 at 0), which
    folds into the thresholds of the layer in front like any per-channel offset."""

    def __init__(self, channels: int):
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.sign = BinarySign()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sign(x - self.shift)


class RPReLU(nn.Module):
    """ReActNet's RPReLU: y = PReLU(x − γ[c]) + ζ[c] with a learned per-channel slope; exported
    as Sub → PRelu → Add, which bnnfpga folds into the thresholds of the quantizer or sign
    behind it where every slope is positive."""

    def __init__(self, channels: int, slope: float = 0.25):
        super().__init__()
        self.shift_in = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.prelu = nn.PReLU(channels, init=slope)
        self.shift_out = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(x - self.shift_in) + self.shift_out


class ReActBlock(nn.Module):
    """ReActNet's block on integer shortcuts: out = Q(RPReLU(Q(BN(conv(RSign(x)))) + x)), a
    binary 3×3 conv at stride 1, Q the ``bits``-bit quantizer on the grid ``scale``."""

    def __init__(self, channels: int, bits: int = 8, scale: float = 2.0**-4):
        super().__init__()
        self.sign = RSign(channels)
        self.conv = BinaryConv2d(channels, channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels)
        self.quantize_branch = FakeQuant(bits, scale)
        self.activation = RPReLU(channels)
        self.quantize_sum = FakeQuant(bits, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.quantize_branch(self.bn(self.conv(self.sign(x))))
        return self.quantize_sum(self.activation(branch + x))


class BiRealBlock(nn.Module):
    """Bi-Real Net's block on integer shortcuts: out = Q(Q(BN(conv(sign(x)))) + shortcut(x)),
    a binary 3×3 conv (stride 1 or 2), Q the block's ``bits``-bit quantizer. The shortcut is
    x itself, or at stride 2 a 2×2 average pool of it (whose sum the hardware keeps as an
    integer on a grid 4× finer). ``learned_sign`` uses RSign instead of a plain sign."""

    def __init__(self, channels: int, stride: int = 1, bits: int = 8, scale: float = 2.0**-4, learned_sign: bool = False):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError("stride must be 1 or 2")
        self.sign = RSign(channels) if learned_sign else BinarySign()
        self.conv = BinaryConv2d(channels, channels, 3, stride=stride, padding=1)
        self.bn = nn.BatchNorm2d(channels)
        self.quantize_branch = FakeQuant(bits, scale)
        self.shortcut = nn.AvgPool2d(2) if stride == 2 else nn.Identity()
        self.quantize_sum = FakeQuant(bits, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.quantize_branch(self.bn(self.conv(self.sign(x))))
        return self.quantize_sum(branch + self.shortcut(x))


class DenseBlock(nn.Module):
    """A binary DenseNet layer: out = concat(x, Q(BN(conv(sign(x))))), ``growth`` new channels
    on the grid of x."""

    def __init__(self, channels: int, growth: int, bits: int = 8, scale: float = 2.0**-4):
        super().__init__()
        self.sign = BinarySign()
        self.conv = BinaryConv2d(channels, growth, 3, padding=1)
        self.bn = nn.BatchNorm2d(growth)
        self.quantize = FakeQuant(bits, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.quantize(self.bn(self.conv(self.sign(x))))], dim=1)
