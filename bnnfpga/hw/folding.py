"""PE/SIMD per layer: the estimate of a folding (cycles, LUT/FF/BRAM per engine, frames/s,
latency) and the search that picks the folding for a board.

Cycles come from the engine chain (hw/engines.py: exact for the generated RTL), resources
from the calibrated per-module model (hw/cost_model.py) applied to the typed parameters of
the modules the generators instantiate (hw/modules.py ``instance_of``), FIFOs included.

The search (``search``) works per layer: a layer is a dot product with the window or
flatten engine feeding it. For every (PE, SIMD) with PE dividing the output channels and
SIMD the inputs per output, it prices the layer once; for a target of T cycles per frame
every layer takes its cheapest folding that runs in at most T cycles, so the engines'
initiation intervals are balanced against the slowest. "As fast as fits" is the smallest T
whose design fits the budget (a fraction of the board, 80% of LUT and BRAM by default).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

from bnnfpga.errors import BnnfpgaError
from bnnfpga.hw.cost_model import CostModel, Resources, default_model
from bnnfpga.hw.engines import Dataflow, Engine, Flatten, InputStage, Mvu, OutputStage, ResidualBinarizer, Window
from bnnfpga.hw.fifo_sizing import fifo_depths
from bnnfpga.hw.fold import BRAM_MIN_DEPTH, Fold, Products, WeightMemory, check_overrides, choose_folding, divisors
from bnnfpga.hw.lower import lower
from bnnfpga.hw.modules import ModuleInstance, MvuParams, instance_of
from bnnfpga.ir.graph import Graph

DEFAULT_UTILISATION = 0.8  # of the board's LUTs and BRAM: room for routing and the shell
CURVE_POINTS = 40  # points of the frames/s-vs-LUT trade-off curve
# What a BRAM share and a DSP share of the budget cost against a LUT share, for each Pareto front
# the search tries: the first is the even price, the others favour BRAM or DSP slices (LUTs
# scarce) or LUTs.
PRICES = ((1.0, 1.0), (0.25, 1.0), (0.05, 1.0), (4.0, 1.0), (1.0, 0.05), (0.25, 0.05), (0.05, 0.05))


# ---- budgets and estimates ----

@dataclass(frozen=True)
class Budget:
    """The resources a design may use: ``utilisation`` of the board's. The resource model's
    LUT and FF estimates are inflated by ``margin`` (its error, a fraction) before they are
    compared, so that a design the model puts just under the ceiling is still under it by
    synthesis. BRAM is worked out from the memory shapes and needs no margin."""

    lut: float
    ff: float
    bram36: float
    dsp: float
    utilisation: float
    board: str
    margin: float = 0.0

    @classmethod
    def of(cls, board, utilisation: float = DEFAULT_UTILISATION, margin: float = 0.0) -> Budget:
        if not 0 < utilisation <= 1:
            raise BnnfpgaError(f"utilisation ceiling {utilisation} must be in (0, 1]")
        if not 0 <= margin < 1:
            raise BnnfpgaError(f"resource model margin {margin} must be in [0, 1)")
        r = board.resources
        return cls(r["lut"] * utilisation, r["ff"] * utilisation, r["bram36"] * utilisation, r["dsp"] * utilisation,
                   utilisation, board.name, margin)

    def as_dict(self) -> dict[str, float]:
        return {"lut": self.lut, "ff": self.ff, "bram36": self.bram36, "dsp": self.dsp}

    def needs(self, r) -> dict[str, float]:
        """What resources ``r`` (LUT, FF, BRAM36, DSP) claim of the budget: LUT and FF with the
        margin; BRAM and DSP slices are counted, not estimated."""
        return {"lut": r.lut * (1 + self.margin), "ff": r.ff * (1 + self.margin), "bram36": r.bram36, "dsp": r.dsp}

    def excess(self, r) -> list[tuple[str, float, float]]:
        """(metric, need, budget) for every metric ``r`` takes more of than the budget has."""
        return [(m, need, getattr(self, m)) for m, need in self.needs(r).items() if need > getattr(self, m)]

    def admits(self, r) -> bool:
        """Whether resources ``r`` stay within the budget."""
        return not self.excess(r)

    def cost(self, r, bram_weight: float = 1.0, dsp_weight: float = 1.0) -> float:
        """One number to minimise per layer: the shares of the budget the layer takes, a BRAM
        share counting ``bram_weight`` times a LUT share and a DSP share ``dsp_weight`` times;
        a DSP slice on a board without any costs as if the board had a thousandth of one."""
        return (r.lut / max(self.lut, 1) + bram_weight * r.bram36 / max(self.bram36, 1e-9)
                + dsp_weight * r.dsp / max(self.dsp, 1e-3) + 0.25 * r.ff / max(self.ff, 1))


@dataclass(frozen=True)
class EngineEstimate:
    engine: Engine
    layer: str  # the row of the estimate table the engine belongs to
    instance: ModuleInstance  # the library module and FIFO priced, as the generators build them
    cycles: int
    resources: Resources  # the engine with the FIFO after it

    @property
    def module(self) -> str:
        return self.instance.module


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    fold: Fold | None
    cycles: int
    lut: float
    ff: float
    bram36: float
    modules: tuple[str, ...]
    weights: str  # where the weight ROM lives: "LUT", "BRAM", "const" (one word: wired in) or "-"
    dsp: float = 0.0


@dataclass
class Estimate:
    """A folded design: per engine and per layer, cycles and resources; totals; frames/s."""

    folding: dict[str, Fold]
    flow: Dataflow
    engines: list[EngineEstimate]
    clock_mhz: float

    @property
    def cycles_per_frame(self) -> int:
        return self.flow.cycles_per_frame

    @property
    def fps(self) -> float:
        return self.clock_mhz * 1e6 / self.cycles_per_frame

    @property
    def latency_cycles(self) -> int:
        return self.flow.latency_cycles

    @property
    def latency_us(self) -> float:
        return self.latency_cycles / self.clock_mhz

    @property
    def resources(self):
        """The whole design's resources."""
        return sum((e.resources for e in self.engines[1:]), start=self.engines[0].resources)

    @property
    def totals(self) -> dict[str, float]:
        return self.resources.as_dict()

    @property
    def bottleneck(self) -> EngineEstimate:
        return max(self.engines, key=lambda e: e.cycles)

    def layers(self) -> list[LayerEstimate]:
        rows: dict[str, list[EngineEstimate]] = {}
        for e in self.engines:
            rows.setdefault(e.layer, []).append(e)
        return [LayerEstimate(name, self.folding.get(name), max(e.cycles for e in group),
                              sum(e.resources.lut for e in group), sum(e.resources.ff for e in group),
                              sum(e.resources.bram36 for e in group), tuple(e.module for e in group),
                              _weight_memory(group), sum(e.resources.dsp for e in group))
                for name, group in rows.items()]

    def fits(self, budget: Budget) -> bool:
        return budget.admits(self.resources)


