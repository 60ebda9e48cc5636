"""A binary ResNet-style network on CIFAR-size frames, compiled for pynq-z2 and zcu104.

    python benchmarks/residual.py [--channels 32] [--bits 4] [--sim] [--record]

The network (bnnfpga.nn.zoo.BiRealNet): 3×32×32 pixels → binary 3×3 stem conv → 8-bit levels,
eight Bi-Real blocks (binary 3×3 conv, batchnorm, 8-bit branch quantizer, integer shortcut
add, 8-bit requantisation; blocks 3 and 6 at stride 2 with a 2×2 average-pool shortcut),
global average pool, sign, binary classifier: nine binary 3×3 convs, eight shortcuts
(docs/DESIGN.md 3.15); ``--channels`` per block, ``--bits`` per shortcut level. Untrained (batchnorm calibrated on random frames): the figures are
the hardware's, which do not depend on the weights' values.

For each board, the folding search's design: cycles per frame and frames/s at the board
clock, LUT and BRAM from the resource model (calibrated on yosys), and the deepest FIFO
behind a fork. With ``--sim`` the pynq-z2 design is also simulated in Verilator (4 frames,
full rate): measured cycles per frame next to the model, outputs checked against golden.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bnnfpga import api, rtlsim
from bnnfpga.boards import load_board
from bnnfpga.codegen import rtl
from bnnfpga.errors import BnnfpgaError
from bnnfpga.hw.fifo_sizing import fork_fifos
from bnnfpga.hw.streams import accumulator_stream, pack_stream
from bnnfpga.nn import zoo
from bnnfpga.report import format_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

SHAPE = (3, 32, 32)
BOARDS = ("pynq-z2", "zcu104")


def build_model(directory: Path, bits: int, channels: int) -> Path:
    # the levels cover about ±4 (batchnorm outputs), at any width
    model = zoo.build(zoo.BiRealNet, seed=0, channels=channels, blocks=8, downsample=(2, 5), bits=bits,
                      scale=2.0 ** (3 - bits))
    zoo.calibrate_on_random_frames(model, SHAPE)
    zoo.randomize_batchnorm(model.classifier, seed=1)
    return zoo.export(model, SHAPE, directory / "resnet_style.onnx", dynamo=False)


def simulate(graph, folding, clock_mhz: float, directory: Path) -> tuple[float, bool]:
    """Measured steady-state cycles per frame of the generated RTL, and whether it is bit-exact."""
    out = directory / "rtl"
    rtl.generate(graph, out, folding, clock_mhz)
    x = api.random_frames(graph, 4, seed=1)
    expected = accumulator_stream(api.backend_accumulators(graph, x, "golden")).reshape(-1)
    frames = pack_stream(api.accelerator_input(graph, x), graph.input_type).reshape(len(x), -1)
    result = rtlsim.simulate(out, frames, expected)
    return result.steady_cycles(), bool(np.array_equal(result.outputs, expected))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", action="store_true", help="simulate the pynq-z2 design in Verilator")
    parser.add_argument("--bits", type=int, default=4, help="bits of the shortcut levels (8: 255 thresholds per channel)")
    parser.add_argument("--channels", type=int, default=32, help="channels of every block")
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        graph = api.load(build_model(Path(tmp), args.bits, args.channels))
        convs = sum(1 for n in graph.nodes if type(n.op).__name__ == "Conv")
        adds = sum(1 for n in graph.nodes if type(n.op).__name__ == "Add")
        for name in BOARDS:
            board = load_board(name)
            print(f"{name}: folding search ...", file=sys.stderr, flush=True)
            try:
                searched = api.fold_for_board(graph, board)
            except BnnfpgaError as error:  # the smallest folding does not fit the board
                rows.append([name, f"{board.clock_mhz:g}", "-", "-", "-", str(error).split(";")[0], "-", "-"])
                continue
            est = searched.estimate
            r = est.resources
            deepest = max(max(f.depths) for f in fork_fifos(est.flow))
            measured = "-"
            if args.sim and name == BOARDS[0]:
                print(f"{name}: Verilator ...", file=sys.stderr, flush=True)
                start = time.perf_counter()
                steady, exact = simulate(graph, est.folding, board.clock_mhz, Path(tmp))
                measured = f"{steady:g} ({100 * (steady - est.cycles_per_frame) / est.cycles_per_frame:+.1f}%)" + \
                    ("" if exact else " NOT bit-exact")
                print(f"  {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
            rows.append([name, f"{board.clock_mhz:g}", f"{est.cycles_per_frame:,}", measured, f"{est.fps:,.0f}",
                         f"{r.lut:,.0f} / {board.resources['lut']:,}", f"{r.bram36:g} / {board.resources['bram36']:g}", str(deepest)])
    body = (f"A binary ResNet-style network, 3×32×32 frames: {convs} binary 3×3 convs, {adds} integer shortcut adds "
            f"(two on 2×2 average-pool shortcuts at stride 2), {args.channels} channels, {args.bits}-bit shortcuts; the folding search's "
            "design per board (LUT and BRAM from the resource model).\n\n"
            + format_table(("board", "MHz", "cycles/frame (model)", "cycles/frame (Verilator)", "frames/s", "LUT",
                            "BRAM36", "deepest fork FIFO"), rows, markdown=True))
    print(body)
    if args.record:
        record(f"Residual network (Bi-Real style, CIFAR size, {args.channels} channels, {args.bits}-bit shortcuts)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
