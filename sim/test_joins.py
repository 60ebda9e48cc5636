"""cocotb test for engines with several stream ports (a fork, an add, a concat), driven by the
JSON file $BNNFPGA_TB_VECTORS: {sources: {prefix: words}, sinks: {prefix: expected words},
seed[, idle, backpressure]}. Every source sends with random idle cycles and every sink takes
with random back-pressure of its own; each sink must receive exactly its expected words."""

from __future__ import annotations

import json
import os

import cocotb
from axis import CLOCK_NS, random_pauses
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


async def _take(sink: AxiStreamSink, count: int) -> list[int]:
    words: list[int] = []
    while len(words) < count:
        frame = await sink.recv(compact=False)
        words += [int(w) for w in frame.tdata]
    return words


@cocotb.test()
async def every_port_matches(dut):
    with open(os.environ["BNNFPGA_TB_VECTORS"]) as f:
        vectors = json.load(f)
    seed, idle, backpressure = vectors["seed"], vectors.get("idle", 0.3), vectors.get("backpressure", 0.3)
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    sources, sinks = {}, {}
    for i, prefix in enumerate(sorted(vectors["sources"])):
        sources[prefix] = AxiStreamSource(AxiStreamBus.from_prefix(dut, prefix), dut.clk, dut.rst_n,
                                          reset_active_level=False, byte_lanes=1)
        sources[prefix].set_pause_generator(random_pauses(seed + 2 * i, idle))
    for i, prefix in enumerate(sorted(vectors["sinks"])):
        sinks[prefix] = AxiStreamSink(AxiStreamBus.from_prefix(dut, prefix), dut.clk, dut.rst_n,
                                      reset_active_level=False, byte_lanes=1)
        sinks[prefix].set_pause_generator(random_pauses(seed + 2 * i + 1, backpressure))
    dut.rst_n.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst_n.value = 1
    await RisingEdge(dut.clk)
    for prefix, words in vectors["sources"].items():
        await sources[prefix].send(AxiStreamFrame(words))
    budget = 20 * CLOCK_NS * (max(len(w) for w in vectors["sources"].values()) + 100)
    for prefix, expected in vectors["sinks"].items():
        got = await with_timeout(_take(sinks[prefix], len(expected)), budget, "ns")
        bad = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
        assert not bad, f"{prefix}: {len(bad)} of {len(got)} words differ, first at {bad[0]}: got {got[bad[0]]:x}, expected {expected[bad[0]]:x}"
