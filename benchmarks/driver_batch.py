"""Frames/s through the PYNQ driver, data movement included (packing, the transfers, unpacking,
the host's nodes), in batches of 1 and of 64 frames: the rtl backend (Verilator; the whole
batch one stream with TLAST after its last frame, as the board's DMA moves it) and the golden
backend. The example digits CNN, compiled for pynq-z2.

    python benchmarks/driver_batch.py [--frames 64] [--record]

--record replaces the "Driver batches" section of benchmarks/RESULTS.md with this run's table.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

from results import record

from bnnfpga import api
from bnnfpga.report import format_table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "digits_cnn"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        api.compile_model(EXAMPLE / "model.onnx", out, board="pynq-z2")
        spec = importlib.util.spec_from_file_location("bnnfpga_driver", out / "deploy" / "driver" / "bnnfpga_driver.py")
        driver = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(driver)
        for backend in ("rtl", "golden"):
            accel = driver.Accelerator(backend=backend)
            accel.run(api.random_frames(api.load_graph(out), 2))  # builds (rtl: Verilator, cached) before timing
            for batch in (1, args.frames):
                print(f"{backend}: {args.frames} frames in batches of {batch} ...", file=sys.stderr, flush=True)
                r = accel.throughput(args.frames, batch=batch)
                rows.append([backend, str(batch), f"{r['fps']:.1f}", f"{1000 * args.frames / r['fps']:.0f}"])
    body = (f"The digits CNN's deployment driver (`Accelerator.throughput({args.frames}, batch=B)`), everything "
            "included: frame packing, the transfers (rtl: one Verilator run per batch, TLAST after the batch's last "
            "frame), unpacking and the host's output affine.\n\n"
            + format_table(("backend", "batch", "frames/s", f"ms for {args.frames} frames"), rows))
    print(body)
    if args.record:
        record("Driver batches (data movement included)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
