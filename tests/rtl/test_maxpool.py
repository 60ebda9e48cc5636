"""rtl/bnn_maxpool.sv (sliding window + OR/AND reducer) against the golden max-pool, with
min-pool channels and padding, under idles and back-pressure."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga.golden.kernels import max_pool
from bnnfpga.ir.types import DType
from tests.rtl.streams import hex_file, pixel_words, run_stream_test

CASES = [  # C, H, W, K, stride, pads
    (4, 4, 4, 2, 2, (0, 0, 0, 0)),
    (5, 7, 7, 3, 2, (1, 1, 1, 1)),
    (3, 6, 5, 2, 1, (0, 0, 0, 0)),
    (70, 4, 4, 2, 2, (0, 0, 1, 1)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "c{}h{}w{}k{}s{}p{}".format(*c[:5], "".join(map(str, c[5]))))
def test_maxpool_bit_exact(case, tmp_path):
    c, h, w, k, stride, pads = case
    rng = np.random.default_rng(c * h)
    x = rng.choice([-1, 1], size=(3, h, w, c))  # channels-last, as streamed
    use_min = rng.random(c) < 0.4
    y = max_pool(x, (k, k), (stride, stride), pads, use_min)
    params = {"C": c, "H": h, "W": w, "KH": k, "KW": k, "SH": stride, "SW": stride, "PT": pads[0], "PL": pads[1],
              "PB": pads[2], "PR": pads[3],
              "MIN_FILE": hex_file(tmp_path / "min.mem", [sum(1 << int(i) for i in np.flatnonzero(use_min))], c)}
    run_stream_test("bnn_maxpool", params, pixel_words((x > 0).reshape(-1, c), 1), pixel_words((y > 0).reshape(-1, c), 1),
                    tmp_path, seed=c)


@pytest.mark.parametrize("dtype", [DType("uint", 2), DType("ternary", 2), DType("int", 4)], ids=str)
def test_maxpool_of_k_bit_levels(dtype, tmp_path):
    c, h, w, k, stride, pads = 6, 7, 7, 3, 2, (1, 1, 1, 1)
    rng = np.random.default_rng(dtype.bits)
    x = rng.integers(dtype.min, dtype.max, size=(3, h, w, c), endpoint=True)
    use_min = rng.random(c) < 0.4
    y = max_pool(x, (k, k), (stride, stride), pads, use_min)
    params = {"C": c, "IN_BITS": dtype.bits, "IN_SIGNED": int(dtype.signed), "H": h, "W": w, "KH": k, "KW": k, "SH": stride,
              "SW": stride, "PT": pads[0], "PL": pads[1], "PB": pads[2], "PR": pads[3],
              "MIN_FILE": hex_file(tmp_path / "min.mem", [sum(1 << int(i) for i in np.flatnonzero(use_min))], c)}
    run_stream_test("bnn_maxpool", params, pixel_words(x.reshape(-1, c), dtype.bits),
                    pixel_words(y.reshape(-1, c), dtype.bits), tmp_path, seed=c)
