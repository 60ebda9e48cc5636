"""Torch test models (fixed seeds) shared by the e2e and csim tiers; the session fixture
``exported`` in tests/conftest.py exports each once."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from bnnfpga.nn import (
    HWGQ,
    PACT,
    BinaryConv2d,
    BinaryLinear,
    BinarySign,
    DoReFaActivation,
    DoReFaConv2d,
    FakeQuant,
    IntConv2d,
    IntLinear,
    ReActBlock,
    TernaryConv2d,
    TernaryLinear,
    TTQConv2d,
    TTQLinear,
    UniformActivation,
    XNORConv2d,
    XNORLinear,
    zoo,
)
from bnnfpga.nn.abc import ABCActivation, ABCConv2d, ABCLinear
from bnnfpga.nn.horq import HORQConv2d, HORQLinear, ScaledInputXNORConv2d, ScaledInputXNORLinear
from bnnfpga.nn.inq import INQConv2d, INQLinear, quantize_fraction
from bnnfpga.nn.train import calibrate_batchnorm


class MLP(nn.Module):
    """Binary MLP on flat inputs, with input normalisation and a per-feature offset."""

    def __init__(self, features: int = 64, hidden: int = 37, classes: int = 10):
        super().__init__()
        self.net = nn.Sequential(
            BinaryLinear(features, hidden), nn.BatchNorm1d(hidden), BinarySign(),
            BinaryLinear(hidden, hidden), nn.BatchNorm1d(hidden), BinarySign(),
            BinaryLinear(hidden, classes), nn.BatchNorm1d(classes),
        )

    def forward(self, x):
        return self.net((x - 8.0) / 4.0)


class PaddedFirstLayer(nn.Module):
    """(x/255 − 0.5)/0.25 in front of a zero-padded first conv: the offset must be applied
    before the padding (border positions get their own thresholds), not folded behind it."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            zoo.Normalize(0.5, 0.25),
            *zoo.conv_block(3, 8, padding=1), nn.MaxPool2d(2),
            *zoo.conv_block(8, 16, padding=1),
            nn.Flatten(), BinaryLinear(16 * 5 * 5, 10), nn.BatchNorm1d(10),
        )

    def forward(self, x):
        return self.net(x)


CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # torchvision's CIFAR-10 normalisation constants
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


class ChannelNormalisedCNN(nn.Module):
    """torchvision-style (x/255 − mean[c])/std[c] (buffers of shape (1, 3, 1, 1), as
    transforms.Normalize folded into a model) in front of a zero-padded first conv. ``std``
    None: CIFAR-10's per-channel std; a number: one std for all channels (then the first layer
    is exact with thresholds per border class; with per-channel std its input gains are 16-bit
    fixed point, docs/DESIGN.md 3.4)."""

    def __init__(self, std: float | None = None):
        super().__init__()
        self.register_buffer("mean", torch.tensor(CIFAR10_MEAN).reshape(1, 3, 1, 1))
        stds = CIFAR10_STD if std is None else (std,) * 3
        self.register_buffer("std", torch.tensor(stds).reshape(1, 3, 1, 1))
        self.net = nn.Sequential(
            *zoo.conv_block(3, 16, padding=1), nn.MaxPool2d(2),
            *zoo.conv_block(16, 16, padding=1),
            nn.Flatten(), BinaryLinear(16 * 5 * 5, 10), nn.BatchNorm1d(10),
        )

    def forward(self, x):
        return self.net((x / 255.0 - self.mean) / self.std)


class TernaryPact(nn.Module):
    """TWN ternary weights with 2-bit PACT activations (Clip → Mul → Round → Mul), a
    max-pool on the 2-bit levels, zero padding on them, and a ternary fully connected tail."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            TernaryConv2d(3, 12, 3, padding=1), nn.BatchNorm2d(12), PACT(2, 3.0), nn.MaxPool2d(2),
            TernaryConv2d(12, 16, 3, padding=1), nn.BatchNorm2d(16), PACT(2, 2.0),
            TernaryConv2d(16, 16, 3), nn.BatchNorm2d(16), PACT(2, 2.5),
            nn.Flatten(), TernaryLinear(16 * 2 * 2, 10), nn.BatchNorm1d(10),
        )

    def forward(self, x):
        return self.net(x / 255)


class TernarySign(nn.Module):
    """Ternary weights with binary (sign) activations, padding on ±1 activations."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            zoo.Normalize(), TernaryConv2d(3, 16, 3), nn.BatchNorm2d(16), BinarySign(),
            TernaryConv2d(16, 16, 3, padding=1), nn.MaxPool2d(2), nn.BatchNorm2d(16), BinarySign(),
            nn.Flatten(), TernaryLinear(16 * 3 * 3, 10), nn.BatchNorm1d(10),
        )

    def forward(self, x):
        return self.net(x)


