"""ABC-Net's bases, one equivalence test per pass: SumOfSignsAsThresholds (activation bases →
one multi-threshold), MergeWeightBases (scaled binary dot products of one input → one dot
product with bases), IntegerBaseGains (float gains → integers on one 2^−K grid); and the
ABC-Net layers of bnnfpga.nn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bnnfpga import golden
from bnnfpga.ir.ops import Add, Affine, Binarize, Dense, FloatThresholds
from bnnfpga.ir.types import DType
from bnnfpga.ir.verify import verify
from bnnfpga.nn.abc import ABCActivation, ABCConv2d, ABCLinear, least_squares_gains, weight_bases
from bnnfpga.passes.extract_integer_weights import ExtractIntegerWeights
from bnnfpga.passes.integer_base_gains import IntegerBaseGains
from bnnfpga.passes.merge_weight_bases import MergeWeightBases
from bnnfpga.passes.pipeline import fold
from bnnfpga.passes.sum_of_signs import SumOfSignsAsThresholds
from tests.graphs import Chain, random_input

RNG = np.random.default_rng(0)
UINT4 = DType("uint", 4)


def _signs_net(betas=(1.0, 0.5, 0.25)) -> Chain:
    """uint8 (12,) → Dense (float) → Σ_j β_j·sign(h + v_j) → Dense."""
    chain = Chain((12,))
    chain.add("fc", Dense(weight=RNG.normal(size=(6, 12))))
    h = chain.current
    terms = []
    for j, beta in enumerate(betas):
        chain.current = h
        chain.add("shift", Affine(scale=np.ones(6), bias=RNG.normal(size=6) * 50))
        chain.add("sign", Binarize(onnx_sign=True))
        chain.add("beta", Affine(scale=np.full(6, beta), bias=np.zeros(6)))
        terms.append(chain.current)
    total = terms[0]
    for term in terms[1:]:
        chain.join("sum", Add(), (total, term))
        total = chain.current
    chain.add("out", Dense(weight=RNG.normal(size=(3, 6))))
    return chain


def test_sum_of_signs_becomes_one_multi_threshold_with_the_same_outputs():
    graph = _signs_net().graph()
    folded = SumOfSignsAsThresholds().apply(graph)
    verify(folded)
    (levels,) = [n.op for n in folded.nodes if isinstance(n.op, FloatThresholds)]
    assert levels.steps == 4 + 2 + 1  # β = 1, ½, ¼: the thresholds counted 4, 2 and 1 times
    assert not any(isinstance(n.op, (Binarize, Add)) for n in folded.nodes)
    x = random_input(graph.input_type, 200, seed=1)
    np.testing.assert_array_equal(golden.execute(folded, x)[folded.output_name], golden.execute(graph, x)[graph.output_name])


def test_sums_of_signs_with_other_ratios_are_left_alone():
    graph = _signs_net(betas=(1.0, 0.3)).graph()
    assert [type(n.op) for n in SumOfSignsAsThresholds().apply(graph).nodes] == [type(n.op) for n in graph.nodes]


def _bases_net(alphas=(0.75, 0.3125, 0.0625), dtype=UINT4) -> Chain:
    """uint4 (10,) → Σ_i α_i·(x·B_iᵀ) + b: scaled ±1 dense layers of one input, summed."""
    chain = Chain((10,), dtype)
    terms = []
    for alpha in alphas:
        chain.current = chain.input_name
        chain.add("base", Dense(weight=RNG.choice([-1.0, 1.0], size=(5, 10))))
        chain.add("alpha", Affine(scale=np.full(5, alpha), bias=RNG.normal(size=5)))
        terms.append(chain.current)
    chain.join("sum", Add(), (terms[0], terms[1]))
    for term in terms[2:]:
        chain.join("sum", Add(), (chain.current, term))
    return chain


def test_weight_bases_merge_into_one_dot_product_with_the_same_outputs():
    graph = ExtractIntegerWeights().apply(_bases_net().graph())
    merged = MergeWeightBases().apply(graph)
    verify(merged)
    (dot,) = [n.op for n in merged.nodes if isinstance(n.op, Dense)]
    assert dot.bases.shape == (3, 5, 10) and dot.base_gains.shape == (5, 3)
    x = random_input(graph.input_type, 200, seed=2)
    np.testing.assert_allclose(golden.execute(merged, x)[merged.output_name], golden.execute(graph, x)[graph.output_name],
                               rtol=1e-12)


def test_dyadic_gains_become_exact_integers():
    """α = ¾, 5/16, 1/16: the grid 2^−4 holds them exactly, C = (12, 5, 1)."""
    merged = MergeWeightBases().apply(ExtractIntegerWeights().apply(_bases_net().graph()))
    integer = IntegerBaseGains().apply(merged)
    verify(integer)
    (dot,) = [n.op for n in integer.nodes if isinstance(n.op, Dense)]
    assert dot.base_gains.tolist() == [[12, 5, 1]] * 5 and dot.weight.dtype == np.int16
    assert not any("rounded" in note for note in integer.notes)
    x = random_input(merged.input_type, 200, seed=3)
    np.testing.assert_array_equal(golden.execute(integer, x)[integer.output_name],
                                  golden.execute(merged, x)[merged.output_name])


def test_gains_too_fine_for_the_accumulator_are_rounded_with_a_note():
    """Least-squares-like α with 24-bit significands on 8-bit inputs: the exact grid would
    need more than 30 accumulator bits, so the gains round to the finest grid that fits."""
    alphas = tuple(float(np.float32(v)) for v in (0.7310585, 0.2689414, 0.0474259))
    merged = MergeWeightBases().apply(ExtractIntegerWeights().apply(_bases_net(alphas, DType("uint", 8)).graph()))
    integer = IntegerBaseGains().apply(merged)
    verify(integer)
    (note,) = [n for n in integer.notes if "rounded" in n]
    (dot,) = [n.op for n in integer.nodes if isinstance(n.op, Dense)]
    bound = np.abs(dot.base_gains).sum(axis=1).max() * 255 * 10
    assert bound < 2**30 and 2 * bound >= 2**30  # the finest grid that fits
    (grid,) = [n.op.scale[0] for n in integer.nodes if n.name.endswith("_grid")]
    x = random_input(merged.input_type, 200, seed=4)
    # each of the 3 gains moved by at most half a grid step, on |x| ≤ 255 over 10 inputs
    np.testing.assert_allclose(golden.execute(integer, x)[integer.output_name], golden.execute(merged, x)[merged.output_name],
                               rtol=0, atol=3 * grid / 2 * 255 * 10)


def test_flipped_rows_of_weight_bases_negate_their_gains():
    """A negative batchnorm scale behind a layer of bases flips its rows (3.3): the weights and
    the gains are negated together, so the weights stay the sum of the scaled bases."""
    chain = _bases_net(alphas=(0.75, 0.3125))
    chain.add("bn", Affine(scale=np.array([1.0, -2.0, 0.5, -0.25, 3.0]), bias=RNG.normal(size=5)))
    chain.add("sign", Binarize())
    chain.add("out", Dense(weight=RNG.choice([-1.0, 1.0], size=(3, 5))))
    graph = chain.graph()
    folded = fold(graph)
    (dot,) = [n.op for n in folded.nodes if isinstance(n.op, Dense) and n.op.bases is not None]
    assert dot.flipped.tolist() == [False, True, False, True, False]
    assert np.all(dot.base_gains[[1, 3]] < 0) and np.all(dot.base_gains[[0, 2, 4]] > 0)
    x = random_input(graph.input_type, 200, seed=5)
    np.testing.assert_array_equal(golden.execute(folded, x)[folded.output_name], golden.execute(graph, x)[graph.output_name])


# -- bnnfpga.nn's ABC-Net layers ------------------------------------------------------------------

def test_weight_bases_are_signs_of_the_centred_weights_shifted_by_standard_deviations():
    torch.manual_seed(0)
    w = torch.randn(6, 10)
    bases = weight_bases(w, 3)
    assert bases.shape == (3, 6, 10) and set(bases.unique().tolist()) == {-1.0, 1.0}
    centred, spread = w - w.mean(), w.std()
    for base, u in zip(bases, (-1.0, 0.0, 1.0)):
        assert torch.equal(base, torch.where(centred + u * spread >= 0, 1.0, -1.0))


def test_least_squares_gains_per_layer_and_per_channel_match_numpy():
    torch.manual_seed(1)
    w = torch.randn(4, 3, 3, 3)
    bases = weight_bases(w, 3)
    per_layer = least_squares_gains(w, bases, per_channel=False)
    design = bases.reshape(3, -1).T.double().numpy()
    np.testing.assert_allclose(per_layer.numpy(), np.linalg.lstsq(design, w.reshape(-1).double().numpy(), rcond=None)[0],
                               rtol=1e-6)
    per_channel = least_squares_gains(w, bases, per_channel=True)
    assert per_channel.shape == (4, 3)
    for o in range(4):
        rows = bases[:, o].reshape(3, -1).T.double().numpy()
        np.testing.assert_allclose(per_channel[o].numpy(), np.linalg.lstsq(rows, w[o].reshape(-1).double().numpy(),
                                                                           rcond=None)[0], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("per_channel", [False, True])
def test_abc_layers_compute_the_same_in_training_and_as_exported_branches(per_channel):
    """Training multiplies by Σ α_i·B_i; eval mode (what the export writes) sums the branches
    α_i·(x ∗ B_i) with the bases and α frozen when the layer entered eval mode."""
    torch.manual_seed(2)
    for layer, x in ((ABCLinear(12, 5, bases=3, per_channel=per_channel), torch.randn(7, 12)),
                     (ABCConv2d(2, 4, 3, padding=1, bases=2, per_channel=per_channel), torch.randn(3, 2, 5, 5))):
        with torch.no_grad():
            trained = layer.train()(x)
            exported = layer.eval()(x)
        torch.testing.assert_close(exported, trained, rtol=1e-5, atol=1e-5)
        assert len(layer.frozen_bases) == layer.base_count


def test_abc_activation_is_a_sum_of_shifted_signs_with_a_straight_through_gradient():
    torch.manual_seed(3)
    act = ABCActivation((1.0, 0.5))
    x = torch.linspace(-2, 2, 41, requires_grad=True)
    y = act.train()(x)
    assert set(y.detach().unique().tolist()) <= {-1.5, -0.5, 0.5, 1.5}
    y.sum().backward()
    assert x.grad.abs().sum() > 0 and act.shifts.grad.abs().sum() > 0
    with torch.no_grad():  # eval: +β_j where x + v_j ≥ ½, thresholds at ½ − v_j = ½ and −½
        assert act.eval()(torch.tensor([-1.0, 0.0, 0.49, 0.5])).tolist() == [-1.5, -0.5, -0.5, 1.5]


def test_abc_activation_refuses_scales_without_integer_ratios():
    with pytest.raises(ValueError, match="integer ratios"):
        ABCActivation((1.0, 0.3))
