"""Run-time residual binarization (docs/DESIGN.md 5.3): the golden model's exact integer
arithmetic against rational arithmetic, its bounds, the bnnfpga.nn layers against their
definitions, and what the frontend reads from their exports."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from bnnfpga import api
from bnnfpga.errors import ModelError
from bnnfpga.golden import kernels
from bnnfpga.ir.ops import Conv, Dense
from bnnfpga.nn import zoo
from bnnfpga.nn.horq import (
    HORQConv2d,
    HORQLinear,
    ScaledInputXNORConv2d,
    ScaledInputXNORLinear,
    residual_binarize,
)
from bnnfpga.nn.layers import scaled_binarize
from bnnfpga.nn.residual import FakeQuant
from bnnfpga.verify import verify_model
from tests.models import export_module

RNG = np.random.default_rng(0)


def _rational_horq(vector, order: int) -> list[Fraction]:
    """x̂ of HORQ in exact rational arithmetic, straight from the paper's recurrence."""
    residual, approximation = [Fraction(int(v)) for v in vector], [Fraction(0)] * len(vector)
    for _ in range(order):
        beta = sum(abs(r) for r in residual) / len(residual)
        signs = [(r > 0) - (r < 0) for r in residual]
        approximation = [a + beta * s for a, s in zip(approximation, signs)]
        residual = [r - beta * s for r, s in zip(residual, signs)]
    return approximation


@pytest.mark.parametrize("n, low, high", [(6, 0, 4), (9, -2, 2), (32, -2, 2), (27, 0, 16), (64, -1, 2)])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_integer_residual_binarization_is_the_rational_one_times_n_to_the_k(n, low, high, order):
    vectors = RNG.integers(low, high, size=(40, n))
    vectors[0] = 0  # all-zero vector: every β is 0
    vectors[1] = high - 1  # constant vector: R_1 = 0 exactly
    signs, gains = kernels.residual_binarize(vectors, order)
    scaled = np.einsum("krn,rk->rn", signs.astype(np.int64), gains)
    for row, vector in zip(scaled, vectors):
        assert [Fraction(int(v), n**order) for v in row] == _rational_horq(vector, order)
    largest = max(abs(low), abs(high - 1))
    assert np.abs(scaled).max() <= Dense(weight=np.ones((1, n)), residual_order=order).residual_magnitude(largest)


def test_residual_dot_of_both_routes_is_the_dot_product_of_the_rational_approximation():
    vectors = RNG.integers(-2, 2, size=(30, 12))
    weight = RNG.choice([-1, 1], size=(5, 12)).astype(np.int8)
    exact = np.array([[sum(w * v for w, v in zip(row, _rational_horq(x, 3))) * 12**3 for row in weight] for x in vectors])
    for route in ("packed", "gemm"):
        np.testing.assert_array_equal(kernels.residual_dot(vectors, weight, 3, route), exact.astype(np.int64))


def test_residual_conv_binarizes_each_zero_padded_receptive_field():
    x = RNG.integers(0, 4, size=(2, 5, 5, 3))  # channels-last
    weight = RNG.choice([-1, 1], size=(4, 3, 3, 3)).astype(np.int8)
    y = kernels.residual_conv(x, weight, (2, 2), (1, 1, 1, 1), 2, "packed")
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    field = padded[1, 2:5, 0:3, :]  # output (1, 0) of frame 1: rows 2..4, columns 0..2 (one padded column)
    vector = field.reshape(-1)  # (KH, KW, C) order, as the weight rows
    rows = weight.transpose(0, 2, 3, 1).reshape(4, -1)
    expected = [sum(w * v for w, v in zip(row, _rational_horq(vector, 2))) * 27**2 for row in rows]
    assert list(y[1, 1, 0]) == expected


