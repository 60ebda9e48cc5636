"""Human-readable summaries of a folded graph: the ``inspect`` table and report.md."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bnnfpga import __version__
from bnnfpga.hw.cost_model import Resources
from bnnfpga.hw.fifo_sizing import fork_fifos
from bnnfpga.hw.folding import layer_of
from bnnfpga.hw.host import describe_io
from bnnfpga.hw.lower import lower
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import JOINS, Add, Conv, DotProduct, IntegerAffine, MaxPool, OutputAffine, Reshape, SumPool, Threshold
from bnnfpga.ir.types import signed_width


@dataclass
class LayerRow:
    name: str
    op: str
    in_shape: str
    out_shape: str
    weight_bits: str
    act_bits: str
    macs: int
    acc: str
    thresholds: str
    flipped: int
    constant: int


def layers(graph: Graph) -> list[LayerRow]:
    """One row per layer: a dot product with the threshold, pooling and reshapes after it.
    In a network that branches, a join (add, concat) and every op reading a forked tensor
    start a row of their own, and an op joins the row of the tensor it reads."""
    types = graph.types()
    rows: list[LayerRow] = []
    row_of: dict[str, LayerRow] = {}
    for node in graph.nodes:
        op = node.op
        in_t, out_t = types[node.inputs[0]], types[node.output]
        forked = len(graph.consumers(node.inputs[0])) > 1
        if isinstance(op, JOINS) or (forked and not isinstance(op, (DotProduct, IntegerAffine))):
            desc = f"Add a·2^{op.shifts[0]} + b·2^{op.shifts[1]}" if isinstance(op, Add) else type(op).__name__
            ins = " + ".join("x".join(map(str, types[i].shape)) for i in node.inputs)
            rows.append(LayerRow(node.name, desc, ins, "x".join(map(str, out_t.shape)), "-", str(in_t.dtype), 0,
                                 str(out_t.dtype) if isinstance(op, JOINS) else "-", "-", 0, 0))
            row_of[node.output] = rows[-1]
            if not isinstance(op, Threshold):
                continue
        if isinstance(op, DotProduct):
            if isinstance(op, Conv):
                kh, kw = op.kernel
                desc = f"Conv {kh}x{kw}/s{op.strides[0]}" + (f"/p{max(op.pads)}" if any(op.pads) else "")
                positions = out_t.shape[1] * out_t.shape[2]
            else:
                desc, positions = "Dense", 1
            acc = "-"
            if op.acc_min is not None:
                acc = f"{out_t.dtype} [{int(op.acc_min.min())}, {int(op.acc_max.max())}]"
            rows.append(
                LayerRow(node.name, desc, "x".join(map(str, in_t.shape)), "x".join(map(str, out_t.shape)),
                         _weight_kind(op), str(in_t.dtype),
                         positions * op.out_channels * op.fan_in, acc, "-",
                         int(op.flipped.sum()) if op.flipped is not None else 0, 0)
            )
            row_of[node.output] = rows[-1]
            continue
        if isinstance(op, IntegerAffine):
            gains = ", ".join(str(int(v)) for v in op.scale[:4]) + (", …" if len(op.scale) > 4 else "")
            desc = f"gains ({gains})·x" + (" + r[c]" if any(int(v) for v in op.offset) else "")
            rows.append(LayerRow(node.name, f"IntegerAffine {desc}", "x".join(map(str, in_t.shape)),
                                 "x".join(map(str, out_t.shape)), "-", str(in_t.dtype), 0, str(out_t.dtype), "-", 0, 0))
            row_of[node.output] = rows[-1]
            continue
        row = row_of.get(node.output) or row_of.get(node.inputs[0])  # its own row, or the one it extends
        if row is None:
            continue
        row_of[node.output] = row
        row.out_shape = "x".join(map(str, out_t.shape))
        if isinstance(op, Threshold):
            live = op.constant == 0
            t = op.thresholds[live]
            row.thresholds = f"[{int(t.min())}, {int(t.max())}]" if t.size else "-"
            row.constant = int((~live).sum())
            row.op += " +thr" if row.name != node.name else ""
        elif isinstance(op, MaxPool):
            row.op += f" +pool{op.kernel[0]}x{op.kernel[1]}" + ("(min)" if op.use_min is not None and op.use_min.any() else "")
        elif isinstance(op, SumPool):
            row.op += f" +sumpool{op.kernel[0]}x{op.kernel[1]}"
        elif isinstance(op, Reshape):
            row.op += " +flatten"
        elif isinstance(op, OutputAffine):
            row.op += " +host affine"
    return rows


HEADERS = ("layer", "op", "in", "out", "W", "A", "MACs", "accumulator", "thresholds", "flipped", "const")


def _cells(row: LayerRow) -> list[str]:
    return [row.name, row.op, row.in_shape, row.out_shape, row.weight_bits, row.act_bits, f"{row.macs:,}",
            row.acc, row.thresholds, str(row.flipped), str(row.constant)]


def format_table(headers, rows, markdown: bool = False) -> str:
    cells = [list(headers)] + [list(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(r) + " |" for r in cells]
        lines.insert(1, "|" + "|".join("---" for _ in headers) + "|")
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _weight_kind(op: DotProduct) -> str:
    if op.bases is not None:
        return f"{len(op.bases)}x±1 bases"
    if op.residual_order:
        return f"{op.weight_dtype}, HORQ order {op.residual_order}"
    return "ternary A·P−B·N" if op.gains is not None else str(op.weight_dtype)


def _stored_weight_bits(op: DotProduct) -> int:
    """Weight bits as the engines store them: a bit per base and weight for weight bases."""
    return op.bases.size if op.bases is not None else op.weight.size * op.weight_dtype.bits


def inspect_table(graph: Graph, markdown: bool = False) -> str:
    return format_table(HEADERS, [_cells(r) for r in layers(graph)], markdown)


def totals(graph: Graph) -> dict[str, int]:
    rows = layers(graph)
    weight_bits = sum(_stored_weight_bits(n.op) for n in graph.nodes if isinstance(n.op, DotProduct))
    threshold_count = sum(int((n.op.constant == 0).sum()) * n.op.levels for n in graph.nodes if isinstance(n.op, Threshold))
    return {
        "layers": len(rows),
        "macs_per_frame": sum(r.macs for r in rows),
        "weight_bits": int(weight_bits),
        "thresholds": threshold_count,
    }


def accumulator_summary(graph: Graph) -> list[str]:
    out = []
    for n in graph.nodes:
        if isinstance(n.op, DotProduct) and n.op.acc_min is not None:
            lo, hi = int(n.op.acc_min.min()), int(n.op.acc_max.max())
            how = ("a bound on n^K·W·x̂ (docs/DESIGN.md 5.3)" if n.op.residual_order
                   else "proven per row, padding included")
            out.append(f"- `{n.name}`: reachable [{lo}, {hi}] → {signed_width(lo, hi)} ({how})")
    return out


def folding_table(graph: Graph, folding) -> str:

    rows = [[m.name, str(m.mh), str(m.mw), str(m.fold.pe), str(m.fold.simd), f"{m.cycles:,}"]
            for m in lower(graph, folding).mvus()]
    return format_table(("layer", "MH", "MW", "PE", "SIMD", "MVU cycles/frame"), rows, markdown=True)


def fork_lines(graph: Graph, folding) -> list[str]:
    """One line per fork of a branching design: where its branches join, and per branch the
    FIFO depth next to the occupancy the cycle model predicts (hw/fifo_sizing.py)."""
    flow = lower(graph, folding)
    lines = []
    for f in fork_fifos(flow):
        fork = flow.engines[f.fork]
        join = flow.engines[f.join].name if f.join is not None else "no join (a frame each)"
        fifos = ", ".join(f"branch {p}: depth {d} (predicted occupancy {o})" for p, (d, o) in enumerate(zip(f.depths, f.occupancy)))
        lines.append(f"`{fork.name}` → `{join}`: {fifos}")
    return lines


def markdown_report(graph: Graph, model: str, board: str, options: dict, folding=None) -> str:
    t = totals(graph)
    forks = fork_lines(graph, folding) if folding else []
    parts = [
        f"# bnnfpga report: {model}",
        "",
        f"Generated by bnnfpga {__version__} for board `{board}`. Options: "
        + ", ".join(f"{k}={v}" for k, v in sorted(options.items())),
        "",
        "## Layers",
        "",
        inspect_table(graph, markdown=True),
        "",
        "## Totals",
        "",
        f"- layers: {t['layers']}",
        f"- MACs per frame: {t['macs_per_frame']:,}",
        f"- weight bits: {t['weight_bits']:,}",
        f"- thresholds: {t['thresholds']:,}",
        "",
        *(["## Folding", "", folding_table(graph, folding), ""] if folding else []),
        *(["## FIFOs behind forks", "", *(f"- {line}" for line in forks), ""] if forks else []),
        "## Accumulator widths",
        "",
        *accumulator_summary(graph),
        "",
        "## Input and output",
        "",
        *(f"- {line}" for line in describe_io(graph)),
        "",
        "## Notes",
        "",
        *(f"- {n}" for n in graph.notes or ["none"]),
        "",
    ]
    return "\n".join(parts)


def simulation_table(result, design: dict, bit_exact: bool) -> str:
    """What `bnnfpga sim` prints: per-frame cycles and latency, the steady state next to the
    cycle model, frames/s at the board clock."""
    clock = design["clock_mhz"]
    model = design["cycles_per_frame"]
    bottleneck = design["bottleneck"]
    lines = ["frame | TLAST at cycle | cycles since previous frame | cycles since its first input beat",
             "---|---|---|---"]
    gaps = [None] + result.frame_cycles()
    for i, (end, gap, latency) in enumerate(zip(result.output_ends, gaps, result.latencies())):
        lines.append(f"{i} | {end} | {'-' if gap is None else gap} | {latency}")
    lines.append("")
    frames = len(result.output_ends)
    if frames >= 2:
        steady = result.steady_cycles()
        lines.append(f"steady state: {steady:g} cycles/frame; cycle model {model} "
                     f"(bottleneck {bottleneck['instance']}, {bottleneck['module']}): {100 * (steady - model) / model:+.1f}%")
        lines.append(f"frames/s at {clock:g} MHz: {clock * 1e6 / steady:,.0f} measured, {clock * 1e6 / model:,.0f} modelled")
    first = result.latencies()[0]
    model_latency = f"; latency model {design['latency_cycles']}" if "latency_cycles" in design else ""
    lines.append(f"latency of the first frame (empty pipeline): {first} cycles = {first / clock:.2f} us at {clock:g} MHz"
                 + model_latency)
    lines.append(f"outputs: {frames} frames, {'bit-exact against' if bit_exact else 'DIFFERENT from'} the golden model")
    return "\n".join(lines)


ESTIMATE_HEADERS = ("layer", "engines", "PE", "SIMD", "weights", "cycles/frame", "LUT", "FF", "BRAM36", "DSP", "LUT share")


def estimate_rows(est) -> list[list[str]]:
    """The estimate's per-layer cells (ESTIMATE_HEADERS), for the terminal and report.html."""
    total_lut = max(est.totals["lut"], 1)
    return [[layer.name, "+".join(m.removeprefix("bnn_") for m in layer.modules),
             str(layer.fold.pe) if layer.fold else "-", str(layer.fold.simd) if layer.fold else "-", layer.weights,
             f"{layer.cycles:,}", f"{layer.lut:,.0f}", f"{layer.ff:,.0f}", f"{layer.bram36:g}", f"{layer.dsp:g}",
             f"{100 * layer.lut / total_lut:.1f}%"] for layer in est.layers()]


