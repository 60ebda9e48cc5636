"""rtl/bnn_axis_fifo.sv passes every word through once, in order, under idles and back-pressure."""

from __future__ import annotations

import random

import pytest

from tests.rtl.streams import run_stream_test


@pytest.mark.parametrize("width, depth", [(1, 2), (13, 4), (70, 16)])
def test_fifo_keeps_every_word(width, depth, tmp_path):
    rng = random.Random(width * depth)
    words = [rng.getrandbits(width) for _ in range(300)]
    run_stream_test("bnn_axis_fifo", {"WIDTH": width, "DEPTH": depth}, words, words, tmp_path, seed=width)
