"""How a folded layer's parameters are laid out for PE lanes and SIMD chunks, shared by the
HLS and RTL backends: weights[pe][nf * SF + sf] holds elements sf*SIMD ... of row nf*PE + pe
(bit s = element s, bit 1 = +1), and per-channel values go to lane channel % PE."""

from __future__ import annotations

import numpy as np

from bnnfpga.folding import Fold
from bnnfpga.golden.packing import pack_bits


def weight_chunks(rows: np.ndarray, fold: Fold) -> list[list[int]]:
    """±1 rows (MH, MW) → [pe][nf * SF + sf] chunk values (Python ints of SIMD bits)."""
    mh, mw = rows.shape
    nf, sf = mh // fold.pe, mw // fold.simd
    words = pack_bits(rows.reshape(mh, sf, fold.simd) > 0)  # (MH, SF, words) uint64
    by_lane = words.reshape(nf, fold.pe, sf, -1).transpose(1, 0, 2, 3).reshape(fold.pe, nf * sf, -1)
    return [[sum(int(w) << (64 * i) for i, w in enumerate(chunk)) for chunk in lane] for lane in by_lane]


def by_lane(values: np.ndarray, pe: int) -> list[list[int]]:
    """Per-channel values (MH,) → [pe][nf] with channel = nf * PE + pe."""
    return [[int(v) for v in lane] for lane in np.asarray(values).reshape(-1, pe).T]


def weight_words(rows: np.ndarray, fold: Fold) -> list[int]:
    """±1 rows (MH, MW) → one word of PE·SIMD bits per tile nf·SF + sf, lane pe at bits
    [pe·SIMD, (pe+1)·SIMD): the RTL MVU reads all lanes' chunks with one memory read."""
    lanes = weight_chunks(rows, fold)
    return [sum(lane[t] << (pe * fold.simd) for pe, lane in enumerate(lanes)) for t in range(len(lanes[0]))]