def estimate_table(searched, board) -> str:
    """What `bnnfpga estimate` prints: one row per layer, then frames/s, latency and totals
    against the board and the budget."""
    est, budget = searched.estimate, searched.budget
    totals = est.totals
    table = format_table(ESTIMATE_HEADERS, estimate_rows(est))
    b = est.bottleneck
    r = board.resources
    lines = [table, "",
             f"bottleneck: {b.layer} ({b.module}), {est.cycles_per_frame:,} cycles per frame",
             f"frames/s at {est.clock_mhz:g} MHz: {est.fps:,.0f}; latency {est.latency_us:,.1f} us ({est.latency_cycles:,} cycles)",
             f"totals: LUT {totals['lut']:,.0f} / {r['lut']:,} ({100 * totals['lut'] / r['lut']:.0f}%), "
             f"FF {totals['ff']:,.0f} / {r['ff']:,} ({100 * totals['ff'] / r['ff']:.0f}%), "
             f"BRAM36 {totals['bram36']:g} / {r['bram36']} ({100 * totals['bram36'] / max(r['bram36'], 1):.0f}%), DSP {totals['dsp']:g} / {r['dsp']}",
             f"budget ({100 * budget.utilisation:.0f}% of {board.name}): LUT {budget.lut:,.0f}, BRAM36 {budget.bram36:g}, "
             f"held against the LUT and FF estimates plus a {100 * budget.margin:.1f}% margin; " + searched.goal,
             searched.model.describe()]
    return "\n".join(lines)


