"""How a folded layer's parameters are laid out for PE lanes and SIMD chunks, shared by the
HLS and RTL backends: weights[pe][nf * SF + sf] holds elements sf*SIMD ... of row nf*PE + pe,
element s at bits [s·B, (s+1)·B). B is ``weight_code_bits(weight dtype)``:

- B = 1, ±1 weights: bit 1 = +1;
- B = 2, ternary weights: bit 0 the sign (1 = +1), bit 1 set for a non-zero weight;
- B ≥ 3, k-bit integer weights: two's complement. A 2-bit integer weight that is not
  ternary ({−2, −1, 0, +1}) takes 3 bits, so that B = 2 always means the ternary code.
- B ≥ 3, power-of-two weights (``pow2``, INQ): bit 0 the sign (1 = +), bits [1, B − 1) the
  exponent e of |w| = 2^e, bit B − 1 set for a non-zero weight: the ternary code with the
  exponent between its two bits.
- B = M, M binary weight bases (ABC-Net, ``bases`` (M, MH, MW) ±1): bit i the sign of base
  i (1 = +1); the integer weights are then not coded, the per-row gains combine the bases.

Per-channel values go to lane channel % PE."""

from __future__ import annotations

import numpy as np

from bnnfpga.hw.fold import Fold
from bnnfpga.ir.bits import pack_bits
from bnnfpga.ir.types import BIPOLAR, TERNARY, DType


def weight_code_bits(dtype: DType) -> int:
    """B, the bits that code one weight of ``dtype`` in the weight memories."""
    if dtype == BIPOLAR:
        return 1
    if dtype == TERNARY:
        return 2
    return max(dtype.bits, 3)


def is_power_of_two_code(dtype: DType) -> bool:
    return dtype.kind == "pow2"


def _element_bits(rows: np.ndarray, weight_bits: int, power_of_two: bool, bases: np.ndarray | None) -> np.ndarray:
    """(MH, MW) weights (or (M, MH, MW) bases) → (MH, MW, B) bits, bit b of element at [..., b]."""
    if bases is not None:
        if weight_bits != len(bases):
            raise ValueError(f"{len(bases)} weight bases take {len(bases)} bits per weight, not {weight_bits}")
        return np.moveaxis(np.asarray(bases) > 0, 0, -1)
    if weight_bits == 1:
        return (rows > 0)[..., None]
    if weight_bits == 2:
        return np.stack([rows > 0, rows != 0], axis=-1)
    if power_of_two:
        magnitude = np.abs(rows.astype(np.int64))
        exponent = np.where(magnitude > 0, np.frexp(magnitude)[1] - 1, 0)  # |w| = 2^e exactly
        exponent_bits = (exponent[..., None] >> np.arange(weight_bits - 2)) & 1
        return np.concatenate([(rows > 0)[..., None], exponent_bits.astype(bool), (rows != 0)[..., None]], axis=-1)
    codes = rows.astype(np.int64) & ((1 << weight_bits) - 1)
    return ((codes[..., None] >> np.arange(weight_bits)) & 1).astype(bool)


def weight_chunks(rows: np.ndarray, fold: Fold, weight_bits: int, power_of_two: bool = False,
                  bases: np.ndarray | None = None) -> list[list[int]]:
    """Integer rows (MH, MW), or their ``bases`` (M, MH, MW), → [pe][nf * SF + sf] chunk
    values (Python ints of SIMD·B bits)."""
    mh, mw = rows.shape
    nf, sf = mh // fold.pe, mw // fold.simd
    words = pack_bits(_element_bits(rows, weight_bits, power_of_two, bases).reshape(mh, sf, -1))  # (MH, SF, words) uint64
    by_lane = words.reshape(nf, fold.pe, sf, -1).transpose(1, 0, 2, 3).reshape(fold.pe, nf * sf, -1)
    return [[sum(int(w) << (64 * i) for i, w in enumerate(chunk)) for chunk in lane] for lane in by_lane]


def by_lane(values: np.ndarray, pe: int) -> list[list[int]]:
    """Per-channel values (MH,) → [pe][nf] with channel = nf * PE + pe."""
    return [[int(v) for v in lane] for lane in np.asarray(values).reshape(-1, pe).T]


def weight_words(rows: np.ndarray, fold: Fold, weight_bits: int, power_of_two: bool = False,
                 bases: np.ndarray | None = None) -> list[int]:
    """Rows (MH, MW) (or their ``bases``) → one word of PE·SIMD·B bits per tile nf·SF + sf, lane
    pe at bits [pe·SIMD·B, (pe+1)·SIMD·B): the RTL MVU reads all lanes' chunks with one memory
    read."""
    lanes = weight_chunks(rows, fold, weight_bits, power_of_two, bases)
    lane_bits = fold.simd * weight_bits
    return [sum(lane[t] << (pe * lane_bits) for pe, lane in enumerate(lanes)) for t in range(len(lanes[0]))]
