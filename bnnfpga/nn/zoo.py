"""Reference topologies (torch, fixed seeds) for tests and benchmarks, and their ONNX export.

``randomize_batchnorm`` gives every batchnorm random statistics with some γ < 0 and some
γ = 0, so that flipped and constant channels are always exercised.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from bnnfpga.nn import BinaryConv2d, BinaryLinear, BinarySign, BiRealBlock, DenseBlock, FakeQuant
from bnnfpga.nn.train import calibrate_batchnorm


def randomize_batchnorm(model: nn.Module, seed: int, zero_gamma: bool = True) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.weight.data = torch.randn(c, generator=g)  # about half negative
            if zero_gamma and c > 2:
                m.weight.data[1] = 0.0
            m.bias.data = torch.randn(c, generator=g) * 2
            m.running_mean.data = torch.randn(c, generator=g) * 4
            m.running_var.data = torch.rand(c, generator=g) * 4 + 0.5
    return model


class Normalize(nn.Module):
    """(x/255 − mean)/std with scalar mean and std (input normalisation)."""

    def __init__(self, mean: float = 0.5, std: float = 0.25):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x):
        return (x / 255.0 - self.mean) / self.std


def conv_block(cin: int, cout: int, **kw) -> list[nn.Module]:
    return [BinaryConv2d(cin, cout, 3, **kw), nn.BatchNorm2d(cout), BinarySign()]


class SmallCNN(nn.Module):
    """Covers input normalisation, padding=1 on ±1 activations, stride 2, 37 channels,
    max-pool before batchnorm, and a fully connected tail."""

    def __init__(self, in_ch: int = 3, size: int = 12, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            Normalize(),
            *conv_block(in_ch, 37),                      # first layer, no padding
            *conv_block(37, 19, padding=1),              # padding on ±1 activations
            BinaryConv2d(19, 24, 3, stride=2, padding=1),  # stride 2
            nn.MaxPool2d(2),                             # max-pool before batchnorm
            nn.BatchNorm2d(24),
            BinarySign(),
        )
        s = ((size - 2 + 2 - 3) // 2 + 1) // 2
        self.classifier = nn.Sequential(
            nn.Flatten(),
            BinaryLinear(24 * s * s, 33), nn.BatchNorm1d(33), BinarySign(),
            BinaryLinear(33, classes), nn.BatchNorm1d(classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class CNV(nn.Module):
    """The BNN-PYNQ CNV topology: 3×32×32, conv 64, 64, pool, 128, 128, pool, 256, 256,
    fc 512, 512, 10; 3×3 kernels, no padding."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            Normalize(0.5, 0.5),
            *conv_block(3, 64), *conv_block(64, 64), nn.MaxPool2d(2),
            *conv_block(64, 128), *conv_block(128, 128), nn.MaxPool2d(2),
            *conv_block(128, 256), *conv_block(256, 256),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            BinaryLinear(256, 512), nn.BatchNorm1d(512), BinarySign(),
            BinaryLinear(512, 512), nn.BatchNorm1d(512), BinarySign(),
            BinaryLinear(512, classes), nn.BatchNorm1d(classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class BiRealNet(nn.Module):
    """A Bi-Real-style residual network on integer shortcuts (docs/DESIGN.md 3.15): a binary
    3×3 stem conv on the pixels → 8-bit levels, ``blocks`` BiRealBlocks of which those at the
    indices ``downsample`` have stride 2 and an average-pool shortcut, global average pool,
    sign, and a binary classifier. The shortcuts are ``bits``-bit levels on the grid ``scale``."""

    def __init__(self, channels: int = 8, blocks: int = 4, downsample: tuple[int, ...] = (2,), classes: int = 10,
                 in_ch: int = 3, bits: int = 8, scale: float = 2.0**-4):
        super().__init__()
        self.stem = nn.Sequential(BinaryConv2d(in_ch, channels, 3, padding=1), nn.BatchNorm2d(channels),
                                  FakeQuant(bits, scale))
        self.blocks = nn.Sequential(*(BiRealBlock(channels, 2 if i in downsample else 1, bits, scale) for i in range(blocks)))
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), BinarySign(), BinaryLinear(channels, classes),
                                        nn.BatchNorm1d(classes))

    def forward(self, x):
        return self.classifier(self.blocks(self.stem(x / 255.0)))


class DenseStyleNet(nn.Module):
    """A binary DenseNet-style network: a binary stem conv → 8-bit levels, two DenseBlocks
    (each concatenates ``growth`` new channels), a 2×2 max-pool, a third DenseBlock, global
    average pool, sign, and a binary classifier."""

    def __init__(self, channels: int = 8, growth: int = 8, classes: int = 10, in_ch: int = 3, bits: int = 8):
        super().__init__()
        self.stem = nn.Sequential(BinaryConv2d(in_ch, channels, 3, padding=1), nn.BatchNorm2d(channels), FakeQuant(bits))
        self.features = nn.Sequential(DenseBlock(channels, growth, bits), DenseBlock(channels + growth, growth, bits),
                                      nn.MaxPool2d(2), DenseBlock(channels + 2 * growth, growth, bits))
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), BinarySign(),
                                        BinaryLinear(channels + 3 * growth, classes), nn.BatchNorm1d(classes))

    def forward(self, x):
        return self.classifier(self.features(self.stem(x / 255.0)))


def calibrate_on_random_frames(model: nn.Module, shape: tuple[int, ...], seed: int = 0, frames: int = 64) -> nn.Module:
    """Batchnorm statistics from random pixel frames, so that an untrained network spreads its
    activations over the quantizers' levels instead of saturating them."""
    g = torch.Generator().manual_seed(seed)
    return calibrate_batchnorm(model, torch.randint(0, 256, (frames,) + tuple(shape), generator=g).float().numpy())


def build(cls, seed: int = 0, **kwargs) -> nn.Module:
    torch.manual_seed(seed)
    return randomize_batchnorm(cls(**kwargs), seed).eval()


def export(model: nn.Module, input_shape: tuple[int, ...], path: Path, dynamo: bool, dynamic_batch: bool = False) -> Path:
    """Export as a user would, with a sample frame (batch 1 unless ``dynamic_batch``)."""
    x = torch.randint(0, 256, (1,) + tuple(input_shape)).float()
    if dynamo:
        shapes = ({0: torch.export.Dim("batch")},) if dynamic_batch else None
        torch.onnx.export(model, (x,), str(path), dynamo=True, verbose=False, external_data=True, dynamic_shapes=shapes)
    else:
        axes = {"x": {0: "batch"}} if dynamic_batch else None
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=13, input_names=["x"], dynamic_axes=axes)
    return path
