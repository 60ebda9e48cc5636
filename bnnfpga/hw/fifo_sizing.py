"""FIFO depths behind the forks of a branching dataflow (docs/DESIGN.md 4.5), from the
engines' dependency counts: the depth that keeps two branches from deadlocking where they
join again.

A fork hands every pixel to both branches and lets a pixel go only when both have taken it.
The join behind them takes a pixel of each branch at a time. When one branch needs many
pixels before it emits its first (a 3×3 window needs a row and a bit) and the other few (a
shortcut needs one), the short branch must hold the difference, or the fork stalls on it
while the long branch waits for pixels the fork cannot send: a deadlock.

``needs(e)[k]`` is the number of input pixels engine e must have taken before it can emit
output unit k (a pixel, a window position, a vector); composing them along a branch gives,
for every pixel k of the join, the fork pixels the branch needs, N_branch(k). A branch's FIFO
must hold max_k N_other(k) − N_this(k) pixels: those the fork sends the other branch before
this one can move on. That keeps the branches from deadlocking; to keep them from slowing
each other down it must also hold the pixels the fork sends while a pixel crosses the other
branch's engines at the steady rate (their latency over the cycles per pixel). The sum is
the FIFO's predicted ``occupancy``; its depth is the power of two above it plus MARGIN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bnnfpga.hw.engines import MVU_PIPELINE, Dataflow, Engine, Flatten, ForkStage, JoinStage, Mvu, OutputStage, Pool, Window
from bnnfpga.hw.modules import fifo_depth

# Words beyond the predicted occupancy: the output register of the engine in front and one
# word of slack for the fork's own handshake.
MARGIN = 2


@dataclass(frozen=True)
class ForkFifos:
    """The two FIFOs behind one fork: predicted maximum occupancy and depth, per output."""

    fork: int  # engine index
    join: int | None  # where the branches meet (None: not found, each FIFO holds a frame)
    occupancy: tuple[int, int]
    depths: tuple[int, int]


def _window_needs(in_h: int, in_w: int, out_h: int, out_w: int, kernel, strides, pads) -> np.ndarray:
    (kh, kw), (sh, sw), (top, left, _, _) = kernel, strides, pads
    oy, ox = np.divmod(np.arange(out_h * out_w), out_w)
    row = oy * sh + kh - 1 - top  # the last input row and column the window reads
    col = np.minimum(ox * sw + kw - 1 - left, in_w - 1)
    return np.where(row >= in_h, in_h * in_w, row * in_w + col + 1)


def needs(e: Engine) -> np.ndarray:
    """Input units engine ``e`` has taken (on each input) before it can emit output unit k."""
    if isinstance(e, Window):
        return _window_needs(e.inp.h, e.inp.w, e.out_h, e.out_w, e.kernel, e.strides, e.pads)
    if isinstance(e, Pool):
        return _window_needs(e.inp.h, e.inp.w, e.out.h, e.out.w, e.kernel, e.strides, e.pads)
    if isinstance(e, Flatten):
        return np.array([e.inp.count])  # the whole vector
    if isinstance(e, Mvu):
        return np.arange(1, e.reps + 1)
    return np.arange(1, e.out.count + 1)


def _branch(flow: Dataflow, readers: dict, start: tuple[int, int]) -> tuple[list[int], tuple[int, int] | None]:
    """The engines from a fork output to the first join (through the first outputs of any
    further forks), and (join, input slot); None where the branch ends without one."""
    path: list[int] = []
    port = start
    while port in readers:
        j, slot = readers[port]
        if isinstance(flow.engines[j], JoinStage):
            return path, (j, slot)
        if isinstance(flow.engines[j], OutputStage):
            break
        path.append(j)
        port = (j, 0)
    return path, None


def _needed_at_fork(flow: Dataflow, path: list[int], units: int) -> np.ndarray:
    """Fork pixels the branch ``path`` needs for each of the join's ``units`` input units."""
    need = np.arange(1, units + 1)
    for j in reversed(path):
        need = needs(flow.engines[j])[need - 1]
    return need


def _latency(flow: Dataflow, path: list[int]) -> int:
    """Cycles from a pixel entering the branch to the first output that needed it leaving
    it, at the steady rate: each engine's cycles per output unit plus its pipeline."""
    cycles = 0
    for j in path:
        e = flow.engines[j]
        units = len(needs(e))
        cycles += math.ceil(e.cycles / units) + (MVU_PIPELINE if isinstance(e, Mvu) else 1)
    return cycles


def _pow2_at_least(n: int) -> int:
    return max(2, 1 << (max(1, n) - 1).bit_length())


def fork_fifos(flow: Dataflow) -> list[ForkFifos]:
    """The FIFOs behind every fork: at least what any FIFO before that reader gets
    (modules.fifo_depth), and what the branches need."""
    readers = flow.readers
    result = []
    for f, e in enumerate(flow.engines):
        if not isinstance(e, ForkStage):
            continue
        (path0, end0), (path1, end1) = _branch(flow, readers, (f, 0)), _branch(flow, readers, (f, 1))
        base = tuple(fifo_depth(e, flow.engines[readers[(f, p)][0]]) for p in (0, 1))
        if end0 is None or end1 is None or end0[0] != end1[0]:
            frame = e.inp.count  # branches that never meet again (or meet further on): a frame each
            result.append(ForkFifos(f, None, (frame, frame), tuple(max(b, _pow2_at_least(frame + MARGIN)) for b in base)))
            continue
        units = flow.engines[end0[0]].out.count
        n0, n1 = _needed_at_fork(flow, path0, units), _needed_at_fork(flow, path1, units)
        # Pixels the fork sends while a pixel crosses the other branch's engines at full rate
        per_pixel = flow.cycles_per_frame / max(1, e.inp.count)
        lag0, lag1 = (math.ceil(_latency(flow, path) / per_pixel) for path in (path0, path1))
        occupancy = (int(np.max(n1 - n0, initial=0)) + lag1, int(np.max(n0 - n1, initial=0)) + lag0)
        depths = tuple(max(b, _pow2_at_least(o + MARGIN)) for b, o in zip(base, occupancy))
        result.append(ForkFifos(f, end0[0], occupancy, depths))
    return result


def fifo_depths(flow: Dataflow) -> dict[int, tuple[int, int]]:
    """Engine index of every fork → the depths of the FIFOs behind its two outputs."""
    return {fifos.fork: fifos.depths for fifos in fork_fifos(flow)}
