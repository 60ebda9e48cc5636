"""PE/SIMD per layer. For now a simple rule (the largest divisors under a cap) plus user
overrides (``--fold layer=PE,SIMD``); the cost-model-driven search is a later issue."""

from __future__ import annotations

from dataclasses import dataclass

from bnnfpga.errors import BnnfpgaError
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import DotProduct

DEFAULT_MAX_PE = 16
DEFAULT_MAX_SIMD = 32


@dataclass(frozen=True)
class Fold:
    pe: int
    simd: int


def largest_divisor(n: int, cap: int) -> int:
    return max(d for d in range(1, min(n, cap) + 1) if n % d == 0)


def parse_fold_options(options: list[str] | None) -> dict[str, Fold]:
    """'layer=PE,SIMD' strings → {layer: Fold}."""
    folds = {}
    for text in options or []:
        name, _, values = text.partition("=")
        try:
            pe, simd = (int(v) for v in values.split(","))
        except ValueError:
            raise BnnfpgaError(f"--fold {text!r}: expected LAYER=PE,SIMD, e.g. conv1=8,16") from None
        folds[name.strip()] = Fold(pe, simd)
    return folds


def choose_folding(graph: Graph, overrides: dict[str, Fold] | None = None,
                   max_pe: int = DEFAULT_MAX_PE, max_simd: int = DEFAULT_MAX_SIMD) -> dict[str, Fold]:
    """PE divides the output channels (MH), SIMD divides the elements per output (MW)."""
    overrides = dict(overrides or {})
    folds = {}
    for node in graph.nodes:
        if not isinstance(node.op, DotProduct):
            continue
        mh, mw = node.op.out_channels, node.op.fan_in
        fold = overrides.pop(node.name, None) or Fold(largest_divisor(mh, max_pe), largest_divisor(mw, max_simd))
        if fold.pe < 1 or mh % fold.pe:
            raise BnnfpgaError(f"layer {node.name}: PE={fold.pe} must divide the {mh} output channels")
        if fold.simd < 1 or mw % fold.simd:
            raise BnnfpgaError(f"layer {node.name}: SIMD={fold.simd} must divide the {mw} inputs per output")
        folds[node.name] = fold
    if overrides:
        layers = ", ".join(n.name for n in graph.nodes if isinstance(n.op, DotProduct))
        raise BnnfpgaError(f"--fold names unknown layers {sorted(overrides)}; layers: {layers}")
    return folds
