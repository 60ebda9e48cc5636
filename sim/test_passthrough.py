"""cocotb test for stream modules that must pass every word through unchanged (FIFO): random
words, random idles and back-pressure; the scoreboard checks order and values."""

from __future__ import annotations

import os
import random

import cocotb
from cocotb.triggers import with_timeout

from axis import receive_words, send_words, start


@cocotb.test()
async def words_pass_through_in_order(dut):
    seed = int(os.environ.get("BNNFPGA_TB_SEED", "1"))
    width = len(dut.s_axis_tdata)
    rng = random.Random(seed)
    words = [rng.getrandbits(width) for _ in range(300)]
    source, sink = await start(dut, seed, idle=0.4, backpressure=0.4)
    cocotb.start_soon(send_words(source, words))
    got = await with_timeout(receive_words(sink, len(words)), 100_000, "ns")
    assert got == words