class IntWeights(nn.Module):
    """k-bit weights (int4, int3) on every input kind: uint8 pixels, 2-bit PACT levels with
    padding, ±1 activations with padding, and a fully connected tail on 2-bit levels."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            IntConv2d(3, 12, 3, bits=4, padding=1), nn.BatchNorm2d(12), PACT(2, 3.0), nn.MaxPool2d(2),
            IntConv2d(12, 16, 3, bits=3, padding=1), nn.BatchNorm2d(16), BinarySign(),
            IntConv2d(16, 16, 3, bits=4, padding=1), nn.BatchNorm2d(16), PACT(2, 2.0), nn.MaxPool2d(2),
            nn.Flatten(), IntLinear(16 * 2 * 2, 10, bits=4), nn.BatchNorm1d(10),
        )

    def forward(self, x):
        return self.net(x / 255)


class TrainedTernary(nn.Module):
    """TTQ weights {−Wn, 0, +Wp} (one trained pair per layer, ratios far from simple
    fractions) on uint8 pixels, on padded 2-bit PACT levels and on padded ±1 activations,
    a TTQ fully connected layer, and a TWN tail (the last layer's float output has no
    integer form with two scales)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            TTQConv2d(3, 12, 3, padding=1), nn.BatchNorm2d(12), PACT(2, 3.0), nn.MaxPool2d(2),
            TTQConv2d(12, 16, 3, padding=1), nn.BatchNorm2d(16), BinarySign(),
            TTQConv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), PACT(2, 2.0), nn.MaxPool2d(2),
            nn.Flatten(), TTQLinear(16 * 2 * 2, 24), nn.BatchNorm1d(24), BinarySign(),
            TernaryLinear(24, 10), nn.BatchNorm1d(10),
        )
        with torch.no_grad():
            for layer in self.net:
                if isinstance(layer, (TTQConv2d, TTQLinear)):
                    layer.positive.uniform_(0.3, 2.0)
                    layer.negative.uniform_(0.3, 2.0)

    def forward(self, x):
        return self.net(x / 255)


class AveragePools(nn.Module):
    """Average pooling: a 2x2 average of 2-bit PACT levels requantised by another PACT, and a
    global average of ±1 activations into the fully connected tail."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            TernaryConv2d(3, 12, 3, padding=1), nn.BatchNorm2d(12), PACT(2, 3.0), nn.AvgPool2d(2), PACT(2, 2.0),
            TernaryConv2d(12, 16, 3, padding=1), nn.BatchNorm2d(16), BinarySign(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), TernaryLinear(16, 10), nn.BatchNorm1d(10),
        )

    def forward(self, x):
        return self.net(x / 255)


class SignNet(nn.Module):
    """Integer accumulators straight into Sign: a 0 input to Sign is reachable."""

    def __init__(self):
        super().__init__()
        self.conv = BinaryConv2d(2, 6, 3)
        self.fc = BinaryLinear(6 * 4 * 4, 5)

    def forward(self, x):
        h = torch.sign(self.conv(torch.sign(x - 127.5)))
        return self.fc(h.flatten(1))


class BinaryOutputMLP(nn.Module):
    """A network-intrusion-style detector: 24 uint8 features → binary MLP whose last layer
    ends in a sign, so the model outputs ±1 per class rather than logits."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            BinaryLinear(24, 32), nn.BatchNorm1d(32), BinarySign(),
            BinaryLinear(32, 16), nn.BatchNorm1d(16), BinarySign(),
            BinaryLinear(16, 3), nn.BatchNorm1d(3), BinarySign(),
        )

    def forward(self, x):
        return self.net(x / 32 - 4)


