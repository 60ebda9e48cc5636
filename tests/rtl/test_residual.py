"""rtl/bnn_residual_binarizer.sv and bnn_mvu's RESIDUAL planes (docs/DESIGN.md 5.3) against
the golden model's exact residual binarization, under cocotb with random idle cycles on the
input and random back-pressure on the output."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga.golden.kernels import residual_binarize, residual_dot
from bnnfpga.hw.engines import residual_widths
from bnnfpga.hw.fold import Fold
from bnnfpga.hw.layout import weight_words
from bnnfpga.ir.types import BIPOLAR, DType, signed_width
from tests.rtl.streams import run_stream_test

TERNARY_CODE = {1: 0b01, -1: 0b11, 0: 0b00}


def _vectors(rng, reps: int, n: int, dtype: DType, padded: bool) -> tuple[np.ndarray, np.ndarray]:
    """Values (reps, n) and validity: bipolar ±1 with some padding (0), or k-bit levels, a few
    vectors of one repeated value (R_1 = 0 exactly) and one all zero."""
    if dtype == BIPOLAR:
        values = rng.choice([-1, 1], size=(reps, n))
        valid = rng.random((reps, n)) > 0.25 if padded else np.ones((reps, n), bool)
        return np.where(valid, values, 0), valid
    values = rng.integers(dtype.min, dtype.max, size=(reps, n), endpoint=True)
    values[0] = 0
    values[1] = dtype.max
    values[2, : n // 2] = dtype.min
    return values, np.ones((reps, n), bool)


def _input_chunks(values, valid, simd: int, dtype: DType) -> list[int]:
    words = []
    bits = dtype.bits
    for row, ok in zip(values, valid):
        for start in range(0, len(row), simd):
            word = 0
            for s in range(simd):
                element = int(row[start + s] > 0) if dtype == BIPOLAR else int(row[start + s]) & ((1 << bits) - 1)
                word |= element << (s * bits) | int(ok[start + s]) << (simd * bits + s)
            words.append(word)
    return words


def _plane_chunks(values, simd: int, order: int, gain_w: int, shift: int = 0) -> list[int]:
    """{gains, mask, codes} chunks of the golden model's sign planes and gains (⌊G_k/2^shift⌋,
    ``gain_w`` bits each)."""
    signs, gains = residual_binarize(values, order, shift)
    words = []
    for r in range(len(values)):
        top = sum(int(g) << (k * gain_w) for k, g in enumerate(gains[r]))
        for start in range(0, values.shape[1], simd):
            word = ((1 << simd) - 1) << (simd * 2 * order) | top << (simd * 2 * order + simd)
            for s in range(simd):
                for k in range(order):
                    word |= TERNARY_CODE[int(signs[k, r, start + s])] << (s * 2 * order + 2 * k)
            words.append(word)
    return words


BINARIZER_CASES = [  # N, SIMD, input dtype, order, padded, gain shift
    (12, 4, DType("int", 2), 2, False, 0),
    (16, 16, DType("uint", 2), 3, False, 0),  # one chunk per vector: the buffers alternate every beat
    (27, 9, BIPOLAR, 2, True, 0),  # a padded 3×3 field of signs
    (10, 5, DType("int", 4), 4, False, 7),  # 17-bit gains sent as ⌊G_k/2^7⌋ (fixed-point β)
]


@pytest.mark.parametrize("case", BINARIZER_CASES,
                         ids=lambda c: f"n{c[0]}simd{c[1]}{c[2]}K{c[3]}{'pad' if c[4] else ''}{f'F{c[5]}' if c[5] else ''}")
def test_binarizer_streams_the_golden_sign_planes_and_gains(case, tmp_path):
    n, simd, dtype, order, padded, shift = case
    rng = np.random.default_rng(n * order)
    values, valid = _vectors(rng, 10, n, dtype, padded)
    largest = dtype.magnitude
    s_w, gain_w = residual_widths(n, order, largest)
    params = {"N": n, "SIMD": simd, "IN_BITS": dtype.bits, "IN_BIPOLAR": int(dtype == BIPOLAR),
              "IN_SIGNED": int(dtype.signed), "PADDED": int(padded), "ORDER": order, "S_W": s_w, "GAIN_W": gain_w,
              "GAIN_SHIFT": shift}
    run_stream_test("bnn_residual_binarizer", params, _input_chunks(values, valid, simd, dtype),
                    _plane_chunks(values, simd, order, gain_w - shift, shift), tmp_path, seed=n + order)


MVU_CASES = [  # MW, MH, SIMD, PE, input dtype, order, thresholds per channel (0: int32 out)
    (8, 4, 4, 2, DType("uint", 2), 1, 1),
    (12, 6, 4, 3, DType("int", 2), 2, 3),  # three chunks a row, two planes to combine
    (16, 4, 16, 4, DType("uint", 2), 3, 0),  # one chunk a row, three planes: the combine stalls rows
]


@pytest.mark.parametrize("case", MVU_CASES, ids=lambda c: f"mw{c[0]}mh{c[1]}simd{c[2]}pe{c[3]}{c[4]}K{c[5]}L{c[6]}")
def test_mvu_combines_residual_planes_with_the_vector_gains(case, tmp_path):
    mw, mh, simd, pe, dtype, order, levels = case
    rng = np.random.default_rng(mw * mh + order)
    values, _ = _vectors(rng, 12, mw, dtype, padded=dtype == BIPOLAR)
    rows = rng.choice(np.array([-1, 1], np.int8), size=(mh, mw))
    acc = residual_dot(values, rows, order, "packed")  # (reps, MH)
    largest = dtype.magnitude
    _, gain_w = residual_widths(mw, order, largest)
    acc_w = signed_width(-int(np.abs(acc).max()) - 1, int(np.abs(acc).max()) + 1).bits
    weights = tmp_path / "weights.mem"
    weights.write_text("".join(f"{w:x}\n" for w in weight_words(rows, Fold(pe, simd), 1, False, None)))
    params = {"MW": mw, "MH": mh, "SIMD": simd, "PE": pe, "IN_BITS": 2, "IN_BIPOLAR": 0, "IN_SIGNED": 1,
              "IN_TERNARY": 1, "W_BITS": 1, "ACC_W": acc_w, "T_W": acc_w + 1, "PADDED": 0, "RESIDUAL": order,
              "PLANE_W": signed_width(-mw, mw).bits, "GAIN_W": gain_w, "WEIGHTS_FILE": f'"{weights}"'}
    if levels:
        t = np.sort(rng.integers(int(acc.min()), int(acc.max()) + 2, size=(mh, levels)), axis=1)
        count = (acc[:, :, None] >= t[None]).sum(axis=2)
        out_bits = max(1, levels.bit_length())
        expected = [sum(int(v) << (out_bits * c) for c, v in enumerate(row)) for row in count]
        (tmp_path / "thresholds.mem").write_text("".join(f"{int(v) & ((1 << (acc_w + 1)) - 1):x}\n" for v in t.reshape(-1)))
        (tmp_path / "constants.mem").write_text("0\n" * mh)
        params.update(OUT_BITS=out_bits, LEVELS=levels, THRESHOLDS_FILE=f'"{tmp_path / "thresholds.mem"}"',
                      CONSTANTS_FILE=f'"{tmp_path / "constants.mem"}"')
    else:
        expected = [sum((int(v) & 0xFFFFFFFF) << (32 * c) for c, v in enumerate(row)) for row in acc]
        params.update(OUT_BITS=32)
    run_stream_test("bnn_mvu", params, _plane_chunks(values, simd, order, gain_w), expected, tmp_path,
                    seed=mw * mh)
