"""A layer's folding: how many PE rows and SIMD elements its engine works on per cycle, where
its weights live and what multiplies; the board-independent default folding and the checks of
--fold."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bnnfpga.errors import BnnfpgaError
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import DotProduct

DEFAULT_MAX_PE = 16
DEFAULT_MAX_SIMD = 32
# A weight ROM at least this deep fills a quarter of its BRAM tiles (512 x 72 each): it goes to
# BRAM. A shallower one goes to LUTs unless the folding puts it in BRAM (WeightMemory.BRAM).
BRAM_MIN_DEPTH = 128


class WeightMemory(enum.Enum):
    """Where a layer's weight ROM lives."""

    AUTO = "auto"  # by depth: block RAM from BRAM_MIN_DEPTH words, else LUTs
    LUT = "lut"  # LUT ROM, for ROMs under BRAM_MIN_DEPTH words: up to 32 words the XNOR absorbs it
    BRAM = "bram"  # block RAM: free of LUTs, but a tile per 72 bits of width however shallow


class Products(enum.Enum):
    """What computes a layer's w·x products (k-bit integer weights on integer inputs; the
    other engines add, count or shift, and have none)."""

    FABRIC = "fabric"  # shift-adds in LUTs
    DSP = "dsp"  # one DSP48 multiplier per lane and element (docs/DESIGN.md 4.4)


@dataclass(frozen=True)
class Fold:
    """A layer's folding: PE rows and SIMD elements per cycle, where its weights live and what
    computes its products."""

    pe: int
    simd: int
    weights: WeightMemory = WeightMemory.AUTO
    products: Products = Products.FABRIC


def largest_divisor(n: int, cap: int) -> int:
    return max(d for d in range(1, min(n, cap) + 1) if n % d == 0)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def parse_fold_options(options: list[str] | None) -> dict[str, Fold]:
    """'layer=PE,SIMD[,auto|lut|bram][,fabric|dsp]' strings → {layer: Fold}."""
    folds = {}
    memories = {m.value: m for m in WeightMemory}
    products = {p.value: p for p in Products}
    for text in options or []:
        name, _, values = text.partition("=")
        fields = [v.strip().lower() for v in values.split(",")]
        try:
            pe, simd = int(fields[0]), int(fields[1])
            choices = fields[2:]
            weights = memories[choices.pop(0)] if choices and choices[0] in memories else WeightMemory.AUTO
            product = products[choices.pop(0)] if choices else Products.FABRIC
            if choices:
                raise ValueError
        except (ValueError, IndexError, KeyError):
            raise BnnfpgaError(f"--fold {text!r}: expected LAYER=PE,SIMD[,MEMORY][,PRODUCTS] with MEMORY one of "
                               f"{', '.join(memories)} and PRODUCTS one of {', '.join(products)}, e.g. conv1=8,16, "
                               "conv1=8,16,bram or fc1=4,16,dsp") from None
        folds[name.strip()] = Fold(pe, simd, weights, product)
    return folds


def check_overrides(graph: Graph, overrides: dict[str, Fold]) -> None:
    layers = {n.name: n.op for n in graph.nodes if isinstance(n.op, DotProduct)}
    unknown = sorted(set(overrides) - set(layers))
    if unknown:
        raise BnnfpgaError(f"--fold names unknown layers {unknown}; layers: {', '.join(layers)}")
    for name, fold in overrides.items():
        mh, mw = layers[name].out_channels, layers[name].fan_in
        if fold.pe < 1 or mh % fold.pe:
            raise BnnfpgaError(f"layer {name}: PE={fold.pe} must divide the {mh} output channels")
        if fold.simd < 1 or mw % fold.simd:
            raise BnnfpgaError(f"layer {name}: SIMD={fold.simd} must divide the {mw} inputs per output")
        depth = (mh // fold.pe) * (mw // fold.simd)
        if fold.weights is WeightMemory.LUT and depth >= BRAM_MIN_DEPTH:
            # Deep ROMs in LUTs cost about 30 LUT per 64 bits (16,672 LUT against 7.5 BRAM36 for
            # 512 x 512 bits in yosys), and "auto" lets synthesis put them in BRAM anyway.
            raise BnnfpgaError(f"layer {name}: PE={fold.pe}, SIMD={fold.simd} makes a weight ROM of {depth} words; "
                               f"LUT ROMs are supported below {BRAM_MIN_DEPTH} words (deeper ones go to BRAM)")


def choose_folding(graph: Graph, overrides: dict[str, Fold] | None = None,
                   max_pe: int = DEFAULT_MAX_PE, max_simd: int = DEFAULT_MAX_SIMD) -> dict[str, Fold]:
    """The simple rule, independent of any board: the largest PE dividing the output channels
    (MH) and SIMD dividing the inputs per output (MW) under caps; ``overrides`` win."""
    overrides = dict(overrides or {})
    check_overrides(graph, overrides)
    folds = {}
    for node in graph.nodes:
        if isinstance(node.op, DotProduct):
            mh, mw = node.op.out_channels, node.op.fan_in
            folds[node.name] = overrides.get(node.name) or Fold(largest_divisor(mh, max_pe), largest_divisor(mw, max_simd))
    return folds