def _weight_memory(group: list[EngineEstimate]) -> str:
    mvus = [e.instance.params for e in group if isinstance(e.instance.params, MvuParams)]
    if not mvus:
        return "-"
    mvu = mvus[0]
    return "const" if mvu.tiles == 1 else "BRAM" if mvu.weights_in_bram else "LUT"


def layer_of(engine) -> str:
    if isinstance(engine, (Window, Flatten, ResidualBinarizer)):
        return engine.layer
    if isinstance(engine, InputStage):
        return "input"
    if isinstance(engine, OutputStage):
        return "output"
    return engine.name


def _price(engine: Engine, model: CostModel, consumer: Engine | None = None, depths: tuple[int, ...] = ()
           ) -> tuple[ModuleInstance, Resources]:
    """The module instance of ``engine`` and its resources with the FIFO(s) between it and
    ``consumer`` (``depths``: a fork's, sized for its branches)."""
    instance = instance_of(engine, consumer, depths)
    r = model.estimate(instance.params)
    for fifo in (instance.fifo, instance.second_fifo):
        if fifo is not None:
            r = r + model.estimate(fifo)
    return instance, r


def estimate(graph: Graph, folding: dict[str, Fold], clock_mhz: float, model=None) -> Estimate:
    """Cycles and resources of ``graph`` folded by ``folding``."""
    model = model or default_model()
    flow = lower(graph, folding, "RTL")
    depths = fifo_depths(flow)
    engines = []
    for i, e in enumerate(flow.engines):
        instance, r = _price(e, model, flow.reader(i), depths.get(i, ()))
        engines.append(EngineEstimate(e, layer_of(e), instance, e.cycles, r))
    return Estimate(dict(folding), flow, engines, clock_mhz)


