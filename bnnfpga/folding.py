"""PE/SIMD per layer: the estimate of a folding (cycles, LUT/FF/BRAM per engine, frames/s,
latency) and the search that picks the folding for a board.

Cycles come from the engine chain (codegen/dataflow.py: exact for the generated RTL),
resources from the calibrated per-module model (cost_model.py) applied to the modules the
RTL generator instantiates (codegen/rtl.py ``engine_instance``), FIFOs included.

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
import math
from collections.abc import Callable
from dataclasses import dataclass

from bnnfpga.errors import BnnfpgaError
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import DotProduct

DEFAULT_MAX_PE = 16
DEFAULT_MAX_SIMD = 32
DEFAULT_UTILISATION = 0.8  # of the board's LUTs and BRAM: room for routing and the shell
CURVE_POINTS = 40  # points of the frames/s-vs-LUT trade-off curve


@dataclass(frozen=True)
class Fold:
    pe: int
    simd: int


def largest_divisor(n: int, cap: int) -> int:
    return max(d for d in range(1, min(n, cap) + 1) if n % d == 0)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


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


def _check_overrides(graph: Graph, overrides: dict[str, Fold]) -> None:
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


def choose_folding(graph: Graph, overrides: dict[str, Fold] | None = None,
                   max_pe: int = DEFAULT_MAX_PE, max_simd: int = DEFAULT_MAX_SIMD) -> dict[str, Fold]:
    """The simple rule, independent of any board: the largest PE dividing the output channels
    (MH) and SIMD dividing the inputs per output (MW) under caps; ``overrides`` win."""
    overrides = dict(overrides or {})
    _check_overrides(graph, overrides)
    folds = {}
    for node in graph.nodes:
        if isinstance(node.op, DotProduct):
            mh, mw = node.op.out_channels, node.op.fan_in
            folds[node.name] = overrides.get(node.name) or Fold(largest_divisor(mh, max_pe), largest_divisor(mw, max_simd))
    return folds


# ---- budgets and estimates ----

@dataclass(frozen=True)
class Budget:
    """The resources a design may use: ``utilisation`` of the board's."""

    lut: float
    ff: float
    bram36: float
    dsp: float
    utilisation: float
    board: str

    @classmethod
    def of(cls, board, utilisation: float = DEFAULT_UTILISATION) -> "Budget":
        if not 0 < utilisation <= 1:
            raise BnnfpgaError(f"utilisation ceiling {utilisation} must be in (0, 1]")
        r = board.resources
        return cls(r["lut"] * utilisation, r["ff"] * utilisation, r["bram36"] * utilisation, r["dsp"] * utilisation,
                   utilisation, board.name)

    def as_dict(self) -> dict[str, float]:
        return {"lut": self.lut, "ff": self.ff, "bram36": self.bram36, "dsp": self.dsp}

    def admits(self, r) -> bool:
        """Whether resources ``r`` (LUT, FF, BRAM36) stay within the budget."""
        return r.lut <= self.lut and r.ff <= self.ff and r.bram36 <= self.bram36

    def cost(self, r) -> float:
        """One number to minimise per layer: the shares of the budget the layer takes."""
        return r.lut / max(self.lut, 1) + r.bram36 / max(self.bram36, 1e-9) + 0.25 * r.ff / max(self.ff, 1)


@dataclass(frozen=True)
class EngineEstimate:
    engine: object  # a codegen.dataflow engine
    layer: str  # the row of the estimate table the engine belongs to
    module: str
    cycles: int
    resources: object  # cost_model.Resources, the engine with the FIFO after it


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    fold: Fold | None
    cycles: int
    lut: float
    ff: float
    bram36: float
    modules: tuple[str, ...]


@dataclass
class Estimate:
    """A folded design: per engine and per layer, cycles and resources; totals; frames/s."""

    folding: dict[str, Fold]
    flow: object  # codegen.dataflow.Dataflow
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
        """The whole design's cost_model.Resources."""
        return sum((e.resources for e in self.engines[1:]), start=self.engines[0].resources)

    @property
    def totals(self) -> dict[str, float]:
        return {**self.resources.as_dict(), "dsp": 0.0}

    @property
    def bottleneck(self) -> EngineEstimate:
        return max(self.engines, key=lambda e: e.cycles)

    def layers(self) -> list[LayerEstimate]:
        rows: dict[str, list[EngineEstimate]] = {}
        for e in self.engines:
            rows.setdefault(e.layer, []).append(e)
        return [LayerEstimate(name, self.folding.get(name), max(e.cycles for e in group),
                              sum(e.resources.lut for e in group), sum(e.resources.ff for e in group),
                              sum(e.resources.bram36 for e in group), tuple(e.module for e in group))
                for name, group in rows.items()]

    def fits(self, budget: Budget) -> bool:
        return budget.admits(self.resources)


