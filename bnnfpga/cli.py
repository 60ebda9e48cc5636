"""Command line: ``bnnfpga compile|estimate|predict|verify|sim|build|inspect|boards``. Thin over bnnfpga.api."""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from bnnfpga import __version__, api, build
from bnnfpga.boards import available, load_board
from bnnfpga.errors import BnnfpgaError
from bnnfpga.frontend import load_onnx
from bnnfpga.hw.fold import parse_fold_options
from bnnfpga.hw.folding import DEFAULT_UTILISATION
from bnnfpga.report import estimate_json, estimate_table, inspect_table, simulation_table, synthesis_json, synthesis_table
from bnnfpga.verify import accuracy, reference_name, verify_backend, verify_model

EXIT_USER_ERROR = 2
EXIT_DISAGREE = 1


def _scale(text: str) -> float:
    """A positive number, or a fraction such as 1/255."""
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or fraction such as 1/255") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not positive")
    return value


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-bits", type=int, default=8, help="bits per input element (default 8: uint8 images)")
    p.add_argument("--input-scale", type=_scale, default=1.0, metavar="S",
                   help="the model's input is the integer frame times S, e.g. 1/255 for a model trained on "
                   "images in [0, 1] such as Brevitas's BNN-PYNQ models (default 1)")
    p.add_argument("--float-input", action="store_true",
                   help="the frames are the model's float input (.npy of floats): the host applies the model's own "
                   "input quantizer (QONNX Quant or QuantizeLinear on the input) and the accelerator receives its levels")
    p.add_argument("--head", metavar="logits|labels|topk=K",
                   help="what the accelerator returns: logits (its integers; the host computes the model's "
                   "softmax/argmax/...), labels or topk=K (a label-select engine's K best class indices). Default: "
                   "labels when the model ends in ArgMax/TopK and its classes share one output scale, else logits")


def _add_fold_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fold", action="append", metavar="LAYER=PE,SIMD[,lut|bram][,dsp]",
                   help="PE and SIMD of a layer, where its weights live, and dsp to compute its products (k-bit "
                   "weights on integer inputs) in DSP slices (repeatable; names as in `bnnfpga inspect`)")


def _add_target_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fps", type=float, help="target frames/s: the cheapest folding that reaches it "
                   "(default: the fastest folding that fits the budget)")
    p.add_argument("--utilisation", type=float, default=DEFAULT_UTILISATION, metavar="FRACTION",
                   help=f"share of the board's LUT and BRAM the design may use (default {DEFAULT_UTILISATION})")
    p.add_argument("--margin", type=float, metavar="FRACTION",
                   help="inflate the LUT and FF estimates by this share before holding them against the budget "
                   "(default: the resource model's error on its held-out calibration points)")


def _cmd_compile(args) -> int:
    inputs = api.load_inputs(args.inputs) if args.inputs else None
    labels = api.load_inputs(args.labels) if args.labels else None
    api.compile_model(args.model, args.output, board=args.board, input_bits=args.input_bits, input_scale=args.input_scale,
                      vectors=args.vectors, inputs=inputs, force=args.force, progress=sys.stderr,
                      fold=parse_fold_options(args.fold), labels=labels, target_fps=args.fps,
                      utilisation=args.utilisation, margin=args.margin, head=args.head, float_input=args.float_input)
    print(f"wrote {args.output}/ (ir.json, report.md, report.html, vectors/, hls/, rtl/, deploy/)")
    return 0


def _cmd_estimate(args) -> int:
    board = load_board(args.board)
    if args.clock is not None and not 1 <= args.clock <= 1000:
        raise BnnfpgaError(f"--clock {args.clock}: expected MHz between 1 and 1000")
    graph = api.load(args.model, args.input_bits, input_scale=args.input_scale, head=args.head,
                     float_input=args.float_input)
    searched = api.fold_for_board(graph, board, parse_fold_options(args.fold), args.fps, args.utilisation,
                                  args.clock, progress=sys.stderr, margin=args.margin)
    engines = api.synthesise_estimate(searched, progress=sys.stderr) if args.synth else None
    if args.json:
        print(json.dumps({**estimate_json(searched, board), **({"yosys": synthesis_json(engines)} if engines else {})},
                         indent=1))
    else:
        print(estimate_table(searched, board))
        if engines:
            print()
            print(synthesis_table(searched, board, engines))
    return 0


def _cmd_predict(args) -> int:
    graph = api.load(args.model, args.input_bits, input_scale=args.input_scale, head=args.head,
                     float_input=args.float_input) if not Path(args.model).is_dir() else api.load_graph(args.model)
    y = api.predict(graph, api.load_inputs(args.inputs), backend=args.backend, folding=parse_fold_options(args.fold))
    if args.output:
        np.save(args.output, y, allow_pickle=False)
        print(f"wrote {args.output} {y.shape} {y.dtype}")
    else:
        np.set_printoptions(precision=6, suppress=True, linewidth=120)
        print(y)
    return 0


def _cmd_verify(args) -> int:
    graph = api.load(args.model, args.input_bits, input_scale=args.input_scale, head=args.head,
                     float_input=args.float_input)
    x = api.load_inputs(args.inputs) if args.inputs else api.random_frames(graph, args.frames)
    if args.backend == "golden":
        result, what = verify_model(args.model, graph, x), f"golden vs {reference_name(load_onnx(args.model))}"
    else:
        result, what = verify_backend(graph, x, args.backend, parse_fold_options(args.fold)), f"{args.backend} vs golden"
    print(result.table())
    for note in graph.notes:
        print(f"note: {note}")
    if args.labels:
        if not args.inputs:
            raise BnnfpgaError("--labels needs --inputs: the labelled frames")
        print()
        print(accuracy(args.model, graph, x, api.load_inputs(args.labels), args.backend, parse_fold_options(args.fold)).table())
    print(f"{'PASS' if result.ok else 'FAIL'}: {result.frames} frames, {what}")
    return 0 if result.ok else EXIT_DISAGREE


