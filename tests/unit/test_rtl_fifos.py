"""FIFO depths of the generated top (hw/modules.py fifo_depth)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bnnfpga import api
from bnnfpga.codegen import rtl
from bnnfpga.hw.engines import Flatten, Mvu, Window
from bnnfpga.hw.fold import Fold, choose_folding
from bnnfpga.hw.lower import lower
from bnnfpga.hw.modules import CHUNK_FIFO_DEPTH, fifo_depth

pytestmark = pytest.mark.unit
DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn" / "model.onnx"


def test_a_window_generator_is_fed_through_a_fifo_of_its_first_rows():
    """In front of a window generator the FIFO holds the KH-1 rows (and KW pixels) it takes
    before its first window, so the producer never waits for the window generator's bursts;
    chunk streams get 2 words, other pixel streams a row and a bit."""
    graph = api.load(DIGITS)
    engines = lower(graph, choose_folding(graph), "RTL").engines
    pairs = list(zip(engines, [*engines[1:], None]))
    windows = [(e, c) for e, c in pairs if isinstance(c, Window)]
    assert windows
    for producer, window in windows:
        (kh, kw), (sh, _) = window.kernel, window.strides
        depth = fifo_depth(producer, window)
        assert depth >= (kh - 1 + sh - 1) * window.inp.w + kw and depth & (depth - 1) == 0
        assert depth < 2 * ((kh - 1 + sh - 1) * window.inp.w + kw + 1)  # not more than the next power of two
    for producer, consumer in pairs:
        if isinstance(producer, Window):
            assert fifo_depth(producer, consumer) == CHUNK_FIFO_DEPTH
        elif isinstance(producer, Flatten):
            folded = consumer.mh > consumer.fold.pe
            chunks = consumer.mw // consumer.fold.simd
            assert fifo_depth(producer, consumer) >= (chunks + 1 if folded else CHUNK_FIFO_DEPTH)
        elif consumer is not None and not isinstance(consumer, Window):
            assert fifo_depth(producer, consumer) >= producer.out.w + 1
    design = rtl.instantiate(lower(graph, choose_folding(graph), "RTL"))
    assert [i["fifo"]["DEPTH"] for i in design.instances[:-1]] == [fifo_depth(e, c) for e, c in pairs[:-1]]


def test_a_width_converter_feeding_a_folded_mvu_buffers_a_whole_vector():
    """An MVU with NF > 1 takes a vector's SF chunks in a burst; the width converter before it
    needs several pixels per chunk, so the FIFO between holds all SF chunks (without it the
    digits CNN ran at 65 instead of 64 cycles per frame in Verilator)."""
    graph = api.load(DIGITS)
    dense = [n.name for n in graph.nodes if n.op.__class__.__name__ == "Dense"][0]
    for fold, depth in ((Fold(4, 72), 8), (Fold(2, 36), 16), (Fold(64, 72), CHUNK_FIFO_DEPTH)):
        engines = lower(graph, {**choose_folding(graph), dense: fold}, "RTL").engines
        i = next(i for i, e in enumerate(engines) if isinstance(e, Mvu) and e.name == dense)
        assert isinstance(engines[i - 1], Flatten)
        assert fifo_depth(engines[i - 1], engines[i]) == depth