def estimate_json(searched, board) -> dict:
    """`bnnfpga estimate --json`: one object for scripts."""
    est, budget = searched.estimate, searched.budget
    b = est.bottleneck
    return {
        "board": board.name,
        "clock_mhz": est.clock_mhz,
        "fps": round(est.fps, 2),
        "cycles_per_frame": est.cycles_per_frame,
        "latency_us": round(est.latency_us, 3),
        "bottleneck": {"layer": b.layer, "module": b.module},
        "totals": {k: round(v, 1) for k, v in est.totals.items()},
        "budget": {k: round(v, 1) for k, v in budget.as_dict().items()},
        "margin": budget.margin,
        "board_resources": dict(board.resources),
        "layers": [{"name": layer.name, "pe": layer.fold.pe if layer.fold else None,
                    "simd": layer.fold.simd if layer.fold else None, "weights": layer.weights.lower(), "cycles": layer.cycles,
                    "lut": round(layer.lut, 1), "ff": round(layer.ff, 1), "bram36": layer.bram36, "dsp": layer.dsp}
                   for layer in est.layers()],
    }


SYNTHESIS_HEADERS = ("layer", "LUT model", "LUT yosys", "error", "FF model", "FF yosys", "BRAM36 model", "BRAM36 yosys",
                     "DSP model", "DSP yosys")


