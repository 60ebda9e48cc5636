"""cocotb test for rtl/bnn_mvu.sv: stream the chunks given in $BNNFPGA_TB_VECTORS (JSON:
inputs, expected, seed) with random idles and back-pressure; the scoreboard compares every
output word with the golden model's."""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import with_timeout

from axis import receive_words, send_words, start


@cocotb.test()
async def mvu_matches_golden(dut):
    vectors = json.loads(open(os.environ["BNNFPGA_TB_VECTORS"]).read())
    source, sink = await start(dut, vectors["seed"])
    cocotb.start_soon(send_words(source, vectors["inputs"]))
    got = await with_timeout(receive_words(sink, len(vectors["expected"])), 200 * (len(vectors["inputs"]) + 100), "ns")
    bad = [i for i, (g, e) in enumerate(zip(got, vectors["expected"])) if g != e]
    assert not bad, f"{len(bad)} of {len(got)} words differ, first at {bad[0]}: got {got[bad[0]]:x}, expected {vectors['expected'][bad[0]]:x}"
