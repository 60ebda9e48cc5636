"""Power-of-two weights (INQ): recognition by value, the weight type and code, and the
bnnfpga.nn INQ layers (rounding rule, partition-and-freeze schedule, export)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bnnfpga.errors import ModelError
from bnnfpga.hw.fold import Fold
from bnnfpga.hw.layout import weight_chunks
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Dense, weight_type
from bnnfpga.ir.types import DType, TensorType, uint
from bnnfpga.nn.inq import INQ_SCHEDULE, INQLinear, power_of_two_range, quantize_fraction, round_to_powers_of_two
from bnnfpga.passes.extract_integer_weights import ExtractIntegerWeights, split_power_of_two_rows


def _powers(rng, shape, exponents):
    return rng.choice([-1.0, 0.0, 1.0], size=shape) * np.exp2(rng.choice(exponents, size=shape))


def test_rows_of_powers_of_two_split_exactly_into_a_step_and_integers():
    rng = np.random.default_rng(0)
    w = _powers(rng, (6, 40), np.arange(-9, -1))
    w[:, 0], w[:, 1] = 2.0**-9, 2.0**-2  # every row spans 2^0 … 2^7 of its step
    w = w * rng.uniform(0.3, 3.0, (6, 1))  # batchnorm folded in per row
    q, step = split_power_of_two_rows(w.astype(np.float32))
    assert q.dtype == np.int16 and np.abs(q).max() == 128
    np.testing.assert_array_equal(q * step[:, None], w.astype(np.float32))


def test_narrow_power_of_two_rows_stay_int8_and_other_grids_are_not_powers():
    q, _ = split_power_of_two_rows(np.array([[0.25, -0.5, 0.0, 2.0]]))
    assert q.dtype == np.int8 and q.tolist() == [[1, -2, 0, 8]]
    assert split_power_of_two_rows(np.array([[0.25, 0.75]])) is None  # 3·s is on a grid, not a power
    assert split_power_of_two_rows(np.array([[1.0, 2.0**15]])) is None  # beyond MAX_POWER_OF_TWO_EXPONENT
    assert split_power_of_two_rows(np.zeros((2, 3))) is not None  # all-zero rows


@pytest.mark.parametrize("values, expected", [
    ([-2, -1, 0, 1], "int2"),  # a two's complement code is narrower
    ([-2, -1, 0, 1, 2], "pow2_3"),  # INQ 3-bit: ties go to the shift
    ([-8, -1, 0, 2, 4], "pow2_4"),
    ([-128, 1, 64], "pow2_5"),
    ([-3, 1, 2], "int3"),  # not all powers of two
    ([-1, 0, 1], "ternary"),
    ([-1, 1], "bipolar"),
])
def test_weight_type_chooses_the_narrower_code(values, expected):
    dtype = np.int16 if max(map(abs, values)) > 127 else np.int8
    assert str(weight_type(np.array(values, dtype))) == expected


def test_power_of_two_type_round_trips_and_rejects_codes_without_exponent_bits():
    assert DType.parse("pow2_5") == DType("pow2", 5)
    assert (DType("pow2", 5).min, DType("pow2", 5).max, DType("pow2", 5).exponents) == (-128, 128, 8)
    with pytest.raises(ValueError):
        DType("pow2", 2)


def test_power_of_two_code_is_sign_exponent_nonzero():
    rows = np.array([[0, 1, -1, 8, -128]], np.int16)
    (lane,) = weight_chunks(rows, Fold(1, 5), 5, power_of_two=True)
    codes = [(lane[0] >> (5 * s)) & 0b11111 for s in range(5)]
    # bit 0 sign (1 = +), bits 1-3 the exponent, bit 4 non-zero
    assert codes == [0b00000, 0b10001, 0b10000, 0b10111, 0b11110]


def test_weights_that_are_no_grid_are_refused_naming_powers_of_two():
    graph = Graph(input_name="x", input_type=TensorType((3,), uint(8)), output_name="y",
                  nodes=[Node("fc", Dense(weight=np.array([[0.1, 0.37, 2.0**0.5]])), ("x",), "y", "fc_node")])
    with pytest.raises(ModelError) as info:
        ExtractIntegerWeights().apply(graph)
    assert "fc_node" in str(info.value) and "powers of two, INQ" in str(info.value)


def test_inq_rounds_to_the_nearest_power_on_a_linear_scale():
    n2, n1 = -4, -1
    w = torch.tensor([0.0, 0.031, 0.032, 0.0625, 0.09, 0.094, 0.5, 0.74, 0.76, 3.0, -0.3])
    expected = [0.0, 0.0, 2**-4, 2**-4, 2**-4, 2**-3, 2**-1, 2**-1, 2**-1, 2**-1, -(2**-2)]
    np.testing.assert_array_equal(round_to_powers_of_two(w, n2, n1).numpy(), np.float32(expected))


@pytest.mark.parametrize("bits, exponents", [(5, 8), (4, 4), (3, 2)])
def test_inq_exponent_range_has_two_to_the_bits_minus_two_powers(bits, exponents):
    assert power_of_two_range(torch.tensor([0.8, -0.1]), bits)[1] == 0  # ⌊log2(4·0.8/3)⌋ = ⌊0.09⌋
    n2, n1 = power_of_two_range(torch.tensor([0.7, -0.1]), bits)
    assert n1 == -1 and n1 - n2 + 1 == exponents  # ⌊log2(4·0.7/3)⌋ = ⌊−0.1⌋


def test_inq_schedule_freezes_the_largest_weights_and_keeps_them():
    torch.manual_seed(0)
    layer = INQLinear(32, 8, bits=4)
    optimiser = torch.optim.Adam(layer.parameters(), lr=0.1)
    previous, frozen_values = torch.zeros_like(layer.frozen), None
    for fraction in INQ_SCHEDULE:
        quantize_fraction(layer, fraction)
        assert abs(layer.frozen.float().mean().item() - fraction) < 1e-3
        if frozen_values is not None:  # what was frozen stays frozen, with its value
            assert torch.equal(layer.current_weight()[previous], frozen_values)
        magnitude = layer.weight.detach().abs()
        if fraction < 1:  # the partition takes the largest remaining magnitudes first
            assert magnitude[layer.frozen & ~previous].min() >= magnitude[~layer.frozen].max()
        for _ in range(3 if fraction < 1 else 0):  # retraining moves the float weights only
            optimiser.zero_grad()
            layer(torch.randn(16, 32)).pow(2).sum().backward()
            optimiser.step()
        previous, frozen_values = layer.frozen.clone(), layer.current_weight()[layer.frozen].detach().clone()
    weights = layer.current_weight().detach().abs()
    n2, n1 = (int(v) for v in layer.exponents)
    powers = {2.0**n for n in range(n2, n1 + 1)} | {0.0}
    assert set(weights.unique().tolist()) <= powers and len(powers) == 5