class QKerasStyleMLP(nn.Module):
    """The jet-tagging MLP as QKeras/hls4ml users train it: 16 inputs → 64 → 32 → 32 → 5,
    6-bit weights and 6-bit (PACT, ReLU-like) activations; ``head`` puts a softmax on it."""

    def __init__(self, head: str = "none"):
        super().__init__()
        self.head = head
        self.net = nn.Sequential(
            IntLinear(16, 64, bits=6), nn.BatchNorm1d(64), PACT(6, 4.0),
            IntLinear(64, 32, bits=6), nn.BatchNorm1d(32), PACT(6, 4.0),
            IntLinear(32, 32, bits=6), nn.BatchNorm1d(32), PACT(6, 4.0),
            IntLinear(32, 5, bits=6), nn.BatchNorm1d(5),
        )

    def forward(self, x):
        y = self.net(x / 255)
        return torch.softmax(y, dim=1) if self.head == "softmax" else y

    def calibrate(self, seed: int = 0) -> nn.Module:
        """Batchnorm statistics from random frames (keeping the random γ, β): with random
        statistics every 6-bit quantizer would sit at one of its ends."""
        x = np.random.default_rng(seed).integers(0, 256, size=(256, 16))
        return calibrate_batchnorm(self, x)


class HeadedMLP(nn.Module):
    """A classifier whose last layer has one output scale for every class (a scalar
    affine, as Brevitas's TensorNorm or a temperature), ending in ``head``: softmax,
    logsoftmax, argmax, topk3 or none. A label select can rank its accumulators exactly."""

    def __init__(self, head: str = "argmax"):
        super().__init__()
        self.head = head
        self.net = nn.Sequential(BinaryLinear(64, 48), nn.BatchNorm1d(48), BinarySign(), BinaryLinear(48, 10))

    def forward(self, x):
        y = self.net(x / 16 - 2) * 0.25 + 1.0
        if self.head == "softmax":
            return torch.softmax(y, dim=1)
        if self.head == "logsoftmax":
            return torch.log_softmax(y, dim=1)
        if self.head == "argmax":
            return torch.argmax(y, dim=1)
        if self.head == "topk3":
            return torch.topk(y, 3, dim=1).indices
        return y


class OldExportIdioms(nn.Module):
    """conv → sign (or 2-bit PACT, which needs Round: opset 11) → max-pool → conv → sign →
    a flatten written three ways → dense → batchnorm."""

    def __init__(self, flatten: str, pact: bool):
        super().__init__()
        self.flatten = flatten
        self.features = nn.Sequential(
            BinaryConv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), PACT(2, 2.0) if pact else BinarySign(), nn.MaxPool2d(2),
            BinaryConv2d(8, 12, 3), nn.BatchNorm2d(12), BinarySign(),
        )
        self.classifier = nn.Sequential(BinaryLinear(12 * (4 if flatten == "view" else 1), 10), nn.BatchNorm1d(10))

    def forward(self, x):
        h = self.features(x / 255)
        if self.flatten == "view":  # Shape → Gather → Unsqueeze → Concat → Reshape in old exports
            h = h.view(h.size(0), -1)
        elif self.flatten == "squeeze":  # GlobalAveragePool → Squeeze (axes attribute or input)
            h = nn.functional.adaptive_avg_pool2d(h, 1).squeeze(3).squeeze(2)
        else:  # ReduceMean (axes attribute, or input from opset 18) → Flatten
            h = h.mean((2, 3), keepdim=True).flatten(1)
        return self.classifier(h)


def export_old_idioms(directory, flatten: str, opset: int, dynamo: bool):
    """OldExportIdioms exported at ``opset`` to ``directory``/model.onnx."""
    model = zoo.build(OldExportIdioms, seed=2, flatten=flatten, pact=opset >= 11)
    path = directory / "model.onnx"
    x = torch.randint(0, 256, (1, 3, 8, 8)).float()
    # The legacy exporter as old tutorials called it: a dynamic batch axis and no constant
    # folding, so the shape arithmetic stays in the graph.
    legacy = {} if dynamo else {"dynamic_axes": {"x": {0: "batch"}}, "do_constant_folding": False}
    torch.onnx.export(model.eval(), (x,), str(path), dynamo=dynamo, opset_version=opset, input_names=["x"], **legacy)
    return path


class BiRealTestNet(zoo.BiRealNet):
    """Four Bi-Real blocks on 8-bit integer shortcuts, the third at stride 2 with an
    average-pool shortcut (docs/DESIGN.md 3.15), on 3×8×8 frames. The blocks' batchnorms
    are calibrated on random frames; the classifier's keeps random statistics (the sign of
    a global average of random frames hardly varies, and its calibrated variance would be
    near 0, the logits then large float32 cancellations)."""

    def calibrate(self):
        zoo.calibrate_on_random_frames(self, (3, 8, 8))
        return zoo.randomize_batchnorm(self.classifier, seed=5)


