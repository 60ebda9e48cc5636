"""One typed object per engine instance (bnnfpga/hw/modules.py): the RTL parameter list and
the HLS template arguments are both rendered from it, and say the same thing."""

from __future__ import annotations

import pytest

from bnnfpga.codegen.hls import template_arguments
from bnnfpga.codegen.rtl import rtl_parameters
from bnnfpga.data import data_dir
from bnnfpga.hw import cost_model
from bnnfpga.hw.fold import choose_folding
from bnnfpga.hw.lower import lower
from bnnfpga.hw.modules import MODULE_TYPES, FifoParams, MvuParams, instance_of
from bnnfpga.ir.types import BIPOLAR, TERNARY
from bnnfpga.rtlsim import library_parameters
from tests.graphs import CONV_CASES, conv_net

# Every configuration the resource model was calibrated on: all module types, element types,
# weight codes, gains, windows.
CONFIGS = [p["params"] for p in cost_model.load_calibration()["points"]]


def test_every_module_type_is_covered():
    assert {type(p) for p in CONFIGS} == set(MODULE_TYPES)


@pytest.mark.parametrize("params", CONFIGS, ids=lambda p: p.module)
def test_the_rtl_parameters_exist_in_the_module(params):
    assert set(rtl_parameters(params)) <= set(library_parameters(params.module))


@pytest.mark.parametrize("params", [p for p in CONFIGS if not isinstance(p, FifoParams)], ids=lambda p: p.module)
def test_rtl_and_hls_render_the_same_element_type(params):
    """(HLS has no FIFO function: its streams are the FIFOs.)"""
    rtl, hls = rtl_parameters(params), template_arguments(params)
    for name in ("IN_BITS", "IN_SIGNED", "IN_BIPOLAR", "IN_TERNARY"):
        if name in rtl:
            value = hls[name.lower()]
            assert str(rtl[name]) == (str(value) if isinstance(value, int) else "1'b1" if value == "true" else "1'b0")


def test_the_element_type_has_one_spelling_in_every_module():
    """No module keeps an older spelling of the input element type."""
    for path in data_dir("rtl").glob("bnn_*.sv"):
        assert not set(library_parameters(path.stem)) & {"BITS", "SIGNED", "SIGNED_IN", "BIPOLAR", "TERNARY_IN"}, path.stem


@pytest.mark.parametrize("case", CONV_CASES[:4])
def test_generated_designs_instantiate_what_is_priced(case):
    """The instances of a lowered design, their FIFOs included, render only declared parameters."""
    graph = conv_net(*case, seed=0)
    flow = lower(graph, choose_folding(graph), "RTL")
    for engine, consumer in zip(flow.engines, [*flow.engines[1:], None]):
        instance = instance_of(engine, consumer)
        assert set(rtl_parameters(instance.params)) <= set(library_parameters(instance.module))
        if instance.fifo is not None:
            assert instance.fifo.width == instance.out_width


def test_mvu_element_flags():
    base = dict(mw=8, mh=4, simd=8, pe=4, acc_w=5, out_bits=1, threshold_w=6, padded=False, weights_in_bram=False)
    ternary = rtl_parameters(MvuParams(in_type=TERNARY, **base))
    assert (ternary["IN_BITS"], ternary["IN_SIGNED"], ternary["IN_TERNARY"], ternary["IN_BIPOLAR"]) == (2, "1'b1", "1'b1", "1'b0")
    bipolar = rtl_parameters(MvuParams(in_type=BIPOLAR, **base))
    assert (bipolar["IN_BITS"], bipolar["IN_BIPOLAR"], bipolar["IN_TERNARY"]) == (1, "1'b1", "1'b0")
