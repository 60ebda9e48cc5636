"""Every quantization scheme of bnnfpga.nn trained on digits, then compiled for a board.

    python benchmarks/schemes.py [--epochs 15] [--board pynq-z2] [--fps 250000] [--synth] [--record]

Each scheme is the example of the same name in examples/schemes/ (a 64 → 128 → 64 → 10 MLP
with the scheme's layers, trained with bnnfpga.nn's loop on scikit-learn's digits, exported
by torch's legacy exporter): test accuracy (onnxruntime, 540 held-out digits), whether the
golden model predicts every digit as onnxruntime does, and the folding search's design for
the board (the fastest that fits): frames/s at the board clock, LUT, FF and BRAM36 from the
resource model calibrated on yosys, DSP slices (no engine uses one).

Then INQ's 5-bit power-of-two weights against the same network at 8-bit weights (IntLinear,
the same 4-bit activations), both folded as the cheapest design that reaches ``--fps``: what
the shift-and-add engine saves over 8-bit products in LUTs at equal throughput. With
``--synth`` both designs are also synthesised by yosys (synth_xilinx, engine by engine):
measured LUT, FF, BRAM36 and DSP cells.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

import torch

from bnnfpga import api
from bnnfpga.boards import load_board
from bnnfpga.nn import PACT, IntLinear
from bnnfpga.report import format_table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "examples" / "schemes"))
import abc_net  # noqa: E402
import bnn  # noqa: E402
import bwn  # noqa: E402
import common  # noqa: E402
import dorefa  # noqa: E402
import horq  # noqa: E402
import hwgq  # noqa: E402
import inq  # noqa: E402
import pact  # noqa: E402
import ttq  # noqa: E402
import twn  # noqa: E402
import xnor  # noqa: E402
from results import record  # noqa: E402

# (name, model builder, training): the examples' own
SCHEMES = [
    ("BNN", bnn.build, common.train), ("XNOR-Net", xnor.build, common.train),
    ("BinaryConnect/BWN (4-bit act.)", bwn.build, common.train), ("TWN", twn.build, common.train),
    ("TTQ", ttq.build, common.train), ("DoReFa W2A2", dorefa.build, common.train),
    ("PACT W4A4", pact.build, common.train), ("HWGQ (2-bit)", hwgq.build, common.train),
    *((f"INQ {bits}-bit (4-bit act.)", functools.partial(inq.build, bits), common.train_inq) for bits in (5, 4, 3)),
    ("ABC-Net M=3, N=2", abc_net.build, common.train),
    ("HORQ order 2 (2-bit act.)", horq.build, common.train),
]


def int8_twin():
    """The INQ example's network with 8-bit weights instead of powers of two."""
    return common.mlp(functools.partial(IntLinear, bits=8), functools.partial(PACT, 4, 3.0))


def synthesise(path: Path, args) -> tuple[float, ...]:
    """yosys totals (LUT, FF, BRAM36, DSP, seconds) of the design the comparison folds."""
    graph = api.load(path)
    searched = api.fold_for_board(graph, load_board(args.board), target_fps=args.fps)
    start = time.perf_counter()
    engines = api.synthesise_estimate(searched, progress=sys.stderr)
    return (sum(e.lut for e in engines), sum(e.ff for e in engines), sum(e.bram36 for e in engines),
            sum(e.dsp for e in engines), time.perf_counter() - start)


def row(label: str, o: common.Outcome) -> list[str]:
    return [label, o.weights, o.activations, f"{100 * o.accuracy:.1f}%", "yes" if o.same_predictions else "NO",
            f"{o.fps:,.0f}", f"{o.lut:,.0f}", f"{o.ff:,.0f}", f"{o.bram:g}", f"{o.dsp:g}"]


HEADER = ["scheme", "weights", "activations", "accuracy", "golden = ORT", "frames/s", "LUT", "FF", "BRAM36", "DSP"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--board", default="pynq-z2")
    parser.add_argument("--fps", type=float, default=250_000, help="throughput of the INQ vs 8-bit comparison")
    parser.add_argument("--synth", action="store_true", help="synthesise the INQ and 8-bit designs with yosys")
    parser.add_argument("--record", action="store_true", help="write the tables to benchmarks/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, twins, synthesised = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, build, train) in enumerate(SCHEMES):
            start = time.perf_counter()
            print(f"[{i + 1}/{len(SCHEMES)}] {label}: training {args.epochs} epochs ...", file=sys.stderr, flush=True)
            torch.manual_seed(0)  # as the example does: each row is what its script prints
            model = train(build(), args.epochs)
            rows.append(row(label, common.evaluate(f"s{i}", model, Path(tmp), args.board)))
            if label.startswith("INQ 5-bit"):
                twins.append(row(f"INQ 5-bit at {args.fps:,.0f} frames/s",
                                 common.evaluate("inq5", model, Path(tmp), args.board, args.fps)))
                if args.synth:
                    synthesised.append(synthesise(Path(tmp) / "inq5.onnx", args))
            print(f"    {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        print("[twin] 8-bit weights, same network ...", file=sys.stderr, flush=True)
        torch.manual_seed(0)
        twin = common.train(int8_twin(), args.epochs)
        twins.append(row(f"8-bit weights at {args.fps:,.0f} frames/s",
                         common.evaluate("int8", twin, Path(tmp), args.board, args.fps)))
        if args.synth:
            synthesised.append(synthesise(Path(tmp) / "int8.onnx", args))
    table = format_table(HEADER, rows)
    comparison = format_table(HEADER, twins)
    print(table)
    print()
    print(comparison)
    measured = ""
    if args.synth:
        measured = format_table(["design", "LUT", "FF", "BRAM36", "DSP", "yosys s"],
                                [[name, *(f"{v:,.0f}" for v in figures)] for name, figures
                                 in zip(("INQ 5-bit", "8-bit weights"), synthesised)])
        print()
        print(measured)
    if args.record:
        body = (f"64 → 128 → 64 → 10 MLPs on scikit-learn's digits (1,257 training, 540 test), {args.epochs} epochs "
                f"(INQ: {args.epochs} in float, then its 50/75/87.5/100% schedule with {max(1, args.epochs // 2)} "
                f"epochs between steps), compiled for {args.board} (the fastest folding that fits; LUT/FF/BRAM from "
                "the yosys-calibrated resource model):\n\n```\n" + table + "\n```\n\n"
                f"INQ 5-bit (power-of-two codes, shift-and-add) against the same network with 8-bit weights "
                f"(two's complement, shift-add products), each the cheapest folding reaching {args.fps:,.0f} frames/s:"
                "\n\n```\n" + comparison + "\n```"
                + (f"\n\nThe same two designs synthesised by yosys (synth_xilinx, engine by engine):\n\n```\n{measured}\n```"
                   if measured else ""))
        record(f"Quantization schemes on digits ({args.board})", body)


if __name__ == "__main__":
    main()