def _layer_of(engine) -> str:
    from bnnfpga.codegen import dataflow

    if isinstance(engine, (dataflow.Window, dataflow.Flatten)):
        return engine.layer
    if isinstance(engine, dataflow.InputStage):
        return "input"
    if isinstance(engine, dataflow.OutputStage):
        return "output"
    return engine.name


def _price(engine, model):
    from bnnfpga.codegen.rtl import engine_instance

    instance = engine_instance(engine)
    r = model.estimate(instance.module, instance.params)
    if instance.fifo_depth:
        r = r + model.estimate("bnn_axis_fifo", {"WIDTH": instance.out_width, "DEPTH": instance.fifo_depth})
    return instance.module, r


def estimate(graph: Graph, folding: dict[str, Fold], clock_mhz: float, model=None) -> Estimate:
    """Cycles and resources of ``graph`` folded by ``folding``."""
    from bnnfpga.codegen import dataflow
    from bnnfpga.cost_model import default_model

    model = model or default_model()
    flow = dataflow.lower(graph, folding, "RTL")
    engines = []
    for e in flow.engines:
        module, r = _price(e, model)
        engines.append(EngineEstimate(e, _layer_of(e), module, e.cycles, r))
    return Estimate(dict(folding), flow, engines, clock_mhz)


# ---- the search ----

@dataclass(frozen=True)
class _Option:
    fold: Fold
    cycles: int
    resources: object
    cost: float


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
    model: object  # the cost_model.CostModel that priced it

    @property
    def goal(self) -> str:
        """What the search was asked for, in words."""
        return f"target {self.target_fps:,.0f} frames/s" if self.target_fps else "the fastest folding that fits"


def _layer_options(flow, budget: Budget, model, fixed: dict[str, Fold]) -> dict[str, list[_Option]]:
    """Every folding of every layer (or just the fixed one), priced, sorted by cycles, and
    pruned to the Pareto front (no option slower and dearer than another)."""
    from bnnfpga.codegen import dataflow

    options: dict[str, list[_Option]] = {}
    engines = list(flow.engines)
    for i, mvu in enumerate(engines):
        if not isinstance(mvu, dataflow.Mvu):
            continue
        feeder = engines[i - 1]
        folds = [fixed[mvu.name]] if mvu.name in fixed else [Fold(pe, simd) for pe in divisors(mvu.mh) for simd in divisors(mvu.mw)]
        priced = []
        for fold in folds:
            m = dataclasses.replace(mvu, fold=fold)
            f = dataclasses.replace(feeder, simd=fold.simd)
            _, rm = _price(m, model)
            _, rf = _price(f, model)
            r = rm + rf
            priced.append(_Option(fold, max(m.cycles, f.cycles), r, budget.cost(r)))
        front: list[_Option] = []
        for o in sorted(priced, key=lambda o: (o.cost, o.cycles)):
            if not front or o.cycles < front[-1].cycles:
                front.append(o)
        options[mvu.name] = sorted(front, key=lambda o: o.cycles)
    return options


def _cheapest_within(options: list[_Option], cycles: int) -> _Option | None:
    """The cheapest option taking at most ``cycles``: the front is sorted by cycles up and cost down."""
    i = bisect.bisect_right([o.cycles for o in options], cycles)
    return options[i - 1] if i else None


