"""How a folded layer's parameters are laid out for PE lanes and SIMD chunks, shared by the
HLS and RTL backends: weights[pe][nf * SF + sf] holds elements sf*SIMD ... of row nf*PE + pe,
element s at bits [s·B, (s+1)·B): B = 1 for ±1 weights (bit 1 = +1), B = 2 for ternary
weights (bit 0 the sign, 1 = +1; bit 1 set for a non-zero weight). Per-channel values go to
lane channel % PE."""

from __future__ import annotations

import numpy as np

from bnnfpga.folding import Fold
from bnnfpga.golden.packing import pack_bits


def weight_element_bits(rows: np.ndarray) -> int:
    """B: 1 for ±1 rows, 2 for ternary rows."""
    return 1 if np.all(np.abs(rows) == 1) else 2


def weight_chunks(rows: np.ndarray, fold: Fold) -> list[list[int]]:
    """±1 or ternary rows (MH, MW) → [pe][nf * SF + sf] chunk values (Python ints of SIMD·B bits)."""
    mh, mw = rows.shape
    nf, sf = mh // fold.pe, mw // fold.simd
    bits = (rows > 0)[..., None]
    if weight_element_bits(rows) == 2:
        bits = np.concatenate([rows[..., None] > 0, rows[..., None] != 0], axis=-1)  # (MH, MW, 2): sign, non-zero
    words = pack_bits(bits.reshape(mh, sf, -1))  # (MH, SF, words) uint64
    by_lane = words.reshape(nf, fold.pe, sf, -1).transpose(1, 0, 2, 3).reshape(fold.pe, nf * sf, -1)
    return [[sum(int(w) << (64 * i) for i, w in enumerate(chunk)) for chunk in lane] for lane in by_lane]


def by_lane(values: np.ndarray, pe: int) -> list[list[int]]:
    """Per-channel values (MH,) → [pe][nf] with channel = nf * PE + pe."""
    return [[int(v) for v in lane] for lane in np.asarray(values).reshape(-1, pe).T]


def weight_words(rows: np.ndarray, fold: Fold) -> list[int]:
    """Rows (MH, MW) → one word of PE·SIMD·B bits per tile nf·SF + sf, lane pe at bits
    [pe·SIMD·B, (pe+1)·SIMD·B): the RTL MVU reads all lanes' chunks with one memory read."""
    lanes = weight_chunks(rows, fold)
    lane_bits = fold.simd * weight_element_bits(rows)
    return [sum(lane[t] << (pe * lane_bits) for pe, lane in enumerate(lanes)) for t in range(len(lanes[0]))]
