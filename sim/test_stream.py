"""cocotb test for any stream engine: stream the words in $BNNFPGA_TB_VECTORS (JSON: inputs,
expected, seed) into s_axis with random idle cycles, take m_axis with random back-pressure,
and compare every output word, in order, with the expected (golden) words."""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import with_timeout

from axis import receive_words, send_words, start


@cocotb.test()
async def stream_matches_golden(dut):
    vectors = json.loads(open(os.environ["BNNFPGA_TB_VECTORS"]).read())
    source, sink = await start(dut, vectors["seed"], vectors.get("idle", 0.3), vectors.get("backpressure", 0.3))
    cocotb.start_soon(send_words(source, vectors["inputs"]))
    budget = 200 * (len(vectors["inputs"]) + len(vectors["expected"]) + 100)
    got = await with_timeout(receive_words(sink, len(vectors["expected"])), budget, "ns")
    bad = [i for i, (g, e) in enumerate(zip(got, vectors["expected"])) if g != e]
    assert not bad, (f"{len(bad)} of {len(got)} words differ, first at {bad[0]}: "
                     f"got {got[bad[0]]:x}, expected {vectors['expected'][bad[0]]:x}")
