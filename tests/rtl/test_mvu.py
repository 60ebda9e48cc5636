"""rtl/bnn_mvu.sv against the golden dot product and thresholds, under cocotb with random
idle cycles on the input and random back-pressure on the output. Every parameter set builds
in its own directory."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga.codegen.layout import weight_words
from bnnfpga.folding import Fold
from bnnfpga.golden.kernels import dot_packed
from bnnfpga.ir.types import BIPOLAR, DType, signed_width
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


def make_vectors(mw, mh, simd, pe, dtype, thresholds, reps, seed, tmp_path, padded=True):
    rng = np.random.default_rng(seed)
    rows = rng.choice(np.array([-1, 1], np.int8), size=(mh, mw))
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
    files["WEIGHTS_FILE"].write_text(hex_lines(weight_words(rows, Fold(pe, simd)), pe * simd))
    if thresholds:
        lo, hi = int(acc.min()), int(acc.max())
        t = rng.integers(lo, hi + 2, size=mh)
        constant = rng.choice([0, 0, 0, 1, -1], size=mh)
        out_bits = np.where(constant != 0, constant > 0, acc >= t).astype(np.int64)
        expected = [sum(int(b) << c for c, b in enumerate(row)) for row in out_bits]
        files["THRESHOLDS_FILE"].write_text(hex_lines(t, acc_w + 1))
        files["CONSTANTS_FILE"].write_text(hex_lines(constant, 2))
    else:
        expected = [sum((int(v) & 0xFFFFFFFF) << (32 * c) for c, v in enumerate(row)) for row in acc]
    params = {"MW": mw, "MH": mh, "SIMD": simd, "PE": pe, "BITS": bits, "BIPOLAR": int(dtype.kind == "bipolar"), "SIGNED_IN": int(dtype.kind == "int"),
              "ACC_W": acc_w, "OUT_BITS": 1 if thresholds else 32, "T_W": acc_w + 1, "PADDED": int(padded)}
    params.update({k: f'"{v}"' for k, v in files.items() if v.exists() or k == "WEIGHTS_FILE"})
    return params, chunks, expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"mw{c[0]}mh{c[1]}simd{c[2]}pe{c[3]}{c[4]}{'thr' if c[5] else 'acc'}"
                                                   f"{'' if len(c) < 7 or c[6] else 'unpadded'}")
def test_mvu_bit_exact_under_idle_and_backpressure(case, tmp_path):
    mw, mh, simd, pe, dtype, thresholds, *padded = case
    params, inputs, expected = make_vectors(mw, mh, simd, pe, dtype, thresholds, reps=12, seed=mw * mh, tmp_path=tmp_path,
                                            padded=padded[0] if padded else True)
    run_stream_test("bnn_mvu", params, inputs, expected, tmp_path, seed=mw * mh)