def synthesis_totals(engines) -> dict[str, float]:
    return {k: sum(getattr(e, k) for e in engines) for k in ("lut", "ff", "bram36", "dsp")}


def synthesis_by_layer(engines) -> dict[str, dict[str, float]]:
    """yosys's LUT/FF/BRAM36/DSP summed per row of the estimate table (layer), in stream order."""
    layers: dict[str, list] = {}
    for e in engines:
        layers.setdefault(layer_of(e.engine), []).append(e)
    return {name: synthesis_totals(group) for name, group in layers.items()}


def synthesis_table(searched, board, engines) -> str:
    """`bnnfpga estimate --synth`: the model next to yosys per layer, then whether the design
    stays within the budget by yosys's count."""
    est, budget = searched.estimate, searched.budget
    measured = synthesis_by_layer(engines)
    rows = []
    for layer in est.layers():
        m = measured[layer.name]
        rows.append([layer.name, f"{layer.lut:,.0f}", f"{m['lut']:,.0f}", f"{100 * (layer.lut - m['lut']) / max(m['lut'], 1):+.1f}%",
                     f"{layer.ff:,.0f}", f"{m['ff']:,.0f}", f"{layer.bram36:g}", f"{m['bram36']:g}", f"{layer.dsp:g}",
                     f"{m['dsp']:g}"])
    t, y = est.totals, synthesis_totals(engines)
    r = board.resources
    # yosys's counts are what the margin stands in for: held against the bare budget
    within = dataclasses.replace(budget, margin=0.0).admits(Resources(y["lut"], y["ff"], y["bram36"], y["dsp"]))
    return "\n".join([
        format_table(SYNTHESIS_HEADERS, rows), "",
        f"yosys synth_xilinx, engine by engine ({sum(e.seconds for e in engines):,.0f} s): LUT {y['lut']:,.0f} "
        f"({100 * y['lut'] / r['lut']:.0f}% of {board.name}; model {100 * (t['lut'] - y['lut']) / max(y['lut'], 1):+.1f}%), "
        f"FF {y['ff']:,.0f} (model {100 * (t['ff'] - y['ff']) / max(y['ff'], 1):+.1f}%), BRAM36 {y['bram36']:g} "
        f"(model {t['bram36']:g}), DSP {y['dsp']:g} (model {t['dsp']:g})",
        f"by yosys the design is {'within' if within else 'OVER'} the budget ({100 * budget.utilisation:.0f}% of the board: "
        f"LUT {budget.lut:,.0f}, BRAM36 {budget.bram36:g})",
    ])


def synthesis_json(engines) -> dict:
    """The ``yosys`` object of `bnnfpga estimate --json --synth`."""
    return {"totals": synthesis_totals(engines), "seconds": round(sum(e.seconds for e in engines), 1),
            "layers": [{"name": name, **row} for name, row in synthesis_by_layer(engines).items()]}