def search(graph: Graph, board, clock_mhz: float | None = None, target_fps: float | None = None,
           utilisation: float = DEFAULT_UTILISATION, overrides: dict[str, Fold] | None = None,
           progress: Callable[[str], None] | None = None, model=None) -> SearchResult:
    """The folding for ``board``: the cheapest that reaches ``target_fps``, or (without a
    target) the fastest that fits the budget. ``overrides`` fix the folding of their layers."""
    from bnnfpga.cost_model import default_model

    model = model or default_model()
    clock = clock_mhz or board.clock_mhz
    budget = Budget.of(board, utilisation)
    overrides = dict(overrides or {})
    _check_overrides(graph, overrides)
    base = estimate(graph, choose_folding(graph, overrides), clock, model)
    options = _layer_options(base.flow, budget, model, overrides)
    fixed = [e for e in base.engines if e.layer not in options]  # engines no folding changes
    fixed_cycles = max(e.cycles for e in fixed)
    fixed_r = sum((e.resources for e in fixed[1:]), start=fixed[0].resources)

    def design_at(cycles: int) -> dict[str, _Option]:
        """Every layer's cheapest option within ``cycles`` (never below ``floor``)."""
        return {name: _cheapest_within(opts, cycles) for name, opts in options.items()}

    def total(chosen: dict[str, _Option]):
        return sum((o.resources for o in chosen.values()), start=fixed_r)

    fits = budget.admits

    floor = max([fixed_cycles] + [opts[0].cycles for opts in options.values()])
    targets = sorted({o.cycles for opts in options.values() for o in opts if o.cycles >= floor} | {floor})
    if progress:
        progress(f"folding search: {sum(len(o) for o in options.values())} Pareto-optimal layer foldings, "
                 f"{len(targets)} targets from {targets[0]:,} to {targets[-1]:,} cycles per frame")
    curve = []
    step = max(1, len(targets) // CURVE_POINTS)
    for cycles in targets[::-1][::step] + [targets[0]]:
        chosen = design_at(cycles)
        r = total(chosen)
        slowest = max([fixed_cycles] + [o.cycles for o in chosen.values()])
        curve.append(CurvePoint(slowest, clock * 1e6 / slowest, r.lut, r.ff, r.bram36, fits(r)))
    curve = sorted({p.cycles: p for p in curve}.values(), key=lambda p: p.cycles, reverse=True)

    if target_fps is not None:
        if target_fps <= 0:
            raise BnnfpgaError(f"--fps {target_fps}: must be positive")
        limit = math.floor(clock * 1e6 / target_fps)
        _check_reachable(options, fixed, limit, target_fps, clock)
        chosen = design_at(limit)
        r = total(chosen)
        if not fits(r):
            best = _fastest_fitting(targets, design_at, total, fits)
            _over_budget(r, budget, chosen, target_fps, clock, best)
    else:
        best = _fastest_fitting(targets, design_at, total, fits)
        if best is None:
            chosen = design_at(targets[-1])
            _over_budget(total(chosen), budget, chosen, None, clock, None)
        chosen = design_at(best)
    folding = {name: o.fold for name, o in chosen.items()}
    result = estimate(graph, folding, clock, model)
    if progress:
        progress(f"folding search: {result.fps:,.0f} frames/s at {clock:g} MHz, {result.totals['lut']:,.0f} LUT, "
                 f"{result.totals['bram36']:g} BRAM36 (budget {budget.lut:,.0f} LUT, {budget.bram36:g} BRAM36)")
    return SearchResult(result, budget, curve, target_fps, model)


def _fastest_fitting(targets: list[int], design_at, total, fits) -> int | None:
    """The smallest target whose design fits (designs get cheaper as the target grows)."""
    lo, hi = 0, len(targets) - 1
    if not fits(total(design_at(targets[hi]))):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(total(design_at(targets[mid]))):
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
    over = [(m, getattr(r, m), getattr(budget, m)) for m in ("lut", "bram36", "ff") if getattr(r, m) > getattr(budget, m)]
    metric, need, have = over[0]
    name, option = max(chosen.items(), key=lambda kv: getattr(kv[1].resources, metric))
    what = f"{target_fps:,.0f} frames/s" if target_fps is not None else "the smallest folding"
    hint = (f"; the fastest design that fits runs at {clock * 1e6 / best:,.0f} frames/s" if best else
            "; raise --utilisation, choose a larger board or a smaller model")
    raise BnnfpgaError(
        f"{what} at {clock:g} MHz does not fit {budget.board}: it needs {need:,.0f} {metric.upper()}, "
        f"{need - have:,.0f} over the budget of {have:,.0f} ({100 * budget.utilisation:.0f}% of the board); "
        f"the largest layer is {name} with {getattr(option.resources, metric):,.0f} {metric.upper()} "
        f"(PE={option.fold.pe}, SIMD={option.fold.simd}){hint}")