def test_horq_layers_compute_their_definition():
    torch.manual_seed(0)
    x = torch.randint(-2, 2, (8, 16)).float()
    approximation = residual_binarize(x, 2)
    beta1 = x.abs().mean(1, keepdim=True)
    r1 = x - beta1 * torch.sign(x)
    expected = beta1 * torch.sign(x) + r1.abs().mean(1, keepdim=True) * torch.sign(r1)
    torch.testing.assert_close(approximation, expected)
    fc = HORQLinear(16, 4, order=3).eval()
    torch.testing.assert_close(fc(x), F.linear(residual_binarize(x, 3), scaled_binarize(fc.weight, False)))
    conv = HORQConv2d(3, 4, 3, padding=1, stride=2, order=2).eval()
    image = torch.randint(0, 4, (2, 3, 7, 7)).float()
    fields = F.unfold(image, 3, padding=1, stride=2)  # (N, 27, L), im2col in (C, KH, KW) order
    w = scaled_binarize(conv.weight, False).reshape(4, -1)
    expected = (w @ residual_binarize(fields, 2, dim=1)).reshape(2, 4, 4, 4)
    torch.testing.assert_close(conv(image), expected)
    unfolded = HORQConv2d(3, 4, 3, padding=1, stride=2, order=2, unfold=True).eval()
    unfolded.weight.data = conv.weight.data.clone()
    torch.testing.assert_close(unfolded(image), expected)


def test_xnor_input_scaling_is_horq_of_order_one():
    """K = A ∗ k of XNOR-Net is β_1 of each zero-padded field: both layers compute the same."""
    torch.manual_seed(1)
    xnor, horq = ScaledInputXNORConv2d(3, 5, 3, padding=1).eval(), HORQConv2d(3, 5, 3, padding=1, order=1).eval()
    horq.weight.data = xnor.weight.data.clone()
    image = torch.randint(0, 4, (2, 3, 6, 6)).float()
    torch.testing.assert_close(xnor(image), horq(image))
    fc, hfc = ScaledInputXNORLinear(10, 3).eval(), HORQLinear(10, 3, order=1).eval()
    hfc.weight.data = fc.weight.data.clone()
    v = torch.randint(-2, 2, (4, 10)).float()
    torch.testing.assert_close(fc(v), hfc(v))


def test_training_passes_the_gradient_straight_through_the_binarizer():
    layer = HORQLinear(6, 2, order=2).train()
    x = torch.randn(3, 6, requires_grad=True)
    layer(x).sum().backward()
    torch.testing.assert_close(x.grad, scaled_binarize(layer.weight, False).sum(0).expand(3, 6))
    with pytest.raises(ValueError, match="order"):
        HORQLinear(4, 2, order=0)


