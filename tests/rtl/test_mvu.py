"""rtl/bnn_mvu.sv against the golden dot product and thresholds, under cocotb with random
idle cycles on the input and random back-pressure on the output. Every parameter set builds
in its own directory."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga.golden.kernels import dot_packed
from bnnfpga.hw.fold import Fold
from bnnfpga.hw.layout import weight_code_bits, weight_words
from bnnfpga.ir.types import BIPOLAR, TERNARY, DType, signed_width
from tests.rtl.streams import run_stream_test

CASES = [  # MW, MH, SIMD, PE, input dtype, thresholds? (, padded: default True)
    (9, 4, 3, 2, BIPOLAR, True),
    (9, 4, 3, 2, BIPOLAR, True, False),  # PADDED=0: the mask bits are noise the MVU must ignore
    (96, 6, 96, 3, BIPOLAR, True, False),  # three full adder groups of 32
    (27, 37, 9, 1, BIPOLAR, True),
    (64, 8, 64, 8, BIPOLAR, True),
    (13, 6, 13, 3, BIPOLAR, False),
    (27, 8, 9, 4, DType("uint", 8), True),
    (18, 5, 6, 5, DType("int", 9), False),
    (80, 4, 40, 2, BIPOLAR, True),  # 40 elements: adder groups of 32 and 8
    (16, 4, 8, 2, DType("uint", 1), True),  # 1-bit integers are 0/1, not bipolar
]


def hex_lines(values, bits: int) -> str:
    return "".join(f"{int(v) & ((1 << bits) - 1):x}\n" for v in values)


def make_vectors(mw, mh, simd, pe, dtype, thresholds, reps, seed, tmp_path, padded=True, weight_dtype=BIPOLAR, levels=1,
                 base=None, gain_w=0, bases=0):
    """Parameters, input chunks and expected output words of one MVU test: random weights of
    ``weight_dtype`` (bipolar, ternary or intK); ``levels`` thresholds per channel give base + count;
    ``gain_w`` > 0: ternary rows with random gains (A, B) of up to ``gain_w`` bits, A·P − B·N;
    with ``bases`` M > 0 as well: M random ±1 bases with signed gains of ``gain_w`` bits, Σ C_i·P_i."""
    rng = np.random.default_rng(seed)
    if bases:
        base_rows = rng.choice(np.array([-1, 1], np.int8), size=(bases, mh, mw))
        rows = base_rows[0]
    elif weight_dtype == BIPOLAR:
        rows = rng.choice(np.array([-1, 1], np.int8), size=(mh, mw))
    elif weight_dtype.kind == "pow2":  # 0 or ±2^e, every exponent of the code
        exponents = rng.integers(0, weight_dtype.exponents, size=(mh, mw))
        rows = (rng.choice([-1, 0, 1, 1], size=(mh, mw)) << exponents).astype(np.int32)
        rows[0, : min(mw, 2)] = weight_dtype.min, weight_dtype.max  # both extremes, whatever the draw
    else:
        rows = rng.integers(weight_dtype.min, weight_dtype.max, size=(mh, mw), endpoint=True).astype(np.int8)
        rows[0, : min(mw, 2)] = weight_dtype.min, weight_dtype.max  # both extremes, whatever the draw
    mask = None
    if dtype.kind == "bipolar":
        x = rng.choice([-1, 1], size=(reps, mw))
        valid = rng.random((reps, mw)) > 0.2  # some elements are zero padding
        if not padded:
            valid, mask = np.ones((reps, mw), bool), valid  # no padding; the stream's mask bits are noise
        x = np.where(valid, x, 0)
    else:
        x = rng.integers(dtype.min, dtype.max, size=(reps, mw), endpoint=True)
        valid = np.ones((reps, mw), bool)
    acc = dot_packed(x, valid, rows, dtype)  # golden (reps, MH)
    if bases:
        limit = 1 << (gain_w - 1)
        gains = rng.integers(-limit, limit, size=(mh, bases))
        gains[0] = -limit, *([limit - 1] * (bases - 1))  # the widest gains of both signs, whatever the draw
        planes = [dot_packed(x, valid, b, dtype) for b in base_rows]
        acc = sum(gains[:, i] * planes[i] for i in range(bases))
        plane_w = signed_width(int(min(p.min() for p in planes)), int(max(p.max() for p in planes))).bits
    elif gain_w:
        gains = rng.integers(1, 1 << gain_w, size=(mh, 2))
        gains[0] = (1 << gain_w) - 1  # the widest gains, whatever the draw
        planes = [dot_packed(x, valid, (rows == sign).astype(np.int8), dtype) for sign in (1, -1)]
        acc = gains[:, 0] * planes[0] - gains[:, 1] * planes[1]
        plane_w = signed_width(int(min(p.min() for p in planes)), int(max(p.max() for p in planes))).bits
    bits = dtype.bits
    chunks = []
    for r in range(reps):
        for sf in range(mw // simd):
            word = 0
            for s in range(simd):
                i = sf * simd + s
                element = (int(x[r, i]) > 0) if dtype.kind == "bipolar" else int(x[r, i]) & ((1 << bits) - 1)
                word |= element << (s * bits)
                word |= int((valid if mask is None else mask)[r, i]) << (simd * bits + s)
            chunks.append(word)
    acc_w = signed_width(-int(np.abs(acc).max()) - 1, int(np.abs(acc).max()) + 1).bits
    files = {"WEIGHTS_FILE": tmp_path / "weights.mem", "THRESHOLDS_FILE": tmp_path / "thresholds.mem",
             "CONSTANTS_FILE": tmp_path / "constants.mem"}
    w_bits = weight_code_bits(weight_dtype)
    power_of_two = weight_dtype.kind == "pow2"
    if bases:
        w_bits = bases
    files["WEIGHTS_FILE"].write_text(hex_lines(weight_words(rows, Fold(pe, simd), w_bits, power_of_two,
                                                            base_rows if bases else None), pe * simd * w_bits))
    out_bits = 32
    if thresholds and levels > 1 or base is not None:
        lo, hi = int(acc.min()), int(acc.max())
        t = np.sort(rng.integers(lo, hi + 2, size=(mh, levels)), axis=1)
        value = (base or 0) + (acc[:, :, None] >= t[None]).sum(axis=2)  # (reps, MH)
        out_bits = max(1, int(np.abs(value).max()).bit_length() + (1 if (base or 0) < 0 else 0))
        expected = [sum((int(v) & ((1 << out_bits) - 1)) << (out_bits * c) for c, v in enumerate(row)) for row in value]
        files["THRESHOLDS_FILE"].write_text(hex_lines(t.reshape(-1), acc_w + 1))
        files["CONSTANTS_FILE"].write_text(hex_lines(np.zeros(mh, np.int64), 2))
    elif thresholds:
        out_bits = 1
        lo, hi = int(acc.min()), int(acc.max())
        t = rng.integers(lo, hi + 2, size=mh)
        constant = rng.choice([0, 0, 0, 1, -1], size=mh)
        decisions = np.where(constant != 0, constant > 0, acc >= t).astype(np.int64)
        expected = [sum(int(b) << c for c, b in enumerate(row)) for row in decisions]
        files["THRESHOLDS_FILE"].write_text(hex_lines(t, acc_w + 1))
        files["CONSTANTS_FILE"].write_text(hex_lines(constant, 2))
    else:
        expected = [sum((int(v) & 0xFFFFFFFF) << (32 * c) for c, v in enumerate(row)) for row in acc]
    params = {"MW": mw, "MH": mh, "SIMD": simd, "PE": pe, "IN_BITS": bits, "IN_BIPOLAR": int(dtype.kind == "bipolar"),
              "IN_SIGNED": int(dtype.signed), "ACC_W": acc_w, "OUT_BITS": out_bits, "T_W": acc_w + 1, "PADDED": int(padded),
              "W_BITS": w_bits, "LEVELS": levels, "BASE": base or 0, "IN_TERNARY": int(dtype.kind == "ternary")}
    if power_of_two:
        params["W_POW2"] = 1
    if bases:
        files["GAINS_FILE"] = tmp_path / "gains.mem"
        files["GAINS_FILE"].write_text(hex_lines((sum((int(c) & ((1 << gain_w) - 1)) << (i * gain_w) for i, c in enumerate(row))
                                                  for row in gains), bases * gain_w))
        params.update(BASES=bases, PLANE_W=plane_w, GAIN_W=gain_w)
    elif gain_w:
        files["GAINS_FILE"] = tmp_path / "gains.mem"
        files["GAINS_FILE"].write_text(hex_lines((int(b) << gain_w | int(a) for a, b in gains), 2 * gain_w))
        params.update(GAINED=1, PLANE_W=plane_w, GAIN_W=gain_w)
    params.update({k: f'"{v}"' for k, v in files.items() if v.exists() or k == "WEIGHTS_FILE"})
    return params, chunks, expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"mw{c[0]}mh{c[1]}simd{c[2]}pe{c[3]}{c[4]}{'thr' if c[5] else 'acc'}"
                                                   f"{'' if len(c) < 7 or c[6] else 'unpadded'}")
def test_mvu_bit_exact_under_idle_and_backpressure(case, tmp_path):
    mw, mh, simd, pe, dtype, thresholds, *padded = case
    params, inputs, expected = make_vectors(mw, mh, simd, pe, dtype, thresholds, reps=12, seed=mw * mh, tmp_path=tmp_path,
                                            padded=padded[0] if padded else True)
    run_stream_test("bnn_mvu", params, inputs, expected, tmp_path, seed=mw * mh)



TERNARY_CASES = [  # MW, MH, SIMD, PE, input dtype, thresholds per channel, base (None: bipolar out)
    (18, 4, 6, 2, BIPOLAR, 1, None),
    (18, 4, 6, 2, BIPOLAR, 3, 0),  # 2-bit unsigned activations
    (27, 6, 9, 3, DType("uint", 2), 2, -1),  # ternary activations in, ternary out
    (16, 4, 8, 4, DType("ternary", 2), 3, 0),
    (12, 3, 4, 1, DType("uint", 8), 15, 0),  # 4-bit out from a uint8 first layer
]


@pytest.mark.parametrize("case", TERNARY_CASES, ids=lambda c: f"mw{c[0]}mh{c[1]}simd{c[2]}pe{c[3]}{c[4]}L{c[5]}b{c[6]}")
def test_ternary_weights_and_multi_threshold_outputs(case, tmp_path):
    mw, mh, simd, pe, dtype, levels, base = case
    params, inputs, expected = make_vectors(mw, mh, simd, pe, dtype, True, reps=12, seed=mw * mh + levels,
                                            tmp_path=tmp_path, weight_dtype=TERNARY, levels=levels,
                                            base=base)
    run_stream_test("bnn_mvu", params, inputs, expected, tmp_path, seed=mw * mh)


INTEGER_WEIGHT_CASES = [  # MW, MH, SIMD, PE, input dtype, weight dtype, thresholds per channel, base
    (18, 4, 6, 2, BIPOLAR, DType("int", 4), 1, None),  # ±w adders on sign activations
    (27, 6, 9, 3, DType("uint", 2), DType("int", 3), 3, 0),  # 2-bit levels in and out
    (16, 4, 8, 4, TERNARY, DType("int", 4), 2, -1),  # ternary levels: ±w or nothing
    (12, 3, 4, 1, DType("uint", 8), DType("int", 4), 15, 0),  # a uint8 first layer
    (20, 4, 10, 2, DType("int", 4), DType("int", 2), 0, None),  # int2 {−2…1} coded in 3 bits; int32 out
    (40, 2, 40, 2, DType("int", 3), DType("int", 4), 1, None),  # one weight word: constants to synthesis
    (24, 4, 8, 2, DType("uint", 6), DType("int", 6), 63, 0),  # 6-bit weights and levels (QKeras-style)
    (16, 4, 4, 4, DType("int", 8), DType("int", 8), 0, None),  # int8 x int8, accumulators out
    (18, 6, 6, 3, BIPOLAR, DType("int", 7), 1, None),  # ±w adders of 7-bit weights
]


@pytest.mark.parametrize("case", INTEGER_WEIGHT_CASES, ids=lambda c: f"mw{c[0]}mh{c[1]}simd{c[2]}pe{c[3]}{c[4]}w{c[5]}L{c[6]}")
def test_integer_weights(case, tmp_path):
    mw, mh, simd, pe, dtype, weight_dtype, levels, base = case
    params, inputs, expected = make_vectors(mw, mh, simd, pe, dtype, levels > 0, reps=12, seed=mw * mh + levels,
                                            tmp_path=tmp_path, weight_dtype=weight_dtype, levels=max(levels, 1), base=base)
    run_stream_test("bnn_mvu", params, inputs, expected, tmp_path, seed=mw * mh)


POWER_OF_TWO_CASES = [  # MW, MH, SIMD, PE, input dtype, weight code bits, thresholds per channel, base
    (18, 4, 6, 2, BIPOLAR, 5, 1, None),  # INQ 5-bit (±2^0 … ±2^7) on sign activations with padding
    (27, 6, 9, 3, DType("uint", 2), 4, 3, 0),  # 4-bit on 2-bit levels
    (16, 4, 8, 4, TERNARY, 3, 2, -1),  # 3-bit on ternary levels
    (12, 3, 4, 1, DType("uint", 8), 5, 15, 0),  # a uint8 first layer
    (20, 4, 10, 2, DType("int", 4), 6, 0, None),  # 16 exponents on signed inputs; int32 out
]


@pytest.mark.parametrize("case", POWER_OF_TWO_CASES, ids=lambda c: f"mw{c[0]}mh{c[1]}simd{c[2]}pe{c[3]}{c[4]}pow2_{c[5]}L{c[6]}")
def test_power_of_two_weights(case, tmp_path):
    """W_POW2 codes (INQ): ±(x << e) per element, against the golden integer dot product."""
    mw, mh, simd, pe, dtype, code_bits, levels, base = case
    params, inputs, expected = make_vectors(mw, mh, simd, pe, dtype, levels > 0, reps=12, seed=mw * mh + code_bits,
                                            tmp_path=tmp_path, weight_dtype=DType("pow2", code_bits),
                                            levels=max(levels, 1), base=base)
    run_stream_test("bnn_mvu", params, inputs, expected, tmp_path, seed=mw * mh)


GAINED_CASES = [  # MW, MH, SIMD, PE, input dtype, thresholds per channel, base, gain bits
    (18, 4, 6, 2, BIPOLAR, 1, None, 7),  # sign activations with padding
    (27, 6, 9, 3, DType("uint", 2), 3, 0, 9),  # 2-bit levels in and out
    (16, 4, 8, 4, TERNARY, 2, -1, 5),  # ternary levels
    (12, 3, 4, 1, DType("uint", 8), 15, 0, 12),  # a uint8 first layer
    (20, 4, 10, 2, DType("int", 4), 0, None, 6),  # int32 out: the combined accumulator itself
]


@pytest.mark.parametrize("case", GAINED_CASES, ids=lambda c: f"mw{c[0]}mh{c[1]}simd{c[2]}pe{c[3]}{c[4]}L{c[5]}g{c[7]}")
def test_asymmetric_ternary_rows_with_gains(case, tmp_path):
    mw, mh, simd, pe, dtype, levels, base, gain_w = case
    params, inputs, expected = make_vectors(mw, mh, simd, pe, dtype, levels > 0, reps=12, seed=mw * mh + gain_w,
                                            tmp_path=tmp_path, weight_dtype=TERNARY, levels=max(levels, 1), base=base,
                                            gain_w=gain_w)
    run_stream_test("bnn_mvu", params, inputs, expected, tmp_path, seed=mw * mh)


BASES_CASES = [  # MW, MH, SIMD, PE, input dtype, thresholds per channel, base, bases, gain bits
    (18, 4, 6, 2, BIPOLAR, 1, None, 3, 7),  # sign activations with padding, three bases
    (27, 6, 9, 3, DType("uint", 2), 3, 0, 3, 36),  # ABC-Net's hidden layer: 2-bit levels, a 40-bit accumulator
    (16, 4, 8, 4, TERNARY, 2, -1, 2, 5),  # two bases on ternary levels
    (12, 3, 4, 1, DType("uint", 5), 15, 0, 5, 20),  # a first layer on pixels, five bases
    (20, 4, 10, 2, DType("int", 4), 0, None, 4, 18),  # int32 out: the combined accumulator itself
]


@pytest.mark.parametrize("case", BASES_CASES, ids=lambda c: f"mw{c[0]}mh{c[1]}simd{c[2]}pe{c[3]}{c[4]}L{c[5]}m{c[7]}g{c[8]}")
def test_weight_bases_with_signed_gains(case, tmp_path):
    """BASES (ABC-Net): M ±1 planes per lane, Σ C_i·P_i with signed per-row gains."""
    mw, mh, simd, pe, dtype, levels, base, bases, gain_w = case
    params, inputs, expected = make_vectors(mw, mh, simd, pe, dtype, levels > 0, reps=12, seed=mw * mh + gain_w,
                                            tmp_path=tmp_path, levels=max(levels, 1), base=base, gain_w=gain_w,
                                            bases=bases)
    run_stream_test("bnn_mvu", params, inputs, expected, tmp_path, seed=mw * mh)
