"""rtl/bnn_swg.sv streams exactly the golden im2col patches (validity mask for zero padding),
frame after frame, under idles and back-pressure."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga.ir.patches import im2col
from tests.rtl.streams import run_stream_test

CASES = [  # C, BITS, H, W, K, stride, (pt, pl, pb, pr), SIMD
    (2, 1, 5, 5, 3, 1, (0, 0, 0, 0), 2),
    (3, 1, 6, 5, 3, 2, (1, 1, 1, 1), 9),
    (5, 1, 4, 4, 1, 1, (0, 0, 0, 0), 5),
    (2, 1, 7, 7, 5, 2, (2, 2, 2, 2), 10),
    (3, 8, 5, 6, 3, 1, (1, 0, 1, 0), 3),
    (4, 1, 6, 6, 2, 3, (0, 0, 1, 1), 8),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "c{}b{}h{}w{}k{}s{}p{}simd{}".format(*c[:6], "".join(map(str, c[6])), c[7]))
def test_swg_bit_exact(case, tmp_path):
    c, bits, h, w, k, stride, pads, simd = case
    rng = np.random.default_rng(sum(case[:6]))
    frames = rng.integers(0, 1 << bits, size=(3, h, w, c))  # channels-last, as streamed
    inputs = [sum(int(v) << (ch * bits) for ch, v in enumerate(pixel)) for f in frames for pixel in f.reshape(-1, c)]
    patches, valid = im2col(frames, (k, k), (stride, stride), pads)
    expected = []
    for frame in patches:
        for p, patch in enumerate(frame):
            for start in range(0, len(patch), simd):
                data = sum(int(patch[start + s]) << (s * bits) for s in range(simd))
                mask = sum(int(valid[p, start + s]) << s for s in range(simd))
                expected.append(data | mask << (simd * bits))
    params = {"C": c, "IN_BITS": bits, "H": h, "W": w, "KH": k, "KW": k, "SH": stride, "SW": stride,
              "PT": pads[0], "PL": pads[1], "PB": pads[2], "PR": pads[3], "SIMD": simd}
    run_stream_test("bnn_swg", params, inputs, expected, tmp_path, seed=h * w)
