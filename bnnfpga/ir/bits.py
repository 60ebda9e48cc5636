"""Bit packing as docs/DESIGN.md 3.1 defines it: element i is bit i % 64 of uint64 word
i // 64, unused high bits of the last word are 0. The golden model and the hardware layout
(weight memories, streams) both pack through here, so the rule is written once."""

import numpy as np


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack the last axis of a 0/1 (or bool) array into little-endian uint64 words."""
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[-1]
    words = (n + 63) // 64
    packed = np.packbits(bits, axis=-1, bitorder="little")  # uint8, ceil(n/8) bytes
    pad = words * 8 - packed.shape[-1]
    if pad:
        packed = np.concatenate([packed, np.zeros(packed.shape[:-1] + (pad,), np.uint8)], axis=-1)
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def unpack_bits(words: np.ndarray, n: int) -> np.ndarray:
    """Inverse of ``pack_bits``: the first ``n`` bits of each row as a uint8 0/1 array."""
    as_bytes = np.ascontiguousarray(words.astype("<u8", copy=False)).view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, count=n, bitorder="little")


def pack_bipolar(values: np.ndarray) -> np.ndarray:
    """Pack ±1 values (+1 → bit 1, −1 → bit 0) along the last axis."""
    return pack_bits(np.asarray(values) > 0)


def popcount(words: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.bitwise_count(words).sum(axis=axis, dtype=np.int64)
