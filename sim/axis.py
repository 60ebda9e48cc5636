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


CLOCK_NS = 10


async def start(dut, seed: int, idle: float = 0.3, backpressure: float = 0.3):
    """Clock, reset, and a word-per-beat source on s_axis and sink on m_axis."""
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
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


async def send_words(source: AxiStreamSource, words: list[int], frame_words: int = 0, on_start=None) -> None:
    """Queue ``words``, as frames of ``frame_words`` (all in one when 0); ``on_start(steps)``
    gets the simulation time each frame's first beat went out."""
    size = frame_words or len(words)
    for i in range(0, len(words), size):
        done = (lambda frame: on_start(frame.sim_time_start)) if on_start else None
        await source.send(AxiStreamFrame(words[i:i + size], tx_complete=done))


async def receive_frames(sink: AxiStreamSink, count: int) -> list[AxiStreamFrame]:
    """Frames (as closed by TLAST, when the design has one) until ``count`` words arrived."""
    frames: list[AxiStreamFrame] = []
    received = 0
    while received < count:
        frames.append(await sink.recv(compact=False))
        received += len(frames[-1].tdata)
    return frames
