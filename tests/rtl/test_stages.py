"""The RTL input/output stages and elementwise stages, each against a NumPy model of its
contract, under random idles and back-pressure: rtl/bnn_input.sv, bnn_output.sv,
bnn_integer_affine.sv, bnn_threshold.sv, bnn_width_converter.sv."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga.hw.streams import pack_stream
from bnnfpga.ir.head import ranked
from bnnfpga.ir.types import BIPOLAR, DType, TensorType
from tests.rtl.streams import hex_file, pixel_words, run_stream_test


@pytest.mark.parametrize("c, bits", [(3, 8), (64, 1), (100, 1), (16, 9)])  # 24, 64, 100, 144 bits per pixel
def test_input_stage_assembles_pixels_from_64_bit_words(c, bits, tmp_path):
    t = TensorType((c, 3, 4), DType("uint", bits))
    rng = np.random.default_rng(c)
    x = rng.integers(0, 1 << bits, size=(2,) + t.shape)
    words = pack_stream(x, t)  # (frames, pixels, words per pixel): the accelerator's input format
    expected = pixel_words(x.reshape(2, c, -1).transpose(0, 2, 1).reshape(-1, c), bits)
    run_stream_test("bnn_input", {"PIXEL_BITS": c * bits}, [int(w) for w in words.reshape(-1)], expected, tmp_path, seed=c)


@pytest.mark.parametrize("values, vectors, dtype", [(10, 1, DType("int", 32)), (3, 4, DType("int", 32)), (1, 5, DType("int", 32)),
                                                    (5, 1, BIPOLAR), (4, 3, DType("uint", 2)), (6, 2, DType("int", 5))],
                         ids=lambda v: str(v))
def test_output_stage_splits_vectors_and_closes_frames_with_tlast(values, vectors, dtype, tmp_path):
    """int32 accumulators leave as they are; a thresholded last layer's levels (bipolar bits
    as ±1, k-bit levels sign- or zero-extended) as int32 beats."""
    rng = np.random.default_rng(values)
    level = rng.integers(dtype.min, dtype.max, size=(3 * vectors, values), endpoint=True)
    if dtype == BIPOLAR:
        level = np.where(level >= 0, 1, -1)
    inputs = pixel_words(level if dtype != BIPOLAR else (level > 0).astype(np.int64), dtype.bits)
    expected = [int(v) & 0xFFFFFFFF for v in level.reshape(-1)]
    params = {"VALUES": values, "VECTORS": vectors, "IN_BITS": dtype.bits, "IN_SIGNED": int(dtype.signed),
              "IN_BIPOLAR": int(dtype == BIPOLAR)}
    run_stream_test("bnn_output", params, inputs, expected, tmp_path, seed=values, frame_words=values * vectors)


@pytest.mark.parametrize("frames_per_last", [1, 3])
def test_output_stage_closes_a_batch_of_frames_with_one_tlast(frames_per_last, tmp_path):
    """frames_per_last = n: TLAST only on the last beat of every n-th frame (one DMA
    transfer per batch); 1 (and 0) every frame."""
    rng = np.random.default_rng(frames_per_last)
    acc = rng.integers(-2**31, 2**31, size=(12, 5))  # 6 frames of 2 vectors
    run_stream_test("bnn_output", {"VALUES": 5, "VECTORS": 2}, pixel_words(acc, 32), [int(v) & 0xFFFFFFFF for v in acc.reshape(-1)],
                    tmp_path, seed=7, frame_words=10 * frames_per_last, frames_per_last=frames_per_last)


@pytest.mark.parametrize("values, k, bits, largest", [(10, 1, 32, True), (10, 3, 12, True), (7, 7, 5, False), (1, 1, 2, True)],
                         ids=lambda v: str(v))
def test_label_select_ranks_with_ties_in_index_order(values, k, bits, largest, tmp_path):
    """The k largest (or smallest) of each vector, best first, equal values in index order:
    a narrow value range makes ties common, and the extremes of the type are drawn too."""
    rng = np.random.default_rng(values * k)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    vectors = rng.integers(-3, 4, size=(40, values))
    vectors[::5] = rng.choice([lo, hi, 0], size=(8, values))
    index_bits = max(1, (values - 1).bit_length())
    labels = ranked(vectors if largest else -vectors, k)
    params = {"VALUES": values, "K": k, "IN_BITS": bits, "LARGEST": int(largest), "INDEX_BITS": index_bits}
    run_stream_test("bnn_label_select", params, pixel_words(vectors, bits), pixel_words(labels, index_bits), tmp_path,
                    seed=values + k)


@pytest.mark.parametrize("dtype, c, scale", [(DType("uint", 8), 3, [2, 40961, 65535]), (DType("int", 4), 5, [-3, 1, 7, -8, 2]),
                                             (BIPOLAR, 4, [7, 7, 7, 7])])
def test_integer_affine(dtype, c, scale, tmp_path):
    rng = np.random.default_rng(c)
    scale = np.array(scale)
    x = rng.integers(dtype.min, dtype.max, size=(40, c), endpoint=True)
    if dtype == BIPOLAR:
        x = np.where(x >= 0, 1, -1)
    offsets = rng.integers(-300, 300, size=c)
    u = scale * x + offsets
    out_bits = int(max(abs(u.min()), u.max()) + 1).bit_length() + 1
    params = {"C": c, "IN_BITS": dtype.bits, "IN_BIPOLAR": int(dtype == BIPOLAR), "IN_SIGNED": int(dtype.kind == "int"),
              "OUT_BITS": out_bits, "SCALES": f"{32 * c}'h" + "".join(f"{int(s) & 0xFFFFFFFF:08x}" for s in scale[::-1]),
              "OFFSETS_FILE": hex_file(tmp_path / "offsets.mem", offsets, out_bits)}
    inputs = pixel_words(np.where(x > 0, 1, 0) if dtype == BIPOLAR else x, dtype.bits)
    run_stream_test("bnn_integer_affine", params, inputs, pixel_words(u, out_bits), tmp_path, seed=c)


@pytest.mark.parametrize("dtype, c", [(DType("uint", 8), 3), (DType("int", 9), 6), (DType("uint", 1), 5)])
def test_threshold_stage(dtype, c, tmp_path):
    rng = np.random.default_rng(c)
    x = rng.integers(dtype.min, dtype.max, size=(40, c), endpoint=True)
    t = rng.integers(dtype.min, dtype.max + 2, size=c)  # max + 1: never
    constant = rng.choice([0, 0, 1, -1], size=c)
    bits = np.where(constant != 0, constant > 0, x >= t).astype(int)
    t_w = int(max(abs(t.min()), t.max(), abs(dtype.min), dtype.max)).bit_length() + 2
    params = {"C": c, "IN_BITS": dtype.bits, "IN_BIPOLAR": 0, "IN_SIGNED": int(dtype.kind == "int"), "T_W": t_w,
              "THRESHOLDS_FILE": hex_file(tmp_path / "t.mem", t, t_w),
              "CONSTANTS_FILE": hex_file(tmp_path / "c.mem", constant, 2)}
    run_stream_test("bnn_threshold", params, pixel_words(x, dtype.bits), pixel_words(bits, 1), tmp_path, seed=c)


@pytest.mark.parametrize("levels, base", [(255, -128), (3, 0), (2, -1)], ids=["int8", "uint2", "ternary"])
def test_multi_threshold_stage(levels, base, tmp_path):
    """A quantizer on the uint8 input (e.g. Brevitas's 8-bit input Quant): base + the number
    of a channel's thresholds reached, in two's complement."""
    c = 3
    rng = np.random.default_rng(levels)
    x = rng.integers(0, 256, size=(60, c))
    t = np.sort(rng.integers(0, 257, size=(c, levels)), axis=1)
    value = base + (x[:, :, None] >= t[None]).sum(axis=2)
    out_bits = max(int(abs(base)).bit_length(), int(base + levels).bit_length()) + (1 if base < 0 else 0)
    params = {"C": c, "IN_BITS": 8, "IN_BIPOLAR": 0, "IN_SIGNED": 0, "T_W": 10, "LEVELS": levels, "OUT_BITS": out_bits,
              "BASE": base, "THRESHOLDS_FILE": hex_file(tmp_path / "t.mem", t.reshape(-1), 10),
              "CONSTANTS_FILE": hex_file(tmp_path / "c.mem", np.zeros(c, int), 2)}
    run_stream_test("bnn_threshold", params, pixel_words(x, 8), pixel_words(value, out_bits), tmp_path, seed=c)


@pytest.mark.parametrize("in_w, out_w", [(8, 12), (12, 8), (64, 64), (5, 40), (100, 10), (7, 3)])
def test_width_converter_recuts_the_bit_stream(in_w, out_w, tmp_path):
    rng = np.random.default_rng(in_w * out_w)
    total = np.lcm(in_w, out_w) * 7
    bits = rng.integers(0, 2, size=total)
    inputs = [int("".join(map(str, bits[i:i + in_w][::-1])), 2) for i in range(0, total, in_w)]
    expected = [int("".join(map(str, bits[i:i + out_w][::-1])), 2) for i in range(0, total, out_w)]
    run_stream_test("bnn_width_converter", {"IN_W": in_w, "OUT_W": out_w}, inputs, expected, tmp_path, seed=in_w)
