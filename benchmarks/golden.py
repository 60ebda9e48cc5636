"""Frames/s of the golden model and of onnxruntime on the BNN-PYNQ CNV topology, one core.

    python benchmarks/golden.py [--frames 256] [--record]

--record replaces the "golden" section of benchmarks/RESULTS.md with this run's table.
"""

from __future__ import annotations

import os

# One core for everyone: BLAS and onnxruntime read these before they start threads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from results import record  # noqa: E402

from bnnfpga import api, golden  # noqa: E402
from bnnfpga.nn import zoo  # noqa: E402
from bnnfpga.report import format_table  # noqa: E402


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="write the table into benchmarks/RESULTS.md")
    args = parser.parse_args()

    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        path = zoo.export(zoo.build(zoo.CNV, seed=0), (3, 32, 32), Path(tmp) / "cnv.onnx", dynamo=False, dynamic_batch=True)
        graph = api.load(path)
        x = api.random_inputs(graph.input_type, args.frames, seed=1)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        xf = x.astype(np.float32)

        rows, outputs = [], {}
        for batch in (1, 64):
            def run_ort():
                outputs["ort"] = np.concatenate([session.run(None, {"x": xf[i : i + batch]})[0] for i in range(0, len(xf), batch)])

            run_ort()  # warm-up
            rows.append(("onnxruntime", "float32 (MLAS)", batch, args.frames / best_of(args.runs, run_ort)))
        for route in golden.executor.ROUTES:
            def run_golden():
                outputs[route] = golden.execute(graph, x, route=route)[graph.output_name]

            run_golden()
            rows.append(("bnnfpga golden", route, golden.executor.BATCH, args.frames / best_of(args.runs, run_golden)))

    routes = golden.executor.ROUTES
    agree = all(np.array_equal(outputs[r].argmax(1), outputs["ort"].argmax(1)) for r in routes)
    exact = all(np.array_equal(outputs[r], outputs["packed"]) for r in routes)
    ort_64 = next(fps for e, r, b, fps in rows if e == "onnxruntime" and b == 64)
    auto = next(fps for e, r, b, fps in rows if r == "auto")
    table = format_table(
        ("engine", "route", "batch", "frames/s", "ms/frame"),
        [(e, r, str(b), f"{fps:,.1f}", f"{1000 / fps:.2f}") for e, r, b, fps in rows],
        markdown=True,
    )
    summary = (f"CNV (BNN-PYNQ topology, random weights, seed 0), {args.frames} frames, best of {args.runs}, "
               f"one thread. Top-1 golden = onnxruntime on all frames: {agree}; the routes agree exactly: {exact}. "
               f"predict's route (auto) / onnxruntime at batch 64: {auto / ort_64:.2f}x.")
    print(table)
    print(summary)
    if args.record:
        record("golden", table + "\n\n" + summary)
    return 0 if agree and exact else 1


if __name__ == "__main__":
    sys.exit(main())
