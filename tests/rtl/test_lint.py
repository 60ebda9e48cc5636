"""`verilator --lint-only -Wall` is clean on every rtl/ module."""

from __future__ import annotations

import os
import subprocess

import pytest

from bnnfpga.rtlsim import rtl_dir
from bnnfpga.toolchain import verilator_environment

MODULES = sorted(p.stem for p in rtl_dir().glob("*.sv"))
# Parameters a module cannot be elaborated without (memory initialisation files).
MEMORY_FILES = {"bnn_mvu": ("WEIGHTS_FILE", "THRESHOLDS_FILE", "CONSTANTS_FILE")}


@pytest.mark.parametrize("module", MODULES)
def test_lint_clean(module, tmp_path):
    args = []
    for param in MEMORY_FILES.get(module, ()):
        (tmp_path / f"{param}.mem").write_text("0\n")
        args.append(f'-G{param}="{tmp_path / param}.mem"')
    env = {**os.environ, **verilator_environment()}
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", str(rtl_dir() / f"{module}.sv"), *args],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


def test_every_module_is_linted():
    assert {"bnn_mvu", "bnn_axis_fifo", "bnn_swg"} <= set(MODULES)