class DenseTestNet(zoo.DenseStyleNet):
    """Three dense blocks joined by channel concats, one 2×2 max-pool between them, on 3×8×8;
    calibrated as BiRealTestNet."""

    def calibrate(self):
        zoo.calibrate_on_random_frames(self, (3, 8, 8))
        return zoo.randomize_batchnorm(self.classifier, seed=5)


class ReActTestNet(nn.Module):
    """Two ReActNet blocks (RSign, RPReLU with per-channel shifts and slopes) on 8-bit integer
    shortcuts behind a binary stem, global average pool, sign, binary classifier; 3×8×8."""

    def __init__(self, channels: int = 8):
        super().__init__()
        self.stem = nn.Sequential(BinaryConv2d(3, channels, 3, padding=1), nn.BatchNorm2d(channels), FakeQuant())
        self.blocks = nn.Sequential(ReActBlock(channels), ReActBlock(channels))
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), BinarySign(), BinaryLinear(channels, 10),
                                        nn.BatchNorm1d(10))
        g = torch.Generator().manual_seed(4)
        with torch.no_grad():
            for block in self.blocks:
                block.sign.shift.copy_(torch.randn(1, channels, 1, 1, generator=g) * 0.3)
                block.activation.shift_in.copy_(torch.randn(1, channels, 1, 1, generator=g) * 0.3)
                block.activation.shift_out.copy_(torch.randn(1, channels, 1, 1, generator=g) * 0.3)
                block.activation.prelu.weight.copy_(torch.rand(channels, generator=g) * 0.9 + 0.05)

    def forward(self, x):
        return self.classifier(self.blocks(self.stem(x / 255.0)))

    def calibrate(self):
        zoo.calibrate_on_random_frames(self, (3, 8, 8))
        return zoo.randomize_batchnorm(self.classifier, seed=5)


def digits_frames(shape: tuple[int, ...] = (64,)) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 real 8×8 digits as uint8 frames of ``shape`` (values 0..16), and labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data.astype(np.uint8).reshape((-1,) + tuple(shape)), digits.target


class INQMLP(nn.Module):
    """INQ power-of-two weights (``bits``: 5 → 8 exponents, 4 → 4, 3 → 2) on all three input
    kinds: digit pixels, ±1 activations and 2-bit PACT levels; batchnorm statistics from the
    digits, so that the thresholds fall inside the live range."""

    def __init__(self, bits: int = 5):
        super().__init__()
        self.net = nn.Sequential(
            INQLinear(64, 48, bits=bits), nn.BatchNorm1d(48), BinarySign(),
            INQLinear(48, 32, bits=bits), nn.BatchNorm1d(32), PACT(2, 2.0),
            INQLinear(32, 10, bits=bits), nn.BatchNorm1d(10),
        )

    def forward(self, x):
        return self.net(x / 16)

    def calibrate(self):
        quantize_fraction(self, 1.0)
        calibrate_batchnorm(self, digits_frames(self.shape)[0][:512].astype(np.float32))

    shape = (64,)


class INQCNN(INQMLP):
    """INQ convolutions (padded, on pixels and on 2-bit levels) and an INQ classifier on ±1."""

    def __init__(self, bits: int = 5):
        nn.Module.__init__(self)
        self.net = nn.Sequential(
            INQConv2d(1, 12, 3, padding=1, bits=bits), nn.BatchNorm2d(12), PACT(2, 2.0), nn.MaxPool2d(2),
            INQConv2d(12, 16, 3, padding=1, bits=bits), nn.BatchNorm2d(16), BinarySign(), nn.MaxPool2d(2),
            nn.Flatten(), INQLinear(16 * 2 * 2, 10, bits=bits), nn.BatchNorm1d(10),
        )

    shape = (1, 8, 8)


