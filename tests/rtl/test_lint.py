"""`verilator --lint-only -Wall` is clean on every rtl/ module, and every rtl/ source (and the
generated top's template) declares its nets: `default_nettype none, wire input ports."""

from __future__ import annotations

import re

import pytest

from bnnfpga.rtlsim import memory_parameters, rtl_dir
from tests.rtl.lint import verilator_lint

MODULES = sorted(p.stem for p in rtl_dir().glob("*.sv"))


# Modes besides the defaults: ternary weights and k-bit outputs, k-bit max-pool and thresholds.
MODES = {
    "bnn_mvu-ternary-2bit": ("bnn_mvu", {"W_BITS": 2, "LEVELS": 3, "OUT_BITS": 2, "BASE": 0}),
    "bnn_mvu-ternary-kbit-in-signed-out": ("bnn_mvu", {"W_BITS": 2, "IN_BITS": 2, "IN_BIPOLAR": 0, "IN_SIGNED": 1,
                                                       "LEVELS": 2, "OUT_BITS": 2, "BASE": -1}),
    "bnn_mvu-ternary-in": ("bnn_mvu", {"W_BITS": 2, "IN_BITS": 2, "IN_BIPOLAR": 0, "IN_SIGNED": 1, "IN_TERNARY": 1,
                                       "LEVELS": 2, "OUT_BITS": 2, "BASE": -1}),
    "bnn_mvu-int4-weights-bipolar-in": ("bnn_mvu", {"W_BITS": 4}),
    "bnn_mvu-int4-weights-ternary-in": ("bnn_mvu", {"W_BITS": 4, "IN_BITS": 2, "IN_BIPOLAR": 0, "IN_SIGNED": 1, "IN_TERNARY": 1,
                                                    "LEVELS": 2, "OUT_BITS": 2, "BASE": -1}),
    "bnn_mvu-int3-weights-kbit-in": ("bnn_mvu", {"W_BITS": 3, "IN_BITS": 2, "IN_BIPOLAR": 0, "LEVELS": 3, "OUT_BITS": 2}),
    "bnn_mvu-gained-bipolar-in": ("bnn_mvu", {"W_BITS": 2, "GAINED": 1, "ACC_W": 14, "PLANE_W": 6, "GAIN_W": 7}),
    "bnn_mvu-gained-kbit-in": ("bnn_mvu", {"W_BITS": 2, "GAINED": 1, "IN_BITS": 2, "IN_BIPOLAR": 0, "ACC_W": 16, "PLANE_W": 7,
                                           "GAIN_W": 8, "LEVELS": 3, "OUT_BITS": 2}),
    "bnn_sumpool-bipolar": ("bnn_sumpool", {"IN_BITS": 1, "IN_BIPOLAR": 1, "OUT_BITS": 3}),
    "bnn_sumpool-global": ("bnn_sumpool", {"KH": 4, "KW": 4, "SH": 4, "SW": 4, "OUT_BITS": 6}),
    "bnn_sumpool-signed-padded": ("bnn_sumpool", {"IN_BITS": 2, "IN_SIGNED": 1, "OUT_BITS": 5, "KH": 3, "KW": 3, "SH": 1, "SW": 1,
                                                  "PT": 1, "PL": 1, "PB": 1, "PR": 1}),
    "bnn_maxpool-2bit": ("bnn_maxpool", {"IN_BITS": 2, "IN_SIGNED": 1}),
    "bnn_threshold-2bit": ("bnn_threshold", {"LEVELS": 3, "OUT_BITS": 2, "BASE": 0}),
    "bnn_mvu-int8-weights-kbit-in": ("bnn_mvu", {"W_BITS": 8, "IN_BITS": 6, "IN_BIPOLAR": 0, "ACC_W": 20, "T_W": 21,
                                                 "LEVELS": 63, "OUT_BITS": 6}),
    "bnn_mvu-pow2-bipolar-in": ("bnn_mvu", {"W_BITS": 5, "W_POW2": 1, "ACC_W": 14}),
    "bnn_mvu-pow2-kbit-in": ("bnn_mvu", {"W_BITS": 4, "W_POW2": 1, "IN_BITS": 8, "IN_BIPOLAR": 0, "ACC_W": 18, "LEVELS": 3,
                                         "OUT_BITS": 2}),
    "bnn_mvu-bases-bipolar-in": ("bnn_mvu", {"W_BITS": 3, "BASES": 3, "ACC_W": 40, "PLANE_W": 6, "GAIN_W": 30}),
    "bnn_mvu-bases-kbit-in": ("bnn_mvu", {"W_BITS": 2, "BASES": 2, "IN_BITS": 2, "IN_BIPOLAR": 0, "ACC_W": 48, "PLANE_W": 7,
                                          "GAIN_W": 40, "LEVELS": 3, "OUT_BITS": 2}),
    "bnn_mvu-residual-planes": ("bnn_mvu", {"IN_BITS": 2, "IN_BIPOLAR": 0, "IN_SIGNED": 1, "IN_TERNARY": 1, "RESIDUAL": 3, "ACC_W": 28, "PLANE_W": 5,
                                            "GAIN_W": 20, "LEVELS": 3, "OUT_BITS": 2, "PADDED": 0}),
    "bnn_mvu-residual-one-plane": ("bnn_mvu", {"IN_BITS": 2, "IN_BIPOLAR": 0, "IN_SIGNED": 1, "IN_TERNARY": 1, "RESIDUAL": 1, "ACC_W": 14, "PLANE_W": 5,
                                               "GAIN_W": 8, "PADDED": 0}),
    "bnn_residual_binarizer-bipolar": ("bnn_residual_binarizer", {"N": 27, "SIMD": 9, "IN_BITS": 1, "IN_BIPOLAR": 1,
                                                                  "ORDER": 2, "S_W": 7, "GAIN_W": 10, "GAIN_SHIFT": 3}),
    "bnn_mvu-border-classes": ("bnn_mvu", {"OUT_H": 5, "OUT_W": 4, "ROW_CLASSES": 3, "COL_CLASSES": 2, "LEVELS": 3,
                                           "OUT_BITS": 2}),
    "bnn_output-bipolar": ("bnn_output", {"IN_BITS": 1, "IN_SIGNED": 0, "IN_BIPOLAR": 1}),
    "bnn_output-kbit": ("bnn_output", {"IN_BITS": 3, "IN_SIGNED": 0}),
    "bnn_add-shifted-mixed": ("bnn_add", {"A_BITS": 4, "A_SIGNED": 0, "SHIFT_A": 2, "B_BITS": 6, "OUT_BITS": 8}),
    "bnn_concat-bipolar": ("bnn_concat", {"A_BITS": 1, "B_BITS": 1, "A_SIGNED": 0, "B_SIGNED": 0, "IN_BIPOLAR": 1,
                                          "OUT_BITS": 1}),
    "bnn_concat-widening": ("bnn_concat", {"A_BITS": 3, "B_BITS": 5, "OUT_BITS": 6}),
    "bnn_label_select-top3-smallest": ("bnn_label_select", {"K": 3, "LARGEST": 0, "IN_BITS": 17}),
}


