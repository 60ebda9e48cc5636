"""cocotb tests for any stream design, an engine or a whole accelerator, driven by the JSON
file $BNNFPGA_TB_VECTORS: {inputs, expected, seed[, idle, backpressure, frame_words,
frames_per_last]} (frames_per_last: the value of that port, where the design has one).

``stream_matches_golden`` streams the input words into s_axis with random idle cycles, takes
m_axis with random back-pressure, and compares every output word, in order, with the
expected (golden) words; with ``frame_words``, TLAST must close every frame of that many words.

``full_rate`` (run when $BNNFPGA_TB_REPORT names a file) streams the same words with no
pauses on either side, checks them the same way when expected words are given, and writes
the output words, the clock cycle of every input frame's first beat (frames of ``in_words``)
and of every output frame's last beat to the report: the measured cycles per frame and
latency; with ``watch`` ({FIFO instance: depth}) also the largest word count each of those
FIFOs held.
"""

from __future__ import annotations

import json
import os

import cocotb
from axis import CLOCK_NS, receive_frames, send_words, start
from cocotb.triggers import RisingEdge, with_timeout
from cocotb.utils import get_time_from_sim_steps

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


def _cycle(steps: int) -> int:
    return round(get_time_from_sim_steps(steps, "ns") / CLOCK_NS)


def _budget_ns(vectors: dict) -> int:
    return 20 * (vectors.get("cycles_bound") or 10 * (len(vectors["inputs"]) + vectors["output_words"] + 100))


async def _watch(dut, fifos: dict[str, int], maxima: dict[str, int]) -> None:
    """Sample the word count of each named FIFO (instance → depth) every cycle, keeping the
    largest in ``maxima``."""
    handles = {name: getattr(dut, name) for name in fifos}
    while True:
        await RisingEdge(dut.clk)
        for name, fifo in handles.items():
            count = (int(fifo.wr.value) - int(fifo.rd.value)) % (2 * fifos[name])
            maxima[name] = max(maxima.get(name, 0), count)


async def _stream(dut, vectors: dict, idle: float, backpressure: float, on_start=None, maxima=None):
    if hasattr(dut, "frames_per_last"):  # an output stage: TLAST every that many frames (0: every frame)
        dut.frames_per_last.value = vectors.get("frames_per_last", 0)
    source, sink = await start(dut, vectors["seed"], idle, backpressure)
    if vectors.get("watch") and maxima is not None:
        cocotb.start_soon(_watch(dut, vectors["watch"], maxima))
    cocotb.start_soon(send_words(source, vectors["inputs"], vectors.get("in_words", 0), on_start))
    return await with_timeout(receive_frames(sink, vectors["output_words"]), _budget_ns(vectors), "ns")


@cocotb.test()
async def stream_matches_golden(dut):
    vectors = _vectors()
    frames = await _stream(dut, vectors, vectors.get("idle", 0.3), vectors.get("backpressure", 0.3))
    _check(vectors, [[int(w) for w in f.tdata] for f in frames])


@cocotb.test(skip=REPORT is None)
async def full_rate(dut):
    vectors = _vectors()
    starts: list[int] = []
    maxima: dict[str, int] = {}
    frames = await _stream(dut, vectors, 0.0, 0.0, on_start=lambda steps: starts.append(_cycle(steps)), maxima=maxima)
    report = {"outputs": _check(vectors, [[int(w) for w in f.tdata] for f in frames]),
              "input_starts": starts, "output_ends": [_cycle(f.sim_time_end) for f in frames], "occupancy": maxima}
    with open(REPORT, "w") as f:
        json.dump(report, f)