class SchemesCNN(nn.Module):
    """XNOR-Net (±α weights, sign activations), BWN (±α weights on 4-bit PACT levels),
    DoReFa (2-bit weights and activations) and HWGQ (2-bit half-wave Gaussian levels) layers
    in one network: every scheme exported as plain torch writes it."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            XNORConv2d(3, 12, 3, padding=1), nn.BatchNorm2d(12), PACT(4, 3.0),
            XNORConv2d(12, 16, 3, padding=1), nn.BatchNorm2d(16), BinarySign(), nn.MaxPool2d(2),
            XNORConv2d(16, 16, 3), nn.BatchNorm2d(16), HWGQ(2),
            DoReFaConv2d(16, 16, 3, padding=1, bits=2), nn.BatchNorm2d(16), DoReFaActivation(2),
            nn.Flatten(), XNORLinear(16 * 2 * 2, 10), nn.BatchNorm1d(10),
        )

    def forward(self, x):
        return self.net(x / 255)

    def calibrate(self):
        zoo.calibrate_on_random_frames(self, (3, 8, 8))


class SignSum(nn.Module):
    """ABC-Net's activation: Σ_j β_j·sign(x + v_j), here β = (1, ½), v = (−½, ½), as written."""

    def forward(self, x):
        return 1.0 * torch.sign(x - 0.5) + 0.5 * torch.sign(x + 0.5)


