"""The resource model against the yosys measurements it was calibrated on: the error on the
held-out configurations (never used in the fit) is what the model promises."""

from __future__ import annotations

import pytest

from bnnfpga import cost_model
from bnnfpga.codegen import dataflow, rtl
from bnnfpga.cost_model import FEATURES, CostModel, block_ram_tiles, held_out

HELD_OUT_LIMIT = 0.15  # issue 9: within 15% of yosys on the held-out set (its total)
POINT_MEAN_LIMIT = 0.25  # per configuration, on average: tiny fully parallel MVUs, whose constant
                         # weights synthesis folds away, are the least predictable


@pytest.fixture(scope="module")
def calibration():
    return cost_model.load_calibration()


def test_held_out_error_is_within_15_percent(calibration, capsys):
    model = CostModel(calibration["coefficients"])
    points = [p for p in calibration["points"] if held_out(p)]
    assert len(points) >= 15 and {p["module"] for p in points} >= {"bnn_mvu", "bnn_swg", "bnn_axis_fifo"}
    lines = []
    for metric in ("lut", "ff"):
        errors = []
        for p in points:
            r = getattr(model.estimate(p["module"], p["params"]), metric)
            errors.append(abs(r - p[metric]) / max(p[metric], 1))
            lines.append(f"{p['module']:20s} {metric:3s} yosys {p[metric]:7.0f} model {r:7.0f} {100 * errors[-1]:5.1f}%")
        mean = sum(errors) / len(errors)
        total = abs(sum(getattr(model.estimate(p["module"], p["params"]), metric) for p in points)
                    - sum(p[metric] for p in points)) / sum(p[metric] for p in points)
        lines.append(f"{metric}: mean error {100 * mean:.1f}%, error of the total {100 * total:.1f}% over {len(points)} held-out points")
        assert total <= HELD_OUT_LIMIT and mean <= POINT_MEAN_LIMIT, "\n".join(lines)
    with capsys.disabled():  # the test reports the error (issue 9)
        print("\n" + "\n".join(line for line in lines if line.startswith(("lut:", "ff:"))))


def test_block_ram_follows_the_memory_shapes(calibration):
    """BRAM36 tiles come from the ROM's shape (no fitting): exact for most configurations;
    for ROMs many tiles deep yosys packs parity bits and mixed aspect ratios a little tighter."""
    model = CostModel(calibration["coefficients"])
    pairs = [(model.estimate(p["module"], p["params"]).bram36, p["bram36"]) for p in calibration["points"]]
    exact = sum(m == y for m, y in pairs)
    assert exact >= 0.8 * len(pairs)
    assert all(abs(m - y) <= 0.125 * y for m, y in pairs), [(m, y) for m, y in pairs if m != y]
    assert sum(m for m, _ in pairs) == pytest.approx(sum(y for _, y in pairs), rel=0.06)


def test_stored_fit_error_is_what_the_coefficients_give(calibration):
    recomputed = cost_model.errors(calibration, CostModel(calibration["coefficients"]))
    assert recomputed == calibration["fit_error"]


def test_block_ram_tiles():
    assert block_ram_tiles(288, 128) == 2  # 512 x 72 twice
    assert block_ram_tiles(576, 256) == 7.5  # 15 RAMB18 of 1K x 18
    assert block_ram_tiles(144, 256) == 4
    assert block_ram_tiles(32768, 4) == 4  # 8K x 4 four times
    assert block_ram_tiles(100, 1) == 0.5
    assert block_ram_tiles(0, 8) == 0


def test_every_module_the_generator_uses_is_priced():
    modules = {p.stem for p in rtl.data_dir("rtl").glob("bnn_*.sv")}
    assert modules == set(FEATURES)
    assert set(cost_model.FAMILIES) == set(cost_model.default_model().coefficients)


def test_features_follow_the_engine_instances():
    """The model reads the same parameters the generator writes (no parameter is missed)."""
    from bnnfpga.folding import choose_folding
    from tests.csim.test_hls import conv_net

    graph = conv_net(3, 1, 1, 8, True, seed=0)
    for engine in dataflow.lower(graph, choose_folding(graph)).engines:
        instance = rtl.engine_instance(engine)
        r = cost_model.default_model().estimate(instance.module, instance.params)
        assert r.lut > 0 and r.ff > 0, instance
