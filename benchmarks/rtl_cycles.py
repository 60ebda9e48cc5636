"""Cycles per frame of generated RTL accelerators measured in Verilator (full-rate streaming,
frames back to back) next to the cycle model (codegen/engines.py: the slowest engine).

    python benchmarks/rtl_cycles.py [--frames 4] [--record]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from bnnfpga import api, rtlsim  # noqa: E402
from bnnfpga.codegen import rtl  # noqa: E402
from bnnfpga.hw.fold import choose_folding  # noqa: E402
from bnnfpga.hw.streams import accumulator_stream, pack_stream  # noqa: E402
from bnnfpga.nn import zoo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLOCK_MHZ = 100.0


def networks(tmp: Path):
    yield "digits CNN (examples/digits_cnn)", api.load(ROOT / "examples" / "digits_cnn" / "model.onnx")
    yield "CNV (BNN-PYNQ topology, seed 0)", api.load(zoo.export(zoo.build(zoo.CNV, seed=0), (3, 32, 32), tmp / "cnv.onnx", dynamo=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    rows = ["| network | folding rule | frames | measured cycles/frame | model | error | frames/s at 100 MHz | first-frame latency (cycles) | bit-exact | wall time (s) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, graph in networks(Path(tmp)):
            print(f"simulating {name} ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            out = Path(tmp) / f"rtl{len(rows)}"
            design = rtl.generate(graph, out, choose_folding(graph), CLOCK_MHZ)
            x = api.random_inputs(graph.input_type, args.frames, seed=1)
            expected = accumulator_stream(api.backend_accumulators(graph, x, "golden")).reshape(-1)
            result = rtlsim.simulate(out, pack_stream(x, graph.input_type).reshape(len(x), -1))
            steady, model = result.steady_cycles(), design["cycles_per_frame"]
            exact = bool((result.outputs == expected).all())
            rows.append(f"| {name} | PE≤16, SIMD≤32 | {args.frames} | {steady:g} | {model} | {100 * (steady - model) / model:+.2f}% "
                        f"| {CLOCK_MHZ * 1e6 / steady:,.0f} | {result.latencies()[0]} | {'yes' if exact else 'NO'} "
                        f"| {time.perf_counter() - start:.1f} |")
    table = "\n".join(rows)
    print(table)
    if args.record:
        record("RTL cycles per frame (Verilator)", table)


if __name__ == "__main__":
    main()
