"""FIFO depths of the generated top (codegen/rtl.py fifo_depth)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bnnfpga import api
from bnnfpga.codegen import dataflow, rtl
from bnnfpga.folding import choose_folding

pytestmark = pytest.mark.unit
DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn" / "model.onnx"


def test_a_window_generator_is_fed_through_a_fifo_of_its_first_rows():
    """In front of a window generator the FIFO holds the KH-1 rows (and KW pixels) it takes
    before its first window, so the producer never waits for the window generator's bursts;
    chunk streams get 2 words, other pixel streams a row and a bit."""
    graph = api.load(DIGITS)
    engines = dataflow.lower(graph, choose_folding(graph), "RTL").engines
    pairs = list(zip(engines, [*engines[1:], None]))
    windows = [(e, c) for e, c in pairs if isinstance(c, dataflow.Window)]
    assert windows
    for producer, window in windows:
        (kh, kw), (sh, _) = window.kernel, window.strides
        depth = rtl.fifo_depth(producer, window)
        assert depth >= (kh - 1 + sh - 1) * window.inp.w + kw and depth & (depth - 1) == 0
        assert depth < 2 * ((kh - 1 + sh - 1) * window.inp.w + kw + 1)  # not more than the next power of two
    for producer, consumer in pairs:
        if isinstance(producer, (dataflow.Window, dataflow.Flatten)):
            assert rtl.fifo_depth(producer, consumer) == rtl.CHUNK_FIFO_DEPTH
        elif consumer is not None and not isinstance(consumer, dataflow.Window):
            assert rtl.fifo_depth(producer, consumer) >= producer.out.w + 1
    design = rtl.instantiate(dataflow.lower(graph, choose_folding(graph), "RTL"))
    assert [i["fifo_depth"] for i in design.instances[:-1]] == [rtl.fifo_depth(e, c) for e, c in pairs[:-1]]
