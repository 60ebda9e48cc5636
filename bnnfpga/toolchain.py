"""Finds the external tools bnnfpga runs, with a clear error when one is missing."""

from __future__ import annotations

import importlib.util
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