# ---- the search ----

@dataclass(frozen=True)
class _Option:
    fold: Fold
    cycles: int
    resources: Resources


@dataclass
class CurvePoint:
    cycles: int
    fps: float
    lut: float
    ff: float
    bram36: float
    fits: bool


@dataclass
class SearchResult:
    estimate: Estimate
    budget: Budget
    curve: list[CurvePoint]  # the trade-off: fastest folding at each of a range of targets
    target_fps: float | None
    model: CostModel  # the resource model that priced it

    @property
    def goal(self) -> str:
        """What the search was asked for, in words."""
        return f"target {self.target_fps:,.0f} frames/s" if self.target_fps else "the fastest folding that fits"


def _layer_options(flow, model, fixed: dict[str, Fold]) -> dict[str, list[_Option]]:
    """Every folding of every layer (or just the fixed one), priced: each (PE, SIMD) with the
    weights where their depth puts them, and, for a ROM of more than one word, also in the
    other memory; each of those, for a layer that multiplies, also with DSP products."""
    options: dict[str, list[_Option]] = {}
    engines = list(flow.engines)
    for i, mvu in enumerate(engines):
        if not isinstance(mvu, Mvu):
            continue
        feeder = engines[i - 1]
        folds = [fixed[mvu.name]] if mvu.name in fixed else [Fold(pe, simd) for pe in divisors(mvu.mh) for simd in divisors(mvu.mw)]
        priced = []
        feeders = {}  # (SIMD, NF > 1) → the feeder's cycles and resources (its FIFO depends on both)
        for fold in folds:
            m = dataclasses.replace(mvu, fold=fold)
            key = fold.simd, mvu.mh > fold.pe
            if key not in feeders:
                f = dataclasses.replace(feeder, simd=fold.simd)
                feeders[key] = f.cycles, _price(f, model, m)[1]
            feeder_cycles, rf = feeders[key]
            alternatives = [fold]
            if mvu.name not in fixed and 1 < m.tiles < BRAM_MIN_DEPTH:
                alternatives.append(dataclasses.replace(fold, weights=WeightMemory.BRAM))
            if mvu.name not in fixed and mvu.takes_dsp_products:
                alternatives += [dataclasses.replace(choice, products=Products.DSP) for choice in alternatives]
            consumer = flow.reader(i)
            for choice in alternatives:
                _, rm = _price(dataclasses.replace(mvu, fold=choice), model, consumer)
                priced.append(_Option(choice, max(m.cycles, feeder_cycles), rm + rf))
        options[mvu.name] = priced
    return options


def _front(options: list[_Option], cost: Callable[[object], float]) -> list[_Option]:
    """The options no other option beats in both cycles and ``cost``, sorted by cycles (and so
    by cost down)."""
    front: list[_Option] = []
    for o in sorted(options, key=lambda o: (cost(o.resources), o.cycles)):
        if not front or o.cycles < front[-1].cycles:
            front.append(o)
    return sorted(front, key=lambda o: o.cycles)


def _cheapest_within(options: list[_Option], cycles: int) -> _Option | None:
    """The cheapest option taking at most ``cycles``: the front is sorted by cycles up and cost down."""
    i = bisect.bisect_right([o.cycles for o in options], cycles)
    return options[i - 1] if i else None


