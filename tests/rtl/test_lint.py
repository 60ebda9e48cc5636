"""`verilator --lint-only -Wall` is clean on every rtl/ module."""

from __future__ import annotations

import os
import subprocess

import pytest

from bnnfpga.rtlsim import library_sources, memory_parameters, rtl_dir
from bnnfpga.toolchain import verilator_environment

MODULES = sorted(p.stem for p in rtl_dir().glob("*.sv"))


# Modes besides the defaults: ternary weights and k-bit outputs, k-bit max-pool and thresholds.
MODES = {
    "bnn_mvu-ternary-2bit": ("bnn_mvu", {"W_BITS": 2, "LEVELS": 3, "OUT_BITS": 2, "BASE": 0}),
    "bnn_mvu-ternary-kbit-in-signed-out": ("bnn_mvu", {"W_BITS": 2, "BITS": 2, "BIPOLAR": 0, "SIGNED_IN": 1,
                                                       "LEVELS": 2, "OUT_BITS": 2, "BASE": -1}),
    "bnn_mvu-ternary-in": ("bnn_mvu", {"W_BITS": 2, "BITS": 2, "BIPOLAR": 0, "SIGNED_IN": 1, "TERNARY_IN": 1,
                                       "LEVELS": 2, "OUT_BITS": 2, "BASE": -1}),
    "bnn_mvu-int4-weights-bipolar-in": ("bnn_mvu", {"W_BITS": 4}),
    "bnn_mvu-int4-weights-ternary-in": ("bnn_mvu", {"W_BITS": 4, "BITS": 2, "BIPOLAR": 0, "SIGNED_IN": 1, "TERNARY_IN": 1,
                                                    "LEVELS": 2, "OUT_BITS": 2, "BASE": -1}),
    "bnn_mvu-int3-weights-kbit-in": ("bnn_mvu", {"W_BITS": 3, "BITS": 2, "BIPOLAR": 0, "LEVELS": 3, "OUT_BITS": 2}),
    "bnn_mvu-gained-bipolar-in": ("bnn_mvu", {"W_BITS": 2, "GAINED": 1, "ACC_W": 14, "PLANE_W": 6, "GAIN_W": 7}),
    "bnn_mvu-gained-kbit-in": ("bnn_mvu", {"W_BITS": 2, "GAINED": 1, "BITS": 2, "BIPOLAR": 0, "ACC_W": 16, "PLANE_W": 7,
                                           "GAIN_W": 8, "LEVELS": 3, "OUT_BITS": 2}),
    "bnn_sumpool-bipolar": ("bnn_sumpool", {"BITS": 1, "IN_BIPOLAR": 1, "OUT_BITS": 3}),
    "bnn_sumpool-global": ("bnn_sumpool", {"KH": 4, "KW": 4, "SH": 4, "SW": 4, "OUT_BITS": 6}),
    "bnn_sumpool-signed-padded": ("bnn_sumpool", {"BITS": 2, "SIGNED": 1, "OUT_BITS": 5, "KH": 3, "KW": 3, "SH": 1, "SW": 1,
                                                  "PT": 1, "PL": 1, "PB": 1, "PR": 1}),
    "bnn_maxpool-2bit": ("bnn_maxpool", {"BITS": 2, "SIGNED": 1}),
    "bnn_threshold-2bit": ("bnn_threshold", {"LEVELS": 3, "OUT_BITS": 2, "BASE": 0}),
}


@pytest.mark.parametrize("module", MODULES + list(MODES))
def test_lint_clean(module, tmp_path):
    module, params = MODES.get(module, (module, {}))
    args = [f"-G{k}={v}" for k, v in params.items()]
    for param in memory_parameters(module):  # cannot elaborate without them
        (tmp_path / f"{param}.mem").write_text("0\n")
        args.append(f'-G{param}="{tmp_path / param}.mem"')
    env = {**os.environ, **verilator_environment()}
    sources = [str(p) for p in library_sources()]
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", module, *sources, *args],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


def test_every_module_is_linted():
    assert {"bnn_mvu", "bnn_threshold", "bnn_integer_affine", "bnn_maxpool", "bnn_sumpool", "bnn_axis_fifo", "bnn_swg",
            "bnn_input", "bnn_output", "bnn_width_converter"} <= set(MODULES)
    assert memory_parameters("bnn_mvu") == ["WEIGHTS_FILE", "THRESHOLDS_FILE", "CONSTANTS_FILE", "GAINS_FILE"]
