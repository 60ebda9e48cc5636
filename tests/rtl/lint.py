"""Helper for the rtl tier: `verilator --lint-only -Wall` on one rtl/ module with parameters."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bnnfpga.rtlsim import library_sources, memory_parameters
from bnnfpga.toolchain import verilator_environment


def verilator_lint(module: str, params: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    """Lint rtl/<module>.sv, elaborated with ``params`` (-G overrides), among every library
    source. Memory parameters (``*_FILE``) not given get a file of zeros: the module cannot
    elaborate without them. Verilator reports an elaboration-time ``$error`` as the warning
    USERERROR, fatal without -Wno-fatal: a non-zero exit."""
    args = [f"-G{k}={v}" for k, v in params.items()]
    for param in memory_parameters(module):
        if param not in params:
            (tmp_path / f"{param}.mem").write_text("0\n")
            args.append(f'-G{param}="{tmp_path / param}.mem"')
    env = {**os.environ, **verilator_environment()}
    sources = [str(p) for p in library_sources()]
    return subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", module, *sources, *args],
                          capture_output=True, text=True, env=env)