class ABCActivationsMLP(nn.Module):
    """Binary dense layers on digits with ABC-Net activations (two shifted signs, β = 1 : ½)
    between them: each activation is a 3-threshold quantizer on every backend."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(BinaryLinear(64, 32), nn.BatchNorm1d(32), SignSum(),
                                 BinaryLinear(32, 24), nn.BatchNorm1d(24), SignSum(),
                                 BinaryLinear(24, 10), nn.BatchNorm1d(10))

    def forward(self, x):
        return self.net(x)

    def calibrate(self):
        calibrate_batchnorm(self, digits_frames()[0][:512].astype(np.float32))


class ABCMLP(nn.Module):
    """ABC-Net with bnnfpga.nn's layers on digit pixels: M = 3 weight bases (least-squares α
    per layer), N = 2 activation bases (β = 1 : ½); batchnorm statistics from the digits."""

    shape = (64,)

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(ABCLinear(64, 32, bases=3), nn.BatchNorm1d(32), ABCActivation((1.0, 0.5)),
                                 ABCLinear(32, 24, bases=3), nn.BatchNorm1d(24), ABCActivation((1.0, 0.5)),
                                 ABCLinear(24, 10, bases=3))

    def forward(self, x):
        return self.net(x)

    def calibrate(self):
        calibrate_batchnorm(self, digits_frames(self.shape)[0][:512].astype(np.float32))


class ABCCNN(ABCMLP):
    """ABC-Net convolutions with α per output channel (two bases, padded, on pixels; three
    bases on 3-level activations) and an ABC classifier with four bases."""

    shape = (1, 8, 8)

    def __init__(self):
        nn.Module.__init__(self)
        self.net = nn.Sequential(
            ABCConv2d(1, 8, 3, padding=1, bases=2, per_channel=True), nn.BatchNorm2d(8), ABCActivation((1.0, 0.5)),
            nn.MaxPool2d(2),
            ABCConv2d(8, 12, 3, bases=3, per_channel=True), nn.BatchNorm2d(12), ABCActivation((1.0, 0.5)),
            nn.Flatten(), ABCLinear(12 * 2 * 2, 10, bases=4),
        )


class HORQMLP(nn.Module):
    """HORQ of ``order`` (docs/DESIGN.md 5.3) on signed 2-bit activations {−2, −1, 0, 1}·½:
    pixels → 64 (XNOR weights) → 2-bit → HORQ 64 → 32 → 2-bit → HORQ 32 → 10. Vectors of a
    power of two values, so that float32 evaluation takes the same signs (DESIGN 5.3)."""

    shape = (64,)

    def __init__(self, order: int):
        super().__init__()
        self.net = nn.Sequential(XNORLinear(64, 64), nn.BatchNorm1d(64), FakeQuant(2, 0.5),
                                 HORQLinear(64, 32, order=order), nn.BatchNorm1d(32), FakeQuant(2, 0.5),
                                 HORQLinear(32, 10, order=order))

    def forward(self, x):
        return self.net(x)

    def calibrate(self):
        calibrate_batchnorm(self, digits_frames(self.shape)[0][:512].astype(np.float32))


class HORQCNN(HORQMLP):
    """A HORQ convolution of order 2 on unsigned 2-bit levels (2×2 windows of 8 channels,
    stride 2: 32 values per field) and a HORQ classifier of order 3."""

    shape = (1, 8, 8)

    def __init__(self):
        nn.Module.__init__(self)
        self.net = nn.Sequential(
            XNORConv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), UniformActivation(2, 3.0), nn.MaxPool2d(2),
            HORQConv2d(8, 16, 2, stride=2, order=2), nn.BatchNorm2d(16), UniformActivation(2, 3.0),
            nn.Flatten(), HORQLinear(16 * 2 * 2, 10, order=3),
        )


class ScaledInputXNORCNN(HORQMLP):
    """XNOR-Net with input scaling (K = A ∗ k) behind the first layer (which XNOR-Net keeps
    without, here ±α weights on the pixels): a zero-padded 3×3 convolution on unsigned 2-bit
    levels and a fully connected classifier."""

    shape = (1, 8, 8)

    def __init__(self):
        nn.Module.__init__(self)
        self.net = nn.Sequential(
            XNORConv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), UniformActivation(2, 3.0), nn.MaxPool2d(2),
            ScaledInputXNORConv2d(8, 12, 3, padding=1), nn.BatchNorm2d(12), UniformActivation(2, 3.0), nn.MaxPool2d(2),
            nn.Flatten(), ScaledInputXNORLinear(12 * 2 * 2, 10),
        )


class HORQFixedPointCNN(HORQMLP):
    """A HORQ convolution of order 4 over zero-padded 3×3×64 fields of unsigned 2-bit levels
    (n = 576): its exact n^K·W·x̂ needs 50 bits, so its gains go fixed point (ResidualGainShift,
    docs/DESIGN.md 5.3); a HORQ classifier of order 2 behind."""

    shape = (1, 8, 8)

    def __init__(self):
        nn.Module.__init__(self)
        self.net = nn.Sequential(
            XNORConv2d(1, 64, 3, padding=1), nn.BatchNorm2d(64), UniformActivation(2, 3.0), nn.MaxPool2d(2),
            HORQConv2d(64, 16, 3, padding=1, order=4), nn.BatchNorm2d(16), UniformActivation(2, 3.0), nn.MaxPool2d(2),
            nn.Flatten(), HORQLinear(16 * 2 * 2, 10, order=2),
        )


HORQ_NETWORKS = {
    **{f"horq_mlp{order}": (functools.partial(HORQMLP, order), HORQMLP.shape) for order in (1, 2, 3)},
    "horq_cnn": (HORQCNN, HORQCNN.shape),
    "xnor_scaled_cnn": (ScaledInputXNORCNN, ScaledInputXNORCNN.shape),
}

INQ_NETWORKS = {f"inq_{kind}{bits}": (functools.partial(cls, bits), cls.shape)
                for kind, cls in (("mlp", INQMLP), ("cnn", INQCNN)) for bits in (5, 4, 3)}
# The INQ nets the backends simulate: every code width and both shapes once (the golden model
# and onnxruntime check all six, tests/e2e/test_inq.py).
INQ_IN_BACKENDS = ["inq_cnn3", "inq_mlp4", "inq_cnn5"]

NETWORKS = {
    "small_cnn": (zoo.SmallCNN, (3, 12, 12)),
    "mlp": (MLP, (64,)),
    "padded_first_layer": (PaddedFirstLayer, (3, 10, 10)),
    "channel_mean": (functools.partial(ChannelNormalisedCNN, 0.25), (3, 10, 10)),
    "cifar_normalised": (ChannelNormalisedCNN, (3, 10, 10)),
    "ternary_pact": (TernaryPact, (3, 8, 8)),
    "ternary_sign": (TernarySign, (3, 8, 8)),
    "int_weights": (IntWeights, (3, 8, 8)),
    "trained_ternary": (TrainedTernary, (3, 8, 8)),
    "average_pools": (AveragePools, (3, 8, 8)),
    "binary_output": (BinaryOutputMLP, (24,)),
    "qkeras_mlp": (QKerasStyleMLP, (16,)),
    **{f"headed_{head}": (functools.partial(HeadedMLP, head), (64,)) for head in ("softmax", "logsoftmax", "argmax", "topk3")},
    "qkeras_softmax": (functools.partial(QKerasStyleMLP, "softmax"), (16,)),
    "bireal": (BiRealTestNet, (3, 8, 8)),
    "dense_concat": (DenseTestNet, (3, 8, 8)),
    "reactnet": (ReActTestNet, (3, 8, 8)),
    **INQ_NETWORKS,
    "schemes": (SchemesCNN, (3, 8, 8)),
    "abc_activations": (ABCActivationsMLP, (64,)),
    "abc_mlp": (ABCMLP, ABCMLP.shape),
    "abc_cnn": (ABCCNN, ABCCNN.shape),
    **HORQ_NETWORKS,
    "horq_fixed_point_cnn": (HORQFixedPointCNN, HORQFixedPointCNN.shape),
}


def export_network(network: str, mode: str, directory):
    """Export NETWORKS[network] with the legacy or dynamo exporter into ``directory``."""
    cls, shape = NETWORKS[network]
    model = zoo.build(cls, seed=3)
    if hasattr(model, "calibrate"):
        model.calibrate()
    return zoo.export(model, shape, directory / "model.onnx", dynamo=(mode == "dynamo"))


def export_module(module: nn.Module, shape, path, opset_version: int = 13, **kwargs):
    """Legacy export of an arbitrary module with a uint8-range sample input."""
    torch.manual_seed(0)
    x = torch.randint(0, 256, (1,) + tuple(shape)).float()
    torch.onnx.export(module.eval(), (x,), str(path), dynamo=False, opset_version=opset_version, input_names=["x"], **kwargs)
    return path


def trunc_average_pool_model(directory):
    """A small Brevitas CNN with ``TruncAvgPool2d``: a 2x2 average of 2-bit ReLU levels,
    truncated back to 2 bits (QONNX Trunc, shift 2), into a 2-bit conv; randomised batchnorms;
    exported as QONNX to ``directory``/trunc_avg_pool.onnx (needs brevitas)."""
    from brevitas.export import export_qonnx
    from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear, QuantReLU, TruncAvgPool2d

    torch.manual_seed(0)
    model = nn.Sequential(
        QuantIdentity(bit_width=8, return_quant_tensor=True),
        QuantConv2d(3, 8, 3, padding=1, weight_bit_width=2, bias=False), nn.BatchNorm2d(8),
        QuantReLU(bit_width=2, return_quant_tensor=True),
        TruncAvgPool2d(2, bit_width=2, return_quant_tensor=True),
        QuantConv2d(8, 8, 3, weight_bit_width=2, bias=False), nn.BatchNorm2d(8),
        QuantReLU(bit_width=2, return_quant_tensor=False), nn.Flatten(),
        QuantLinear(8 * 2 * 2, 10, weight_bit_width=2, bias=False),
    )
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            module.running_mean.data = torch.randn(c, generator=generator) * 2
            module.running_var.data = torch.rand(c, generator=generator) * 4 + 0.5
            module.weight.data = torch.randn(c, generator=generator)
            module.bias.data = torch.randn(c, generator=generator)
    path = directory / "trunc_avg_pool.onnx"
    export_qonnx(model.eval(), torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(2)), str(path), dynamo=True)
    return path


def brevitas_k_bit_output_model(directory, softmax: bool = False):
    """A Brevitas MLP whose last layer ends in a 2-bit unsigned quantizer (QuantReLU), as a
    multi-level detector would: the model's output is k-bit levels times a scale (with
    ``softmax``, a Softmax over them: a softmax behind a final Quant and Mul); QONNX export
    to ``directory``/k_bit_output.onnx (needs brevitas)."""
    from brevitas.export import export_qonnx
    from brevitas.nn import QuantIdentity, QuantLinear, QuantReLU

    torch.manual_seed(0)
    model = nn.Sequential(
        QuantIdentity(bit_width=8, return_quant_tensor=True),
        QuantLinear(20, 24, weight_bit_width=2, bias=False), nn.BatchNorm1d(24),
        QuantReLU(bit_width=2, return_quant_tensor=True),
        QuantLinear(24, 4, weight_bit_width=3, bias=False), nn.BatchNorm1d(4),
        QuantReLU(bit_width=2, return_quant_tensor=False),
        *([nn.Softmax(dim=1)] if softmax else []),
    )
    zoo.randomize_batchnorm(model, seed=1)
    calibrate_batchnorm(model, np.random.default_rng(1).integers(0, 256, size=(256, 20)) / 255)
    with torch.no_grad():  # spread the output over its four levels (one channel flipped)
        model[5].weight.copy_(torch.tensor([1.5, -1.0, 2.0, 1.0]))
        model[5].bias.copy_(torch.tensor([1.0, 1.0, 0.5, 1.5]))
    path = directory / ("k_bit_output_softmax.onnx" if softmax else "k_bit_output.onnx")
    export_qonnx(model.eval(), torch.rand(1, 20, generator=torch.Generator().manual_seed(2)), str(path), dynamo=True)
    return path


def brevitas_float_input_model(directory, form: str = "qonnx"):
    """A keyword-spotting-style MLP on float features, as Brevitas users write it: the first
    module quantizes the float input (QuantIdentity, signed 8-bit, narrow range), then 2-bit
    weights and 2-bit ReLUs; exported as QONNX (a Quant on the input) or QCDQ
    (QuantizeLinear → Clip → DequantizeLinear) to ``directory`` (needs brevitas)."""
    from brevitas.export import export_onnx_qcdq, export_qonnx
    from brevitas.nn import QuantIdentity, QuantLinear, QuantReLU
    from brevitas.quant import Int8ActPerTensorFloat

    class NarrowInput(Int8ActPerTensorFloat):
        narrow_range = True

    torch.manual_seed(0)
    model = nn.Sequential(
        QuantIdentity(act_quant=NarrowInput, return_quant_tensor=True),
        QuantLinear(20, 32, weight_bit_width=2, bias=False), nn.BatchNorm1d(32),
        QuantReLU(bit_width=2, return_quant_tensor=True),
        QuantLinear(32, 6, weight_bit_width=2, bias=False), nn.BatchNorm1d(6),  # spreads tied classes apart
    )
    features = np.random.default_rng(1).normal(size=(256, 20)) * 1.5
    zoo.randomize_batchnorm(model, seed=2)
    calibrate_batchnorm(model, features)  # also lets the input quantizer see its range
    path = directory / f"float_input_{form}.onnx"
    example = torch.as_tensor(features[:1], dtype=torch.float32)
    if form == "qonnx":
        export_qonnx(model.eval(), example, str(path), dynamo=True)
    else:  # the legacy exporter (dynamo's QCDQ export fails in onnx's version converter)
        export_onnx_qcdq(model.eval(), example, str(path), dynamo=False, opset_version=13)
    return path


def brevitas_bireal_model(directory):
    """A Bi-Real-style network as Brevitas users write one (needs brevitas): QuantIdentity
    with power-of-two scales (``Int8ActPerTensorFixedPoint``) on the input, on each block's
    branch and on each sum, binary signs (``SignedBinaryActPerTensorConst``), 2-bit weights,
    a stride-2 block with an average-pool shortcut; QONNX export to ``directory``."""
    from brevitas.export import export_qonnx
    from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
    from brevitas.quant import Int8ActPerTensorFixedPoint, SignedBinaryActPerTensorConst

    class Block(nn.Module):
        def __init__(self, c: int, stride: int = 1):
            super().__init__()
            self.sign = QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
            self.conv = QuantConv2d(c, c, 3, stride=stride, padding=1, weight_bit_width=2, bias=False)
            self.bn = nn.BatchNorm2d(c)
            self.quantize_branch = QuantIdentity(act_quant=Int8ActPerTensorFixedPoint)
            self.shortcut = nn.AvgPool2d(2) if stride == 2 else nn.Identity()
            self.quantize_sum = QuantIdentity(act_quant=Int8ActPerTensorFixedPoint)

        def forward(self, x):
            return self.quantize_sum(self.quantize_branch(self.bn(self.conv(self.sign(x)))) + self.shortcut(x))

    class Net(nn.Module):
        def __init__(self, c: int = 8):
            super().__init__()
            self.stem = nn.Sequential(QuantIdentity(act_quant=Int8ActPerTensorFixedPoint),
                                      QuantConv2d(3, c, 3, padding=1, weight_bit_width=2, bias=False), nn.BatchNorm2d(c),
                                      QuantIdentity(act_quant=Int8ActPerTensorFixedPoint))
            self.blocks = nn.Sequential(Block(c), Block(c, 2), Block(c))
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                      QuantIdentity(act_quant=SignedBinaryActPerTensorConst),
                                      QuantLinear(c, 10, weight_bit_width=2, bias=False))

        def forward(self, x):
            return self.head(self.blocks(self.stem(x)))

    torch.manual_seed(0)
    model = zoo.randomize_batchnorm(Net(), seed=1)
    calibrate_batchnorm(model, np.random.default_rng(0).random((64, 3, 8, 8)))
    path = directory / "bireal_brevitas.onnx"
    export_qonnx(model.eval(), torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(2)), str(path), dynamo=True)
    return path
