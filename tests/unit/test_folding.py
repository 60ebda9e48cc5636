"""The folding search and the estimate: targets met, budgets kept, clear errors, overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path

import pytest

from bnnfpga import api
from bnnfpga.boards import load_board
from bnnfpga.codegen import hls, rtl
from bnnfpga.errors import BnnfpgaError
from bnnfpga.hw import engines
from bnnfpga.hw.cost_model import default_model
from bnnfpga.hw.fold import BRAM_MIN_DEPTH, Fold, Products, WeightMemory, choose_folding, parse_fold_options
from bnnfpga.hw.folding import Budget, estimate, search
from bnnfpga.hw.lower import lower
from bnnfpga.hw.modules import instance_of

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits_cnn" / "model.onnx"


@pytest.fixture(scope="module")
def digits():
    return api.load(DIGITS)


@pytest.fixture(scope="module")
def cnv(cnv_onnx):
    return api.load(cnv_onnx)


def small_board(lut: int, bram36: int = 140, dsp: int = 220):
    board = load_board("pynq-z2")
    return replace(board, name="tiny", resources={**board.resources, "lut": lut, "bram36": bram36, "dsp": dsp})


def test_estimate_cycles_are_the_dataflow_model(digits):
    folding = choose_folding(digits)
    est = estimate(digits, folding, 100.0)
    flow = lower(digits, folding)
    assert est.cycles_per_frame == flow.cycles_per_frame
    assert [e.cycles for e in est.engines] == [e.cycles for e in flow.engines]
    assert est.fps == pytest.approx(100e6 / flow.cycles_per_frame)
    t = est.totals
    assert t["lut"] == pytest.approx(sum(layer.lut for layer in est.layers()))
    assert t["bram36"] == pytest.approx(sum(layer.bram36 for layer in est.layers()))
    assert all(e.resources.lut > 0 for e in est.engines)


def test_target_fps_is_met_by_every_layer_and_cheaper_than_faster_targets(cnv):
    board = load_board("pynq-z2")
    slow = search(cnv, board, target_fps=1000).estimate
    fast = search(cnv, board, target_fps=3052).estimate
    for est, fps in ((slow, 1000), (fast, 3052)):
        assert est.fps >= fps
        assert all(layer.cycles <= 100e6 / fps for layer in est.layers())
    assert slow.totals["lut"] < fast.totals["lut"]


def test_as_fast_as_fits_fits_and_the_next_faster_design_does_not(cnv):
    board = load_board("pynq-z2")
    result = search(cnv, board)
    est, budget = result.estimate, result.budget
    assert est.fits(budget)
    assert budget.lut == pytest.approx(0.8 * board.resources["lut"])
    faster = [p for p in result.curve if p.fps > est.fps * 1.0001]
    assert faster and not any(p.fits for p in faster)  # the search stopped at the budget, not before it
    assert est.fps >= 3052  # BNN-PYNQ's bound on the same board (issue 9)


def test_cnv_reaches_bnn_pynq_with_margin(cnv):
    board = load_board("pynq-z2")
    est = search(cnv, board, target_fps=3052).estimate
    assert est.totals["lut"] <= 0.8 * board.resources["lut"]
    assert est.totals["bram36"] <= 0.8 * board.resources["bram36"]


def test_unreachable_frame_rate_names_the_engine(digits):
    with pytest.raises(BnnfpgaError, match=r"frames/s at 100 MHz needs at most \d+ cycles per frame, but .* takes"):
        search(digits, load_board("pynq-z2"), target_fps=1e9)


def test_over_budget_names_the_resource_and_layer(cnv):
    with pytest.raises(BnnfpgaError, match=r"does not fit tiny: it needs [\d,]+ LUT with the model's \d+% margin, "
                                           r"[\d,]+ over the budget of [\d,]+ \(80% of the board\); the largest layer is \w+"):
        search(cnv, small_board(lut=12000), target_fps=3052)
    with pytest.raises(BnnfpgaError, match="the smallest folding .* does not fit tiny"):
        search(cnv, small_board(lut=500))


def test_budget_is_the_utilisation_of_the_board(digits):
    board = load_board("pynq-z2")
    assert Budget.of(board, 0.5).lut == board.resources["lut"] / 2
    with pytest.raises(BnnfpgaError, match="utilisation"):
        Budget.of(board, 1.5)
    tight = search(digits, board, utilisation=0.05).estimate
    assert tight.totals["lut"] <= 0.05 * board.resources["lut"]


def test_overrides_are_kept(digits):
    layers = [n.name for n in digits.nodes if n.op.__class__.__name__ in ("Conv", "Dense")]
    est = search(digits, load_board("pynq-z2"), overrides={layers[0]: Fold(1, 1)}).estimate
    assert est.folding[layers[0]] == Fold(1, 1)
    with pytest.raises(BnnfpgaError, match="must divide"):
        search(digits, load_board("pynq-z2"), overrides={layers[0]: Fold(7, 1)})
    with pytest.raises(BnnfpgaError, match="unknown layers"):
        search(digits, load_board("pynq-z2"), overrides={"nope": Fold(1, 1)})
    with pytest.raises(BnnfpgaError, match=r"weight ROM of 288 words; LUT ROMs are supported below 128 words"):
        search(digits, load_board("pynq-z2"), overrides={layers[0]: Fold(1, 1, WeightMemory.LUT)})


def test_search_is_deterministic(cnv):
    board = load_board("pynq-z2")
    assert search(cnv, board).estimate.folding == search(cnv, board).estimate.folding


def test_the_budget_holds_the_estimate_plus_the_model_margin(cnv):
    board = load_board("pynq-z2")
    model = default_model()
    assert 0 < model.margin < 0.5  # the held-out error of the calibration, not a made-up constant
    careful = search(cnv, board)
    assert careful.budget.margin == model.margin
    assert careful.estimate.totals["lut"] * (1 + model.margin) <= careful.budget.lut
    bold = search(cnv, board, margin=0.0)
    assert bold.estimate.fps > careful.estimate.fps  # the margin costs speed: it is really applied
    assert bold.estimate.totals["lut"] > careful.budget.lut / (1 + model.margin)
    with pytest.raises(BnnfpgaError, match="margin"):
        search(cnv, board, margin=1.5)


def _weights_by_layer(est) -> dict[str, str]:
    return {layer.name: layer.weights for layer in est.layers() if layer.fold}


def test_weights_move_to_idle_bram_when_luts_run_out(cnv):
    """Shallow ROMs go to LUTs by the depth rule; when LUTs bind and BRAM is idle, the search
    moves some of them to BRAM, and it never spends BRAM the board does not have."""
    board = load_board("pynq-z2")
    rich = search(cnv, board).estimate
    mvus = [m for m in rich.flow.engines if isinstance(m, engines.Mvu)]
    moved = [m for m in mvus if m.weights_in_bram and m.tiles < BRAM_MIN_DEPTH]
    assert moved, _weights_by_layer(rich)
    assert all(m.fold.weights is WeightMemory.BRAM for m in moved)
    poor = search(cnv, small_board(lut=53200, bram36=60)).estimate
    assert poor.totals["bram36"] <= 0.8 * 60
    assert poor.fps < rich.fps


def test_products_move_to_idle_dsp_slices_when_luts_run_out(exported):
    """The 6-bit MLP's products are LUT shift-adds while LUTs last; on a board short of LUTs
    the fastest design puts products in DSP slices, within the DSP budget, and runs faster
    than the same board without DSPs allows."""
    mlp = api.load(exported("qkeras_mlp", "legacy"))
    rich = search(mlp, load_board("pynq-z2")).estimate
    assert rich.totals["dsp"] == 0, rich.folding
    short = search(mlp, small_board(lut=12000)).estimate
    on_dsp = [m for m in short.flow.engines if isinstance(m, engines.Mvu) and m.dsp_products]
    assert on_dsp and short.totals["dsp"] == sum(m.fold.pe * m.fold.simd for m in on_dsp) <= 0.8 * 220
    without = search(mlp, small_board(lut=12000, dsp=0)).estimate
    assert without.totals["dsp"] == 0 and without.fps < short.fps


def test_dsp_products_where_nothing_multiplies_are_refused_naming_the_layer(digits):
    layer = next(n.name for n in digits.nodes if n.op.__class__.__name__ == "Conv")
    folding = {**choose_folding(digits), layer: Fold(1, 1, products=Products.DSP)}
    with pytest.raises(BnnfpgaError, match=f"layer {layer}: .*no w·x products.*integer weights on integer inputs"):
        lower(digits, folding, "RTL")


def test_dsp_products_reach_both_backends_and_the_price(exported, tmp_path):
    mlp = api.load(exported("qkeras_mlp", "legacy"))
    layer = next(n.name for n in mlp.nodes if n.op.__class__.__name__ in ("Dense", "MatMul", "Gemm"))
    folding = {**choose_folding(mlp, max_pe=2, max_simd=4), layer: Fold(2, 4, products=Products.DSP)}
    mvu = next(e for e in lower(mlp, folding, "RTL").engines if isinstance(e, engines.Mvu) and e.name == layer)
    params = instance_of(mvu).params
    assert rtl.rtl_parameters(params)["DSP_PRODUCTS"] == "1'b1"
    priced = default_model().estimate(params)
    fabric = default_model().estimate(dataclasses.replace(params, dsp_products=False))
    assert priced.dsp == 8 and fabric.dsp == 0 and priced.lut < fabric.lut
    hls.generate(mlp, tmp_path / "hls", load_board("pynq-z2"), folding)
    top = next((tmp_path / "hls").rglob("*top*.cpp")).read_text()
    assert top.count("DspProducts>") == 1 and top.count("FabricProducts>") == len(folding) - 1


def test_the_weight_memory_of_the_folding_reaches_both_backends(digits, tmp_path):
    layer = next(n.name for n in digits.nodes if n.op.__class__.__name__ == "Conv")
    for memory, style, impl in ((WeightMemory.BRAM, '"block"', "bram"), (WeightMemory.LUT, '"auto"', "lutram")):
        folding = {**choose_folding(digits), layer: Fold(1, 1, memory)}
        flow = lower(digits, folding, "RTL")
        mvu = next(e for e in flow.engines if isinstance(e, engines.Mvu) and e.name == layer)
        assert rtl.rtl_parameters(instance_of(mvu).params)["WEIGHTS_STYLE"] == style
        out = tmp_path / memory.value
        hls.generate(digits, out, load_board("pynq-z2"), folding)
        top = next(out.rglob("*top*.cpp")).read_text()
        assert any(f"impl = {impl}" in line and layer in line.replace("-", "_") for line in top.splitlines()
                   if "BIND_STORAGE" in line), top[:2000]


def test_fold_options_take_the_weight_memory_and_the_products():
    assert parse_fold_options(["conv1=8,16", "fc=2,4,bram", "fc2=1,1,LUT", "fc3=2,8,dsp", "fc4=1,2,lut,DSP"]) == {
        "conv1": Fold(8, 16), "fc": Fold(2, 4, WeightMemory.BRAM), "fc2": Fold(1, 1, WeightMemory.LUT),
        "fc3": Fold(2, 8, products=Products.DSP), "fc4": Fold(1, 2, WeightMemory.LUT, Products.DSP)}
    for bad in ("conv1=8", "conv1=8,16,dram", "conv1=8,16,bram,1", "conv1=a,b", "fc=1,2,dsp,bram", "fc=1,2,bram,dsp,dsp"):
        with pytest.raises(BnnfpgaError, match="LAYER=PE,SIMD"):
            parse_fold_options([bad])


def test_synthesis_table_holds_yosys_against_the_bare_budget(digits):
    """`estimate --synth` prints model next to yosys per layer; yosys's own counts need no margin."""
    from bnnfpga.report import synthesis_table
    from bnnfpga.synth import EngineSynthesis

    board = load_board("pynq-z2")
    searched = search(digits, board, target_fps=500)
    engines = [EngineSynthesis(f"e{i}", e.engine, e.resources.lut * 1.1, e.resources.ff, e.resources.bram36, 1.0)
               for i, e in enumerate(searched.estimate.engines)]
    text = synthesis_table(searched, board, engines)
    assert "model -9.1%" in text and "within the budget" in text
    assert {line.split()[0] for line in text.splitlines()[2:2 + len(searched.estimate.layers())]} == \
        {layer.name for layer in searched.estimate.layers()}
    huge = [dataclasses.replace(e, lut=board.resources["lut"]) for e in engines]
    assert "OVER the budget" in synthesis_table(searched, board, huge)
