"""C simulation of the generated HLS project for the CNV-sized model: g++ build time (no
cache), simulation time per frame, and bit-exactness against the golden model.

    python benchmarks/csim.py [--frames 4] [--record]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results import record

from bnnfpga import api, csim
from bnnfpga.boards import load_board
from bnnfpga.codegen import hls
from bnnfpga.hw.fold import choose_folding
from bnnfpga.hw.streams import accumulator_stream, pack_stream
from bnnfpga.nn import zoo
from bnnfpga.report import format_table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--record", action="store_true", help="write the table into benchmarks/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["BNNFPGA_CACHE"] = str(tmp / "cache")  # measure a cold build
        path = zoo.export(zoo.build(zoo.CNV, seed=0), (3, 32, 32), tmp / "cnv.onnx", dynamo=False)
        graph = api.load(path)
        folding = choose_folding(graph)
        t = time.perf_counter()
        hls.generate(graph, tmp / "hls", load_board("pynq-z2"), folding)
        generate_s = time.perf_counter() - t
        print(f"generated {sum(1 for _ in (tmp / 'hls').rglob('*'))} files in {generate_s:.2f} s; compiling…", file=sys.stderr)
        t = time.perf_counter()
        binary, _ = csim.build(tmp / "hls")
        build_s = time.perf_counter() - t
        x = api.random_inputs(graph.input_type, args.frames, seed=1)
        expected = accumulator_stream(api.backend_accumulators(graph, x, "golden"))
        t = time.perf_counter()
        words = csim.run(binary, pack_stream(x, graph.input_type))
        run_s = time.perf_counter() - t
        exact = np.array_equal(words.reshape(expected.shape), expected)
        gxx = subprocess.run([csim.gxx(), "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    table = format_table(
        ("model", "generate (s)", "g++ build (s)", "csim frames", "csim s/frame", "bit-exact vs golden"),
        [("CNV (BNN-PYNQ topology)", f"{generate_s:.2f}", f"{build_s:.1f}", str(args.frames),
          f"{run_s / args.frames:.2f}", "yes" if exact else "NO")],
        markdown=True,
    )
    summary = (f"Folding: the default rule (PE ≤ 16, SIMD ≤ 32). Compiler: {gxx}, flags {' '.join(csim.CXXFLAGS)}; "
               "one core. For comparison: hls4ml's C simulation of a CNV-sized binary net had not built after "
               "21 minutes and 5 GB of g++ (DEVELOPERS.md).")
    print(table)
    print(summary)
    if args.record:
        record("csim", table + "\n\n" + summary)
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
