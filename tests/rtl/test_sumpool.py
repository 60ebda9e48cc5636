"""rtl/bnn_sumpool.sv (sliding window + adder) against the golden sum-pool (average pooling
without its 1/taps), for bipolar, ternary, signed and unsigned elements, with padding and
overlapping windows, under idles and back-pressure."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga.golden.kernels import sum_pool
from bnnfpga.ir.ops import SumPool
from bnnfpga.ir.types import BIPOLAR, DType, TensorType
from tests.rtl.streams import pixel_words, run_stream_test

CASES = [  # element type, C, H, W, K, stride, pads
    (BIPOLAR, 5, 4, 4, 4, 4, (0, 0, 0, 0)),  # a global average of ±1 activations
    (DType("uint", 2), 4, 6, 6, 2, 2, (0, 0, 0, 0)),
    (DType("ternary", 2), 3, 5, 5, 3, 1, (1, 1, 1, 1)),  # padded taps add 0
    (DType("int", 4), 6, 7, 7, 3, 2, (0, 1, 1, 0)),
    (DType("uint", 8), 3, 4, 4, 2, 2, (0, 0, 0, 0)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-c{c[1]}h{c[2]}k{c[4]}s{c[5]}p{''.join(map(str, c[6]))}")
def test_sumpool_bit_exact(case, tmp_path):
    dtype, c, h, w, k, stride, pads = case
    rng = np.random.default_rng(c * h)
    if dtype == BIPOLAR:
        x = rng.choice([-1, 1], size=(3, h, w, c))
    else:
        x = rng.integers(dtype.min, dtype.max, size=(3, h, w, c), endpoint=True)
    y = sum_pool(x, (k, k), (stride, stride), pads)
    out = SumPool(kernel=(k, k), strides=(stride, stride), pads=pads).output_type([TensorType((c, h, w), dtype)]).dtype
    params = {"C": c, "IN_BITS": dtype.bits, "IN_BIPOLAR": int(dtype == BIPOLAR), "IN_SIGNED": int(dtype.signed),
              "OUT_BITS": out.bits, "H": h, "W": w, "KH": k, "KW": k, "SH": stride, "SW": stride, "PT": pads[0],
              "PL": pads[1], "PB": pads[2], "PR": pads[3]}
    elements = (x > 0).astype(np.int64) if dtype == BIPOLAR else x
    run_stream_test("bnn_sumpool", params, pixel_words(elements.reshape(-1, c), dtype.bits),
                    pixel_words(y.reshape(-1, c), out.bits), tmp_path, seed=c)
