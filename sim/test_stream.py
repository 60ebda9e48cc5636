"""cocotb tests for any stream design, an engine or a whole accelerator, driven by the JSON
file $BNNFPGA_TB_VECTORS: {inputs, expected, seed[, idle, backpressure, frame_words]}.

``stream_matches_golden`` streams the input words into s_axis with random idle cycles, takes
m_axis with random back-pressure, and compares every output word, in order, with the
expected (golden) words; with ``frame_words``, TLAST must close every frame of that many words.

``full_rate`` (run when $BNNFPGA_TB_REPORT names a file) streams the same words with no
pauses on either side, checks them the same way when expected words are given, and writes
the output words and the clock cycle of every input and output frame boundary to the report:
the measured cycles per frame and latency.
"""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import RisingEdge, with_timeout

from axis import receive_frames, send_words, start

REPORT = os.environ.get("BNNFPGA_TB_REPORT")


def _vectors() -> dict:
    with open(os.environ["BNNFPGA_TB_VECTORS"]) as f:
        return json.load(f)


def _check(vectors: dict, frames: list[list[int]]) -> list[int]:
    got = [w for frame in frames for w in frame]
    expected = vectors.get("expected")
    if expected is not None:
        bad = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
        assert not bad, (f"{len(bad)} of {len(got)} words differ, first at {bad[0]}: "
                         f"got {got[bad[0]]:x}, expected {expected[bad[0]]:x}")
    if vectors.get("frame_words"):
        sizes = {len(frame) for frame in frames}
        assert sizes == {vectors["frame_words"]}, f"TLAST closed frames of {sorted(sizes)} words, not {vectors['frame_words']}"
    return got


def _budget_ns(vectors: dict) -> int:
    return 20 * (vectors.get("cycles_bound") or 10 * (len(vectors["inputs"]) + vectors["output_words"] + 100))


async def _stream(dut, vectors: dict, idle: float, backpressure: float) -> list[list[int]]:
    source, sink = await start(dut, vectors["seed"], idle, backpressure)
    cocotb.start_soon(send_words(source, vectors["inputs"]))
    return await with_timeout(receive_frames(sink, vectors["output_words"]), _budget_ns(vectors), "ns")


@cocotb.test()
async def stream_matches_golden(dut):
    vectors = _vectors()
    frames = await _stream(dut, vectors, vectors.get("idle", 0.3), vectors.get("backpressure", 0.3))
    _check(vectors, frames)


async def _count_boundaries(dut, in_words: int, report: dict) -> None:
    """Clock cycles (after reset) of every input frame's first beat and every TLAST beat."""
    cycle = beats = 0
    has_tlast = hasattr(dut, "m_axis_tlast")
    while True:
        await RisingEdge(dut.clk)
        cycle += 1
        if dut.s_axis_tvalid.value == 1 and dut.s_axis_tready.value == 1:
            if in_words and beats % in_words == 0:
                report["input_starts"].append(cycle)
            beats += 1
        if has_tlast and dut.m_axis_tvalid.value == 1 and dut.m_axis_tready.value == 1 and dut.m_axis_tlast.value == 1:
            report["output_ends"].append(cycle)


@cocotb.test(skip=REPORT is None)
async def full_rate(dut):
    vectors = _vectors()
    report = {"input_starts": [], "output_ends": []}
    cocotb.start_soon(_count_boundaries(dut, vectors.get("in_words", 0), report))
    frames = await _stream(dut, vectors, 0.0, 0.0)
    report["outputs"] = _check(vectors, frames)
    with open(REPORT, "w") as f:
        json.dump(report, f)