class FoldingSpace:
    """Every folding of every layer of ``graph``, priced once, and the designs they make.

    A design for a target of T cycles per frame takes, in every layer, the cheapest option
    that runs within T. "Cheapest" needs a price of BRAM and DSP slices against LUTs: there is
    one Pareto front per price (PRICES), so that when LUTs run out first the weights that would
    sit in LUTs go to otherwise idle BRAM tiles and the products to idle DSP slices, and the
    other way round; ``best_at`` picks among the fronts' designs. ``overrides`` fix the folding of their layers."""

    def __init__(self, graph: Graph, budget: Budget, clock_mhz: float, model, overrides: dict[str, Fold]) -> None:
        check_overrides(graph, overrides)
        self.budget = budget
        self.clock_mhz = clock_mhz
        base = estimate(graph, choose_folding(graph, overrides), clock_mhz, model)
        self.options = _layer_options(base.flow, model, overrides)
        self.fixed = [e for e in base.engines if e.layer not in self.options]  # engines no folding changes
        self.fixed_cycles = max(e.cycles for e in self.fixed)
        self._fixed_r = sum((e.resources for e in self.fixed[1:]), start=self.fixed[0].resources)
        self.fronts = [{name: _front(opts, functools.partial(budget.cost, bram_weight=bram, dsp_weight=dsp))
                        for name, opts in self.options.items()} for bram, dsp in PRICES]
        # the fastest any design can go: the slowest engine at its fastest
        self.floor = max([self.fixed_cycles] + [opts[0].cycles for opts in self.fronts[0].values()])
        self.targets = sorted({o.cycles for front in self.fronts for opts in front.values() for o in opts
                               if o.cycles >= self.floor} | {self.floor})

    def total(self, chosen: dict[str, _Option]):
        """The resources of a design: its layers' options and the fixed engines."""
        return sum((o.resources for o in chosen.values()), start=self._fixed_r)

    def best_at(self, cycles: int) -> dict[str, _Option]:
        """Of the fronts' designs within ``cycles`` (at least ``floor``), the one that fits at
        the lowest even price (its shares of the budget), or the even-price front's if none fits."""
        designs = [{name: _cheapest_within(opts, cycles) for name, opts in front.items()} for front in self.fronts]
        fitting = [d for d in designs if self.budget.admits(self.total(d))]
        return min(fitting, key=lambda d: self.budget.cost(self.total(d))) if fitting else designs[0]

    def fits_at(self, cycles: int) -> bool:
        return self.budget.admits(self.total(self.best_at(cycles)))

    def folding_at(self, cycles: int) -> dict[str, Fold]:
        return {name: o.fold for name, o in self.best_at(cycles).items()}

    def fastest_fitting(self) -> int | None:
        """The smallest target whose design fits (designs get cheaper as the target grows)."""
        return _fastest_fitting(self.targets, self.fits_at)

    def curve(self) -> list[CurvePoint]:
        """About CURVE_POINTS designs from the slowest to the fastest: the trade-off."""
        points = {}
        step = max(1, len(self.targets) // CURVE_POINTS)
        for cycles in self.targets[::-1][::step] + [self.targets[0]]:
            chosen = self.best_at(cycles)
            r = self.total(chosen)
            slowest = max([self.fixed_cycles] + [o.cycles for o in chosen.values()])
            points[slowest] = CurvePoint(slowest, self.clock_mhz * 1e6 / slowest, r.lut, r.ff, r.bram36,
                                         self.budget.admits(r))
        return sorted(points.values(), key=lambda p: p.cycles, reverse=True)


def search(graph: Graph, board, clock_mhz: float | None = None, target_fps: float | None = None,
           utilisation: float = DEFAULT_UTILISATION, overrides: dict[str, Fold] | None = None,
           progress: Callable[[str], None] | None = None, model=None, margin: float | None = None) -> SearchResult:
    """The folding for ``board``: the cheapest that reaches ``target_fps``, or (without a
    target) the fastest that fits the budget. ``overrides`` fix the folding of their layers.
    ``margin`` (default: the model's own held-out error, ``CostModel.margin``) is the share
    by which the LUT and FF estimates are inflated before they are held against the budget."""
    model = model or default_model()
    clock = clock_mhz or board.clock_mhz
    budget = Budget.of(board, utilisation, model.margin if margin is None else margin)
    space = FoldingSpace(graph, budget, clock, model, dict(overrides or {}))
    targets = space.targets
    if progress:
        progress(f"folding search: {sum(len(o) for o in space.fronts[0].values())} Pareto-optimal layer foldings "
                 f"(of {sum(len(o) for o in space.options.values())}), {len(targets)} targets from {targets[0]:,} to "
                 f"{targets[-1]:,} cycles per frame")
    if target_fps is not None:
        if target_fps <= 0:
            raise BnnfpgaError(f"--fps {target_fps}: must be positive")
        limit = math.floor(clock * 1e6 / target_fps)
        _check_reachable(space.fronts[0], space.fixed, limit, target_fps, clock)
        chosen = space.best_at(limit)
        r = space.total(chosen)
        if not budget.admits(r):
            _over_budget(r, budget, chosen, target_fps, clock, space.fastest_fitting())
    else:
        best = space.fastest_fitting()
        if best is None:
            chosen = space.best_at(targets[-1])
            _over_budget(space.total(chosen), budget, chosen, None, clock, None)
        chosen = space.best_at(best)
    folding = {name: o.fold for name, o in chosen.items()}
    result = estimate(graph, folding, clock, model)
    if progress:
        progress(f"folding search: {result.fps:,.0f} frames/s at {clock:g} MHz, {result.totals['lut']:,.0f} LUT, "
                 f"{result.totals['bram36']:g} BRAM36 (budget {budget.lut:,.0f} LUT, {budget.bram36:g} BRAM36)")
    return SearchResult(result, budget, space.curve(), target_fps, model)


def _fastest_fitting(targets: list[int], fits_at: Callable[[int], bool]) -> int | None:
    """The smallest target whose design fits (designs get cheaper as the target grows)."""
    lo, hi = 0, len(targets) - 1
    if not fits_at(targets[hi]):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if fits_at(targets[mid]):
            hi = mid
        else:
            lo = mid + 1
    return targets[lo]


def _check_reachable(options, fixed, limit: int, target_fps: float, clock: float) -> None:
    for e in fixed:
        if e.cycles > limit:
            raise BnnfpgaError(f"{target_fps:,.0f} frames/s at {clock:g} MHz needs at most {limit:,} cycles per frame, "
                               f"but {e.layer} ({e.module}) takes {e.cycles:,} whatever the folding: at most "
                               f"{clock * 1e6 / e.cycles:,.0f} frames/s")
    for name, opts in options.items():
        if opts[0].cycles > limit:
            o = opts[0]
            raise BnnfpgaError(f"{target_fps:,.0f} frames/s at {clock:g} MHz needs at most {limit:,} cycles per frame, "
                               f"but layer {name} takes {o.cycles:,} even fully parallel (PE={o.fold.pe}, "
                               f"SIMD={o.fold.simd}): at most {clock * 1e6 / o.cycles:,.0f} frames/s")


def _over_budget(r, budget: Budget, chosen, target_fps, clock: float, best: int | None) -> None:
    metric, need, have = budget.excess(r)[0]
    name, option = max(chosen.items(), key=lambda kv: getattr(kv[1].resources, metric))
    what = f"{target_fps:,.0f} frames/s" if target_fps is not None else "the smallest folding"
    hint = (f"; the fastest design that fits runs at {clock * 1e6 / best:,.0f} frames/s" if best else
            "; raise --utilisation, choose a larger board or a smaller model")
    margin = f" with the model's {100 * budget.margin:.0f}% margin" if budget.margin and metric in ("lut", "ff") else ""
    raise BnnfpgaError(
        f"{what} at {clock:g} MHz does not fit {budget.board}: it needs {need:,.0f} {metric.upper()}{margin}, "
        f"{need - have:,.0f} over the budget of {have:,.0f} ({100 * budget.utilisation:.0f}% of the board); "
        f"the largest layer is {name} with {getattr(option.resources, metric):,.0f} {metric.upper()} "
        f"(PE={option.fold.pe}, SIMD={option.fold.simd}){hint}")
