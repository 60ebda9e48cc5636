"""CNV-W2A2 (Brevitas BNN-PYNQ, ternary weights and activations, exported as QONNX) on
pynq-z2 at 100 MHz: bnnfpga's estimate next to the published BNN-PYNQ CNV-W2A2 figures.

    python benchmarks/cnv_w2a2_vs_bnnpynq.py [--no-sim] [--synth] [--record]

For the fastest folding that fits 80% of the board and the cheapest reaching BNN-PYNQ's
868 frames/s: frames/s from the cycle model (checked by Verilator simulation of the whole
generated design unless --no-sim), LUT/FF/BRAM from the resource model (and from yosys per
engine with --synth: 20-40 minutes). The weights are untrained (random, randomised batchnorm):
resources do not depend on the values beyond their type.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cnv_vs_bnnpynq import CLOCK_MHZ, simulate  # noqa: E402
from results import record  # noqa: E402

from bnnfpga import api  # noqa: E402
from bnnfpga.boards import load_board  # noqa: E402
from bnnfpga.errors import BnnfpgaError  # noqa: E402
from bnnfpga.hw import cost_model
from bnnfpga.hw.fold import WeightMemory
from bnnfpga.hw.folding import search  # noqa: E402
from bnnfpga.nn.bnn_pynq import INPUT_SCALE, export  # noqa: E402
from bnnfpga.report import synthesis_totals  # noqa: E402
from bnnfpga.synth import synthesise_engines  # noqa: E402

BNN_PYNQ_W2A2_BOUND = 868
# Published BNN-PYNQ CNV-W2A2 on pynq-z2 (issue 10): frames/s bound and LUT.
PUBLISHED = [("BNN-PYNQ CNV-W2A2 (published)", BNN_PYNQ_W2A2_BOUND, 37302)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-sim", action="store_true", help="skip the Verilator check of the cycle model")
    parser.add_argument("--synth", action="store_true", help="also synthesise every engine with yosys")
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    board = load_board("pynq-z2")
    rows = ["| design | frames/s at 100 MHz | LUT | FF | BRAM36 | frames/s per kLUT | source |", "|---|---|---|---|---|---|---|"]
    rows += [f"| {name} | {fps:,} | {lut:,} | - | - | {fps / lut * 1000:.1f} | published |" for name, fps, lut in PUBLISHED]
    details = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        graph = api.load(export("cnv_2w2a", tmp, "qonnx"), input_scale=INPUT_SCALE)
        details.append(f"- export (Brevitas export_qonnx) and load: {time.perf_counter() - start:.1f} s")
        designs = [("fastest that fits 80%", search(graph, board, CLOCK_MHZ))]
        target = f"cheapest reaching {BNN_PYNQ_W2A2_BOUND} frames/s"
        try:
            designs.append((target, search(graph, board, CLOCK_MHZ, BNN_PYNQ_W2A2_BOUND)))
        except BnnfpgaError as exc:  # reported, not hidden: the model says it does not fit
            details.append(f"- {target}: {exc}")
            unbounded = search(graph, board, CLOCK_MHZ, BNN_PYNQ_W2A2_BOUND, utilisation=1.0, margin=0.0)
            designs.append((f"{target} (over 80%: no budget, no margin)", unbounded))
        for i, (name, result) in enumerate(designs):
            est, t = result.estimate, result.estimate.totals
            folding = ", ".join(f"{k}={f.pe},{f.simd}" + ("" if f.weights is WeightMemory.AUTO else f",{f.weights.value}")
                                for k, f in est.folding.items())
            rows.append(f"| bnnfpga, {name} | {est.fps:,.0f} | {t['lut']:,.0f} | {t['ff']:,.0f} | {t['bram36']:g} "
                        f"| {est.fps / t['lut'] * 1000:.1f} | model (margin {100 * result.budget.margin:.0f}%) |")
            if not args.no_sim:
                start = time.perf_counter()
                steady, exact = simulate(graph, est.folding, tmp / f"sim{i}")
                details.append(f"- {name}: Verilator {steady:g} cycles/frame vs model {est.cycles_per_frame:,} "
                               f"({100 * (steady - est.cycles_per_frame) / est.cycles_per_frame:+.2f}%), "
                               f"{'bit-exact' if exact else 'NOT bit-exact'}, {time.perf_counter() - start:.0f} s")
            if args.synth:
                engines = synthesise_engines(est.flow, tmp / f"synth{i}", lambda text: print(f"  {text}", file=sys.stderr))
                measured = synthesis_totals(engines)
                rows.append(f"| bnnfpga, {name} | {est.fps:,.0f} | {measured['lut']:,.0f} | {measured['ff']:,.0f} "
                            f"| {measured['bram36']:g} | {est.fps / measured['lut'] * 1000:.1f} | yosys per engine |")
            details.append(f"- {name}: folding (PE,SIMD) {folding}")
    total_error = cost_model.default_model().fit_error["held_out"]["lut"]["total"]
    details.append(f"- LUT/FF/BRAM here are the resource model's (yosys-calibrated, held-out LUT error of the total "
                   f"{100 * total_error:.1f}%); BNN-PYNQ's are Vivado's. `--synth` runs yosys on every engine "
                   "(20-40 minutes).")
    body = "\n".join(rows + ["", *details])
    print(body)
    if args.record:
        record("CNV-W2A2 vs BNN-PYNQ (pynq-z2, 100 MHz)", body)


if __name__ == "__main__":
    main()