def _cmd_sim(args) -> int:
    x = api.load_inputs(args.inputs) if args.inputs else None
    print(f"simulating {args.output_dir}/rtl with Verilator{' (random idles and back-pressure, then full rate)' if args.pauses else ''}",
          file=sys.stderr, flush=True)
    result, design, expected = api.simulate_compiled(args.output_dir, x, pauses=args.pauses)
    bit_exact = result.outputs.shape == expected.shape and bool((result.outputs == expected).all())
    print(simulation_table(result, design, bit_exact))
    return 0 if bit_exact else EXIT_DISAGREE


def _cmd_build(args) -> int:
    bitfile = build.run(Path(args.output_dir))
    print(f"wrote {bitfile}/ (.bit and .hwh for pynq.Overlay)")
    return 0


def _cmd_inspect(args) -> int:
    graph = api.load(args.model, args.input_bits, input_scale=args.input_scale, head=args.head,
                     float_input=args.float_input)
    print(inspect_table(graph))
    for note in graph.notes:
        print(f"note: {note}")
    return 0


def _cmd_boards(args) -> int:
    for name in available():
        b = load_board(name)
        r = b.resources
        print(f"{b.name:12s} {b.part:22s} {b.clock_mhz:6.1f} MHz  LUT {r['lut']:>7,}  FF {r['ff']:>8,}  BRAM36 {r['bram36']:>4}  "
              f"DSP {r['dsp']:>5,}  {b.ps:20s} {b.hp_port:14s} PYNQ {b.pynq}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bnnfpga", description="Compile binary CNNs (ONNX) into FPGA accelerators.")
    parser.add_argument("--version", action="version", version=f"bnnfpga {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compile", help="fold a model and write OUT/ (ir.json, report.md, golden vectors)")
    p.add_argument("model")
    p.add_argument("--board", default="pynq-z2", help="board name or path to a board .toml")
    p.add_argument("-o", "--output", required=True, help="output directory (must not exist unless --force)")
    p.add_argument("--vectors", type=int, default=8, help="random test frames to write (default 8)")
    p.add_argument("--inputs", help="write test vectors for these frames (.npy) instead of random ones")
    p.add_argument("--labels", help="true classes of the --inputs frames (.npy), shown by the deployment notebook")
    p.add_argument("--force", action="store_true", help="replace an existing output directory")
    _add_model_options(p)
    _add_fold_option(p)
    _add_target_options(p)
    p.set_defaults(func=_cmd_compile)

    p = sub.add_parser("estimate", help="choose the folding for a board and print cycles, LUT/FF/BRAM per layer, frames/s")
    p.add_argument("model")
    p.add_argument("--board", default="pynq-z2", help="board name or path to a board .toml")
    p.add_argument("--clock", type=float, help="clock in MHz (default: the board's)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--synth", action="store_true", help="also synthesise the chosen design with yosys, engine by "
                   "engine, and print its LUT/FF/BRAM next to the model's (minutes, not seconds)")
    _add_model_options(p)
    _add_fold_option(p)
    _add_target_options(p)
    p.set_defaults(func=_cmd_estimate)

    p = sub.add_parser("predict", help="run a model (or a compile output) on frames from a .npy file")
    p.add_argument("model", help="model.onnx or a compile output directory")
    p.add_argument("inputs", help="frames (N, C, H, W) or (N, F) of integers, .npy")
    p.add_argument("-o", "--output", help="write outputs to this .npy instead of printing them")
    p.add_argument("--backend", default="golden", choices=api.BACKENDS)
    _add_model_options(p)
    _add_fold_option(p)
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("verify", help="compare the golden model with onnxruntime (the qonnx executor for QONNX), layer by layer")
    p.add_argument("model")
    p.add_argument("--inputs", help="frames .npy (default: random frames)")
    p.add_argument("--frames", type=int, default=16, help="random frames when --inputs is not given")
    p.add_argument("--labels", help="true classes of the --inputs frames (.npy): also report the top-1 accuracy of the "
                   "reference, the golden model and the backend, and how many frames they agree on")
    p.add_argument("--backend", default="golden", choices=api.BACKENDS,
                   help="golden: golden model vs onnxruntime or the qonnx executor (default); hls: C simulation, rtl: Verilator simulation, vs golden model")
    _add_model_options(p)
    _add_fold_option(p)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("sim", help="simulate a compile output's RTL (OUT/rtl/) in Verilator: cycles per frame, latency, frames/s")
    p.add_argument("output_dir", help="a `bnnfpga compile` output directory")
    p.add_argument("--inputs", help="frames .npy (default: the compile's test vectors)")
    p.add_argument("--pauses", action="store_true", help="also run under random input idles and output back-pressure")
    p.set_defaults(func=_cmd_sim)

    p = sub.add_parser("build", help="run Vitis HLS and Vivado on a compile output (OUT/hls, OUT/deploy) to get the bitstream")
    p.add_argument("output_dir", help="a `bnnfpga compile` output directory")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("inspect", help="print the folded model, one row per layer")
    p.add_argument("model")
    _add_model_options(p)
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser("boards", help="list the known boards")
    p.set_defaults(func=_cmd_boards)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BnnfpgaError as exc:
        print(f"bnnfpga: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("bnnfpga: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
