"""Element types and tensor types of the IR.

Shapes are per frame (no batch dimension): ``(C, H, W)`` for feature maps, ``(N,)`` for
vectors. Element types follow docs/DESIGN.md 3.1: a bipolar value is stored as one bit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DType:
    """Element type. ``kind`` is 'bipolar' ({-1,+1}), 'ternary' ({-1,0,+1} in two bits),
    'uint', 'int' (two's complement), 'pow2' (weights only: 0 or ±2^e with 0 ≤ e < 2^(bits−2),
    coded as a sign bit, bits − 2 exponent bits and a non-zero bit, docs/DESIGN.md 3.11) or
    'float'."""

    kind: str
    bits: int

    def __post_init__(self) -> None:
        if self.kind not in ("bipolar", "ternary", "uint", "int", "pow2", "float"):
            raise ValueError(f"unknown dtype kind {self.kind!r}")
        if self.kind == "bipolar" and self.bits != 1:
            raise ValueError("bipolar values are 1 bit")
        if self.kind == "ternary" and self.bits != 2:
            raise ValueError("ternary values are 2 bits")
        if self.kind == "pow2" and not 3 <= self.bits <= 7:
            raise ValueError("power-of-two codes are 3 to 7 bits (1 to 5 exponent bits)")

    @property
    def is_integer(self) -> bool:
        return self.kind in ("bipolar", "ternary", "uint", "int", "pow2")

    @property
    def exponents(self) -> int:
        """Power-of-two codes: the number of exponents, 2^(bits − 2)."""
        return 1 << (self.bits - 2) if self.kind == "pow2" else 0

    @property
    def signed(self) -> bool:
        """Two's complement integers (ternary is int2 that never holds −2)."""
        return self.kind in ("int", "ternary")

    @property
    def min(self) -> int:
        if self.kind in ("bipolar", "ternary"):
            return -1
        if self.kind == "uint":
            return 0
        if self.kind == "int":
            return -(1 << (self.bits - 1))
        if self.kind == "pow2":
            return -(1 << (self.exponents - 1))
        raise ValueError("float has no integer range")

    @property
    def max(self) -> int:
        if self.kind in ("bipolar", "ternary"):
            return 1
        if self.kind == "uint":
            return (1 << self.bits) - 1
        if self.kind == "int":
            return (1 << (self.bits - 1)) - 1
        if self.kind == "pow2":
            return 1 << (self.exponents - 1)
        raise ValueError("float has no integer range")

    @property
    def magnitude(self) -> int:
        """The largest |value| of the type: max(|min|, |max|)."""
        return max(abs(self.min), abs(self.max))

    def __str__(self) -> str:
        if self.kind == "pow2":
            return f"pow2_{self.bits}"
        return {"bipolar": "bipolar", "ternary": "ternary", "float": "float"}.get(self.kind, f"{self.kind}{self.bits}")

    @staticmethod
    def parse(text: str) -> DType:
        if text == "bipolar":
            return BIPOLAR
        if text == "float":
            return FLOAT
        if text == "ternary":
            return TERNARY
        if text.startswith("pow2_") and text[5:].isdigit():
            return DType("pow2", int(text[5:]))
        for kind in ("uint", "int"):
            if text.startswith(kind) and text[len(kind):].isdigit():
                return DType(kind, int(text[len(kind):]))
        raise ValueError(f"unknown dtype {text!r}")


BIPOLAR = DType("bipolar", 1)
TERNARY = DType("ternary", 2)
FLOAT = DType("float", 64)

# The widest integer weights the MVU engines take (docs/DESIGN.md 5: k = 2…8), as shift-and-add
# products in LUTs (DSP slices are for a later engine).
MAX_ENGINE_WEIGHT_BITS = 8
# Up to this width an integer weight grid is cheaper than the two gained planes of asymmetric
# ternary rows (docs/DESIGN.md 3.12), so a TTQ row whose ratio happens to fit is kept a grid.
NARROW_WEIGHT_BITS = 4


def power_of_two_type(magnitude: int) -> DType:
    """The narrowest power-of-two code holding 0 and ±2^e for 2^e ≤ ``magnitude``."""
    exponents = max(1, magnitude.bit_length())
    return DType("pow2", 2 + max(1, (exponents - 1).bit_length()))


def uint(bits: int) -> DType:
    return DType("uint", bits)


def integer_type(lo: int, hi: int) -> DType:
    """The narrowest element type holding every integer in [lo, hi]: bipolar for {−1, +1}
    only when asked by the caller; here ternary for [−1, 1], else uint or int."""
    if lo >= 0:
        return uint(max(1, hi.bit_length()))
    if -1 <= lo and hi <= 1:
        return TERNARY
    return signed_width(lo, hi)


def signed_width(lo: int, hi: int) -> DType:
    """The narrowest two's complement type holding every integer in [lo, hi]."""
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return DType("int", bits)


@dataclass(frozen=True)
class TensorType:
    shape: tuple[int, ...]
    dtype: DType

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __str__(self) -> str:
        return f"{self.dtype}[{'x'.join(map(str, self.shape))}]"
