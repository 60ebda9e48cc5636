"""CNV-W1A1 (the BNN-PYNQ topology) on pynq-z2 at 100 MHz: bnnfpga next to the published
BNN-PYNQ and FINN figures for the same network on the same board.

    python benchmarks/cnv_vs_bnnpynq.py [--no-synth | --synth-only fastest|cheapest] [--no-sim] [--record]

For the folding bnnfpga chooses (the fastest that fits 80% of the board) and for the
cheapest one reaching BNN-PYNQ's 3,052 frames/s: frames/s from the cycle model, checked by
Verilator simulation of the whole generated design; LUT/FF/BRAM from the resource model and
from yosys `synth_xilinx` of every engine of the generated RTL (with its real weights);
frames/s per kLUT. Then a sweep of target frame rates (model), plotted as frames/s vs LUT
in benchmarks/cnv_vs_bnnpynq.png. Synthesis of the two designs takes 20-40 minutes.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from bnnfpga import api, rtlsim  # noqa: E402
from bnnfpga.boards import load_board  # noqa: E402
from bnnfpga.codegen import rtl  # noqa: E402
from bnnfpga.hw.cost_model import default_model  # noqa: E402
from bnnfpga.hw.fold import WeightMemory  # noqa: E402
from bnnfpga.hw.folding import Budget, FoldingSpace, estimate, search
from bnnfpga.hw.streams import pack_stream  # noqa: E402
from bnnfpga.nn import zoo  # noqa: E402
from bnnfpga.report import synthesis_totals  # noqa: E402
from bnnfpga.synth import synthesise_engines  # noqa: E402

HERE = Path(__file__).resolve().parent
CLOCK_MHZ = 100.0
BNN_PYNQ_BOUND = 3052
# Published figures for CNV-W1A1 on pynq-z2 (issue 9): name, frames/s, LUT, FF, BRAM36, latency (cycles).
PUBLISHED = [
    ("BNN-PYNQ (measured on the board)", 3039, 26072, None, 124, None),
    ("FINN estimate, finn-examples folding", 3051.76, 24015, None, 147 / 2, 250105),
    ("FINN estimate, target_fps=3000", 3028, 26795, None, None, None),
]
SWEEP_FPS = [250, 500, 1000, 2000, 3052, 5000, 7500, 10000, 15000, 20000, 30000]


def simulate(graph, folding, workdir: Path, frames: int = 3) -> tuple[float, bool]:
    """Steady-state cycles per frame of the whole design in Verilator, and bit-exactness."""
    from bnnfpga.hw.streams import accumulator_stream

    out = workdir / "rtl"
    rtl.generate(graph, out, folding, CLOCK_MHZ)
    x = api.random_inputs(graph.input_type, frames, seed=1)
    expected = accumulator_stream(api.backend_accumulators(graph, x, "golden")).reshape(-1)
    result = rtlsim.simulate(out, pack_stream(x, graph.input_type).reshape(frames, -1))
    return result.steady_cycles(), bool(np.array_equal(result.outputs, expected))


def estimate_process_seconds(model: Path) -> float:
    start = time.perf_counter()
    subprocess.run([shutil.which("bnnfpga") or "bnnfpga", "estimate", str(model), "--board", "pynq-z2", "--json"],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def plot(sweep: list[dict], chosen: dict, budget_lut: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot([s["lut"] for s in sweep], [s["fps"] for s in sweep], "o-", color="#4c72b0", label="bnnfpga (model), target sweep")
    ax.scatter([chosen["lut"]], [chosen["fps"]], marker="*", s=150, color="#55a868", zorder=3, label="bnnfpga, fastest that fits")
    for (name, fps, lut, _, _, _), marker in zip(PUBLISHED, ("s", "^", "v")):
        ax.scatter([lut], [fps], marker=marker, s=60, color="#c44e52", zorder=3, label=name)
    ax.axvline(budget_lut, color="#c44e52", linestyle="--", linewidth=1, label="80% of pynq-z2 LUTs")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("LUT")
    ax.set_ylabel(f"frames/s at {CLOCK_MHZ:g} MHz")
    ax.set_title("CNV-W1A1 on pynq-z2: frames/s vs LUT")
    ax.legend(fontsize=7, loc="lower right")
    fig.savefig(path, dpi=96, bbox_inches="tight", metadata={"Software": None})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-synth", action="store_true", help="skip yosys (model figures only)")
    parser.add_argument("--synth-only", choices=("fastest", "cheapest"),
                        help="synthesise only one of the two designs (the fastest one's widest MVUs can take yosys an hour)")
    parser.add_argument("--no-sim", action="store_true", help="skip the Verilator check of the cycle model")
    parser.add_argument("--record", action="store_true", help="write the tables to benchmarks/RESULTS.md")
    args = parser.parse_args()
    board = load_board("pynq-z2")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = zoo.export(zoo.build(zoo.CNV, seed=0), (3, 32, 32), tmp / "cnv.onnx", dynamo=False)
        graph = api.load(model)
        seconds = estimate_process_seconds(model)
        designs = [("fastest that fits 80%", search(graph, board, CLOCK_MHZ)),
                   (f"cheapest reaching {BNN_PYNQ_BOUND:,} frames/s", search(graph, board, CLOCK_MHZ, BNN_PYNQ_BOUND))]
        rows = ["| design | frames/s at 100 MHz | LUT | FF | BRAM36 | frames/s per kLUT | latency (cycles) | source |",
                "|---|---|---|---|---|---|---|---|"]
        for name, fps, lut, ff, bram, latency in PUBLISHED:
            rows.append(f"| {name} | {fps:,.0f} | {lut:,} | {ff or '-'} | {bram if bram is not None else '-'} "
                        f"| {fps / lut * 1000:.1f} | {f'{latency:,}' if latency else '-'} | published |")
        details = []
        for i, (name, result) in enumerate(designs):
            est = result.estimate
            t = est.totals
            folding = ", ".join(f"{k}={f.pe},{f.simd}" + ("" if f.weights is WeightMemory.AUTO else f",{f.weights.value}")
                                for k, f in est.folding.items())
            print(f"{name}: {est.fps:,.0f} frames/s, model {t['lut']:,.0f} LUT; folding {folding}", file=sys.stderr, flush=True)
            rows.append(f"| bnnfpga, {name} | {est.fps:,.0f} | {t['lut']:,.0f} | {t['ff']:,.0f} | {t['bram36']:g} "
                        f"| {est.fps / t['lut'] * 1000:.1f} | {est.latency_cycles:,} | model |")
            fps = est.fps  # the model's, until Verilator has measured it
            measured_fps = "-"
            if not args.no_sim:
                start = time.perf_counter()
                steady, exact = simulate(graph, est.folding, tmp / f"sim{i}")
                fps = CLOCK_MHZ * 1e6 / steady
                measured_fps = f"{fps:,.0f}"
                details.append(f"- {name}: Verilator {steady:g} cycles/frame vs model {est.cycles_per_frame:,} "
                               f"({100 * (steady - est.cycles_per_frame) / est.cycles_per_frame:+.2f}%), "
                               f"{'bit-exact' if exact else 'NOT bit-exact'}, {time.perf_counter() - start:.0f} s")
            if not args.no_synth and args.synth_only in (None, ("fastest", "cheapest")[i]):
                start = time.perf_counter()
                engines = synthesise_engines(est.flow, tmp / f"synth{i}",
                                             lambda text: print(f"  {text}", file=sys.stderr, flush=True))
                measured = synthesis_totals(engines)
                rows.append(f"| bnnfpga, {name} | {measured_fps} | {measured['lut']:,.0f} | {measured['ff']:,.0f} "
                            f"| {measured['bram36']:g} | {fps / measured['lut'] * 1000:.1f} | - | yosys per engine, Verilator |")
                details.append(f"- {name}: yosys {time.perf_counter() - start:.0f} s; model vs yosys LUT "
                               f"{100 * (t['lut'] - measured['lut']) / measured['lut']:+.1f}%, FF "
                               f"{100 * (t['ff'] - measured['ff']) / measured['ff']:+.1f}%, BRAM36 {t['bram36']:g} vs "
                               f"{measured['bram36']:g}")
            details.append(f"- {name}: folding (PE,SIMD) {folding}")
        # The cheapest design per target as the search prices them for this board (BRAM goes to
        # weights while tiles are left), whether or not it fits; the model's figures, no margin.
        space = FoldingSpace(graph, Budget.of(board), CLOCK_MHZ, default_model(), {})
        sweep = []
        for fps in SWEEP_FPS:
            cycles = math.floor(CLOCK_MHZ * 1e6 / fps)
            if cycles < space.floor:
                print(f"  {fps} frames/s: beyond the fastest design ({space.floor:,} cycles per frame)", file=sys.stderr)
                continue
            est = estimate(graph, space.folding_at(cycles), CLOCK_MHZ)
            sweep.append({"target": fps, "fps": est.fps, "lut": est.totals["lut"], "bram36": est.totals["bram36"],
                          "fits": est.fits(designs[0][1].budget)})
        sweep_rows = ["| target frames/s | frames/s | LUT (model) | BRAM36 (model) | frames/s per kLUT | fits 80% of pynq-z2 |",
                      "|---|---|---|---|---|---|"]
        sweep_rows += [f"| {s['target']:,} | {s['fps']:,.0f} | {s['lut']:,.0f} | {s['bram36']:g} | "
                       f"{s['fps'] / s['lut'] * 1000:.1f} | {'yes' if s['fits'] else 'no'} |" for s in sweep]
        chosen = designs[0][1].estimate
        plot(sweep, {"lut": chosen.totals["lut"], "fps": chosen.fps}, designs[0][1].budget.lut, HERE / "cnv_vs_bnnpynq.png")
    body = "\n".join(rows + ["", f"`bnnfpga estimate` for CNV as a whole process: {seconds:.2f} s.", *details, "",
                             "Sweep of target frame rates (the cheapest folding per target; plot: benchmarks/cnv_vs_bnnpynq.png):",
                             "", *sweep_rows])
    print(body)
    if args.record:
        record("CNV vs BNN-PYNQ and FINN (pynq-z2, 100 MHz)", body)


if __name__ == "__main__":
    main()
