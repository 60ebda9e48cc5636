"""AXI-Stream driver and monitor helpers on top of cocotbext-axi, with random idle cycles on
the input and random back-pressure on the output (every stream test runs with both)."""

from __future__ import annotations

import random

from cocotb.clock import Clock
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


def random_pauses(seed: int, probability: float):
    """A pause generator for cocotbext-axi: True (pause this cycle) with ``probability``."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < probability


async def start(dut, seed: int, idle: float = 0.3, backpressure: float = 0.3):
    """Clock, reset, and a word-per-beat source on s_axis and sink on m_axis."""
    Clock(dut.clk, 10, unit="ns").start()
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst_n,
                             reset_active_level=False, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst_n,
                         reset_active_level=False, byte_lanes=1)
    source.set_pause_generator(random_pauses(seed, idle))
    sink.set_pause_generator(random_pauses(seed + 1, backpressure))
    dut.rst_n.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst_n.value = 1
    await RisingEdge(dut.clk)
    return source, sink


async def send_words(source: AxiStreamSource, words: list[int]) -> None:
    await source.send(AxiStreamFrame(words))


async def receive_frames(sink: AxiStreamSink, count: int) -> list[list[int]]:
    """Frames (as closed by TLAST, when the design has one) until ``count`` words arrived."""
    frames: list[list[int]] = []
    received = 0
    while received < count:
        frame = await sink.recv(compact=False)
        frames.append([int(w) for w in frame.tdata])
        received += len(frames[-1])
    return frames