@pytest.mark.parametrize("module", MODULES + list(MODES))
def test_lint_clean(module, tmp_path):
    module, params = MODES.get(module, (module, {}))
    proc = verilator_lint(module, params, tmp_path)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


def test_every_module_is_linted():
    assert {"bnn_mvu", "bnn_threshold", "bnn_integer_affine", "bnn_maxpool", "bnn_sumpool", "bnn_axis_fifo", "bnn_swg",
            "bnn_input", "bnn_output", "bnn_width_converter"} <= set(MODULES)
    assert memory_parameters("bnn_mvu") == ["WEIGHTS_FILE", "THRESHOLDS_FILE", "CONSTANTS_FILE", "GAINS_FILE",
                                            "ROW_CLASS_FILE", "COL_CLASS_FILE"]


SOURCES = sorted(rtl_dir().glob("*.sv")) + [rtl_dir() / "templates" / "top.sv.j2"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_nets_are_declared(path):
    """`default_nettype none before the module (an undeclared name is an error, not a new 1-bit
    wire), `default_nettype wire after it (files compiled later are unaffected), and input ports
    declared `wire`: under `default_nettype none an input port without a net type is an error
    (IEEE 1800-2017 23.2.2.3; Vivado's xsim enforces it, Verilator and yosys do not)."""
    text = path.read_text()
    module = text.index("\nmodule ")
    assert "`default_nettype none" in text[:module]
    assert text.rstrip().endswith("endmodule\n\n`default_nettype wire")
    inputs = re.findall(r"^\s*input\s+(\w+)", text[module:text.index("\n);", module)], re.M)
    assert inputs and set(inputs) == {"wire"}, inputs
