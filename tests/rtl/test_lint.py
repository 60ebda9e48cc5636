"""`verilator --lint-only -Wall` is clean on every rtl/ module."""

from __future__ import annotations

import os
import subprocess

import pytest

from bnnfpga.rtlsim import library_sources, memory_parameters, rtl_dir
from bnnfpga.toolchain import verilator_environment

MODULES = sorted(p.stem for p in rtl_dir().glob("*.sv"))


@pytest.mark.parametrize("module", MODULES)
def test_lint_clean(module, tmp_path):
    args = []
    for param in memory_parameters(module):  # cannot elaborate without them
        (tmp_path / f"{param}.mem").write_text("0\n")
        args.append(f'-G{param}="{tmp_path / param}.mem"')
    env = {**os.environ, **verilator_environment()}
    sources = [str(p) for p in library_sources()]
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", module, *sources, *args],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


def test_every_module_is_linted():
    assert {"bnn_mvu", "bnn_threshold", "bnn_integer_affine", "bnn_maxpool", "bnn_axis_fifo", "bnn_swg", "bnn_input",
            "bnn_output", "bnn_width_converter"} <= set(MODULES)
    assert memory_parameters("bnn_mvu") == ["WEIGHTS_FILE", "THRESHOLDS_FILE", "CONSTANTS_FILE"]