class _Quantized(nn.Module):
    """Signed 2-bit levels (½ apart) into ``body``."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.quant, self.body = FakeQuant(2, 0.5), body

    def forward(self, x):
        return self.body(self.quant(x / 64.0))


def _dots(graph):
    return [n.op for n in graph.nodes if isinstance(n.op, (Dense, Conv))]


@pytest.mark.parametrize("opset", [13, 17])
def test_xnor_and_horq_convolutions_of_order_one_read_as_the_same_layer(tmp_path, opset):
    torch.manual_seed(2)
    xnor, horq = ScaledInputXNORConv2d(2, 3, 3, padding=1, stride=2), HORQConv2d(2, 3, 3, padding=1, stride=2, order=1)
    horq.weight.data = xnor.weight.data.clone()
    graphs = [api.load(export_module(_Quantized(m), (2, 6, 6), tmp_path / f"{i}.onnx", opset_version=opset))
              for i, m in enumerate((xnor, horq))]
    (a,), (b,) = (_dots(g) for g in graphs)
    assert a.residual_order == b.residual_order == 1 and a.strides == b.strides == (2, 2) and a.pads == b.pads
    np.testing.assert_array_equal(a.weight, b.weight)
    x = RNG.integers(0, 256, size=(20, 2, 6, 6))
    # the same integers; the scales behind differ in the last float32 bit (9·float32(1/9) ≠ 1)
    np.testing.assert_allclose(api.predict(graphs[0], x), api.predict(graphs[1], x), rtol=1e-6)


class _Chain(nn.Module):
    """A hand-written order-2 residual binarization with one deliberate change."""

    def __init__(self, change: str):
        super().__init__()
        self.change, self.fc = change, nn.Linear(8, 3, bias=False)
        self.fc.weight.data = torch.where(torch.arange(24).reshape(3, 8) % 3 == 0, -1.0, 1.0)

    def forward(self, x):
        x = torch.round(torch.clamp(x / 64.0, 0, 3))
        if self.change == "offset":
            x = x - 1.0  # a zero point in front of the binarizer
        beta = x.abs().mean(1, keepdim=self.change != "keepdims")
        if self.change == "keepdims":
            beta = beta.unsqueeze(1)
        term = beta * torch.sign(x)
        if self.change == "scaled":
            term = 0.5 * term
        r = x - term
        second = r.abs().mean(1, keepdim=True) * torch.sign(r)
        if self.change == "gap":  # x̂ without its first term
            return self.fc(second)
        if self.change == "scaled_read":  # a scale on x̂ moves behind the dot product
            return self.fc((term + second) * 0.25)
        return self.fc(term + second)


@pytest.mark.parametrize("change, message", [
    ("scaled", "Sub in a residual binarization"),
    ("keepdims", "keepdims=1"),
    ("gap", "sums the terms of orders 1 … K"),
    ("offset", "an offset in front of a residual binarization"),
])
def test_chains_that_are_not_horq_are_refused_naming_the_node(tmp_path, change, message):
    path = export_module(_Chain(change), (8,), tmp_path / "chain.onnx")
    with pytest.raises(ModelError) as info:
        api.load(path)
    assert message in str(info.value) and "node" in str(info.value)


@pytest.mark.parametrize("change", ["none", "scaled_read"])
def test_hand_written_chain_reads_as_order_two(tmp_path, change):
    path = export_module(_Chain(change), (8,), tmp_path / "chain.onnx")
    graph = api.load(path)
    (dot,) = _dots(graph)
    assert dot.residual_order == 2 and dot.fan_in == 8
    result = verify_model(path, graph, RNG.integers(0, 256, size=(300, 8)))
    assert result.ok, "\n" + result.table()


@pytest.mark.parametrize("export", ["legacy13", "legacy17", "dynamo"])
def test_unfold_and_patch_convolutions_read_as_the_same_layer(tmp_path, export):
    """F.unfold's export (Pad, Gather, Gather, Transpose, Reshape, then W @ x̂) lays out the
    same receptive fields as the 0/1 patch convolution: one Conv with the same weight."""
    torch.manual_seed(3)
    layers = [HORQConv2d(2, 3, 3, padding=1, stride=2, order=2, unfold=unfold) for unfold in (False, True)]
    layers[1].weight.data = layers[0].weight.data.clone()
    graphs = []
    for i, layer in enumerate(layers):
        model, path = _Quantized(layer).eval(), tmp_path / f"{i}.onnx"
        if export == "dynamo":
            zoo.export(model, (2, 7, 7), path, dynamo=True)
        else:
            export_module(model, (2, 7, 7), path, opset_version=int(export[-2:]))
        graphs.append(api.load(path))
        result = verify_model(path, graphs[-1], RNG.integers(0, 256, size=(50, 2, 7, 7)))
        assert result.ok, "\n" + result.table()
    (a,), (b,) = (_dots(g) for g in graphs)
    assert a.residual_order == b.residual_order == 2 and a.strides == b.strides == (2, 2) and a.pads == b.pads
    np.testing.assert_array_equal(a.weight, b.weight)


class _Unfold(nn.Module):
    """An order-1 residual binarization over F.unfold's fields, with one deliberate change."""

    def __init__(self, change: str):
        super().__init__()
        self.change = change
        self.weight = nn.Parameter(torch.where(torch.arange(3 * 18).reshape(3, 18) % 4 == 0, -1.0, 1.0))

    def forward(self, x):
        x = torch.round(torch.clamp(x / 64.0, 0, 3))
        if self.change == "pad_value":
            fields = F.unfold(F.pad(x, (1, 1, 1, 1), value=1.0), 3)
        else:
            fields = F.unfold(x, 3, padding=1, dilation=2 if self.change == "dilation" else 1)
        xq = fields.abs().mean(1, keepdim=True) * torch.sign(fields)
        return (self.weight @ xq).reshape(x.shape[0], 3, -1)


@pytest.mark.parametrize("change, message", [
    ("pad_value", "zero padding"),
    ("dilation", "no dilation"),
])
def test_unfold_layouts_that_are_not_receptive_fields_are_refused_naming_the_node(tmp_path, change, message):
    path = export_module(_Unfold(change), (2, 6, 6), tmp_path / "unfold.onnx")
    with pytest.raises(ModelError) as info:
        api.load(path)
    assert message in str(info.value) and "node" in str(info.value)
