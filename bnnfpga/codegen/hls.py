"""HLS backend: renders a Vitis HLS project (C++14, ap_int/hls_stream) from the folded IR.

The project streams one frame per call of ``bnnfpga_top`` through a dataflow chain of the
library engines in hls_templates/ (input stage, integer affine, sliding window, matrix-vector
unit with thresholds, max-pool, output stage). Streams between engines carry whole pixels
in the layout of bnnfpga/hw/streams.py; a flatten in the model becomes a permutation of the
next dense layer's weight columns (ONNX flattens C-major, the stream is pixel-major).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnnfpga.boards import Board
from bnnfpga.codegen.templates import environment, header
from bnnfpga.data import data_dir
from bnnfpga.errors import BnnfpgaError
from bnnfpga.hw import engines
from bnnfpga.hw.fifo_sizing import fifo_depths
from bnnfpga.hw.fold import Fold
from bnnfpga.hw.layout import by_lane, weight_chunks
from bnnfpga.hw.lower import lower
from bnnfpga.hw.modules import (
    AddParams,
    ConcatParams,
    ForkParams,
    InputParams,
    IntegerAffineParams,
    LabelSelectParams,
    MaxPoolParams,
    ModuleParams,
    MvuParams,
    OutputParams,
    ResidualBinarizerParams,
    SumPoolParams,
    SwgParams,
    ThresholdParams,
    WidthConverterParams,
    WindowShape,
    module_params,
)
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.types import BIPOLAR, TERNARY, DType
from bnnfpga.names import sanitize

LIBRARY = ("bnnfpga_types.hpp", "bnnfpga_linebuffer.hpp", "bnnfpga_swg.hpp", "bnnfpga_mvu.hpp", "bnnfpga_pool.hpp", "bnnfpga_io.hpp",
           "bnnfpga_label_select.hpp", "bnnfpga_joins.hpp", "bnnfpga_residual.hpp")


# Widest ap_uint the generated code uses (a whole pixel or output vector); AP_INT_MAX_W.
MAX_STREAM_BITS = 32768


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _pixel(bits: int) -> str:
    if bits > MAX_STREAM_BITS:
        raise BnnfpgaError(f"the HLS backend streams whole pixels and vectors; {bits} bits exceed {MAX_STREAM_BITS}")
    return f"ap_uint<{bits}>"


def weight_word(chunk_bits: int) -> tuple[str, int]:
    """The C type of a weight memory word and the words per chunk: the narrowest unsigned
    integer that holds a chunk, or 64-bit words (see weight_chunk in bnnfpga_mvu.hpp)."""
    for ctype, bits in (("unsigned char", 8), ("unsigned short", 16), ("unsigned int", 32)):
        if chunk_bits <= bits:
            return ctype, 1
    return "unsigned long long", -(-chunk_bits // 64)


def _weight_literals(rows: np.ndarray, fold: Fold, weight_bits: int, power_of_two: bool,
                     bases: np.ndarray | None) -> list[list[str]]:
    """Weight chunks as C++ initialisers of their memory words, the low word first."""
    _, words = weight_word(fold.simd * weight_bits)
    mask = (1 << 64) - 1

    def initialiser(value: int) -> str:
        return "{" + ", ".join(f"0x{(value >> (64 * i)) & mask:x}ULL" for i in range(words)) + "}"

    return [[initialiser(v) for v in lane] for lane in weight_chunks(rows, fold, weight_bits, power_of_two, bases)]


def _by_lane(values, pe: int) -> list[list[str]]:
    return [[str(v) for v in lane] for lane in by_lane(np.asarray(values), pe)]


@dataclass
class _Design:
    streams: list[dict] = field(default_factory=list)
    engines: list[dict] = field(default_factory=list)
    layers: dict[str, dict] = field(default_factory=dict)


def _stream_name(index: int, engine: engines.Engine) -> str:
    if isinstance(engine, engines.InputStage):
        return "s0_input"
    if isinstance(engine, (engines.Window, engines.Flatten)):
        return f"s{index}_{engine.layer}_chunks"
    if isinstance(engine, engines.ResidualBinarizer):
        return f"s{index}_{engine.layer}_planes"
    return f"s{index}_{engine.name}"


def _stream_type(engine: engines.Engine) -> str:
    if isinstance(engine, (engines.Window, engines.Flatten)):
        return f"Chunk<{engine.simd}, {engine.inp.dtype.bits}>"
    if isinstance(engine, engines.ResidualBinarizer):
        return f"ResidualChunk<{engine.simd}, {engine.order}, {engine.out_gain_w}>"
    if isinstance(engine, engines.Mvu):
        return _pixel(engine.mh * engine.out_bits)
    return _pixel(engine.out.bits)


def build_design(graph: Graph, folding: dict[str, Fold]) -> tuple[_Design, int, int]:
    """The HLS rendering of the engine chain; returns the design, input and output words per frame."""
    flow = lower(graph, folding, "HLS")
    depths = fifo_depths(flow)
    d = _Design()
    names: dict[tuple[int, int], str] = {}  # (engine, port) → its stream
    for index, e in enumerate(flow.engines):
        out = "m_axis" if isinstance(e, engines.OutputStage) else _stream_name(index, e)
        ports = [out] if not isinstance(e, engines.ForkStage) else [f"{out}_0", f"{out}_1"]
        for port, name in enumerate(ports):
            names[index, port] = name
            if name != "m_axis":
                depth = depths[index][port] if index in depths else 2
                d.streams.append({"name": name, "ctype": _stream_type(e), "depth": depth})
        inputs = [names[source] for source in flow.sources(index)]
        d.engines.append({**_engine(e, d.layers), "inp": inputs[0] if inputs else "", "inputs": inputs, "out": out,
                          "outputs": ports})
    return d, flow.in_words, flow.out_words


def _element(dtype: DType) -> dict[str, object]:
    """An element type as the C++ library's template arguments take it."""
    return {"in_bits": dtype.bits, "in_signed": _bool(dtype.signed), "in_bipolar": _bool(dtype == BIPOLAR),
            "in_ternary": _bool(dtype == TERNARY)}


def _window(window: WindowShape) -> dict[str, object]:
    return {"c": window.c, "h": window.h, "w": window.w, "kh": window.kh, "kw": window.kw, "sh": window.sh,
            "sw": window.sw, "pads": [window.pt, window.pl, window.pb, window.pr]}


def template_arguments(p: ModuleParams) -> dict[str, object]:
    """A library function's shape arguments, rendered from the module's typed parameters
    (the same object the RTL parameter list and the resource model read)."""
    if isinstance(p, InputParams):
        return {"pixel_bits": p.pixel_bits}
    if isinstance(p, IntegerAffineParams):
        return {"c": p.c, **_element(p.in_type), "out_bits": p.out_bits}
    if isinstance(p, ThresholdParams):
        return {"c": p.c, **_element(p.in_type), "threshold_w": p.threshold_w, "levels": p.levels,
                "out_bits": p.out_bits, "base": p.base}
    if isinstance(p, SwgParams):
        return {**_window(p.window), "in_bits": p.in_bits, "simd": p.simd}
    if isinstance(p, WidthConverterParams):
        return {"c": p.c, "in_bits": p.in_bits, "simd": p.simd}
    if isinstance(p, ResidualBinarizerParams):
        return {"n": p.n, "simd": p.simd, **_element(p.in_type), "order": p.order, "s_w": p.s_w, "gain_w": p.gain_w,
                "gain_shift": p.gain_shift}
    if isinstance(p, MvuParams):
        return {"mw": p.mw, "mh": p.mh, "simd": p.simd, "pe": p.pe, **_element(p.in_type), "weight_bits": p.weight_bits,
                "w_pow2": _bool(p.power_of_two),
                "acc_w": p.acc_w, "gained": p.gained, "bases": p.bases, "memory": "bram" if p.weights_in_bram else "lutram",
                "products": "DspProducts" if p.dsp_products else "FabricProducts"}
    if isinstance(p, SumPoolParams):
        return {**_window(p.window), **_element(p.in_type), "out_bits": p.out_bits}
    if isinstance(p, MaxPoolParams):
        return {**_window(p.window), **_element(p.in_type)}
    if isinstance(p, LabelSelectParams):
        return {"classes": p.values, "k": p.k, "in_bits": p.in_bits, "largest": _bool(p.largest), "index_bits": p.index_bits}
    if isinstance(p, OutputParams):
        return {"count": p.values, "words": p.vectors, **_element(p.in_type)}
    if isinstance(p, ForkParams):
        return {"width": p.width}
    if isinstance(p, AddParams):
        return {"c": p.c, "a_bits": p.a_type.bits, "a_signed": _bool(p.a_type.signed), "shift_a": p.shift_a,
                "b_bits": p.b_type.bits, "b_signed": _bool(p.b_type.signed), "shift_b": p.shift_b, "out_bits": p.out_bits}
    if isinstance(p, ConcatParams):
        return {"c_a": p.c_a, "a_bits": p.a_type.bits, "a_signed": _bool(p.a_type.signed), "c_b": p.c_b,
                "b_bits": p.b_type.bits, "b_signed": _bool(p.b_type.signed), "in_bipolar": _bool(p.a_type == BIPOLAR),
                "out_bits": p.out_bits}
    raise TypeError(f"no HLS function for {type(p).__name__}")


def _engine(e: engines.Engine, layers: dict[str, dict]) -> dict:
    """Template context of one engine: its module's shape arguments, the frame length its
    stream has (the RTL modules, which run forever, do not take it), and its contents, which
    go to ``layers``."""
    args = template_arguments(module_params(e))
    if isinstance(e, engines.InputStage):
        return {"kind": "input", "comment": "AXI-Stream words → pixels", **args, "pixels": e.out.count}
    if isinstance(e, engines.IntegerAffineStage):
        layers[e.name] = {"kind": "integer_affine", "name": e.name, "source": e.source, "c": e.inp.c,
                          "out_bits": e.out.dtype.bits, "scales": [str(v) for v in e.scales],
                          "offsets": [str(v) for v in e.offsets]}
        return {"kind": "integer_affine", "comment": f"{e.name}: u = g[c]·x + r[c]", "name": e.name, **args,
                "pixels": e.inp.count}
    if isinstance(e, engines.ThresholdStage):
        per_channel = np.asarray(e.thresholds).reshape(e.inp.c, e.levels)
        layers[e.name] = {"kind": "threshold", "name": e.name, "source": e.source, "c": e.inp.c, "levels": e.levels,
                          "threshold_w": e.threshold_w, "thresholds": [[str(v) for v in row] for row in per_channel],
                          "constant": [str(v) for v in e.constant]}
        return {"kind": "threshold", "comment": f"{e.name}: {e.levels} threshold(s) per channel on the input",
                "name": e.name, **args, "pixels": e.inp.count}
    if isinstance(e, engines.Window):
        (kh, kw), (sh, _) = e.kernel, e.strides
        return {"kind": "window", "comment": f"{e.layer}: sliding window {kh}x{kw}/s{sh}", **args}
    if isinstance(e, engines.Flatten):
        return {"kind": "flatten", "comment": f"{e.layer}: pixels → chunks", **args, "pixels": e.inp.count}
    if isinstance(e, engines.ResidualBinarizer):
        return {"kind": "residual", "comment": f"{e.layer}: residual binarization of order {e.order} of every "
                f"{e.n}-element vector", **args, "reps": e.reps}
    if isinstance(e, engines.Mvu):
        return _mvu(e, args, layers)
    if isinstance(e, engines.Pool) and e.summing:
        return {"kind": "sum_pool", "comment": f"{e.name}: sum-pool {e.kernel[0]}x{e.kernel[1]} ({e.inp.dtype} → {e.out.dtype})",
                "name": e.name, **args}
    if isinstance(e, engines.Pool):
        layers[e.name] = {"kind": "pool", "name": e.name, "source": e.source, "c": e.inp.c,
                          "min_channels": f"{e.min_channels:x}"}
        how = "OR/AND" if e.inp.dtype.kind == "bipolar" else f"{e.inp.dtype} max/min"
        return {"kind": "pool", "comment": f"{e.name}: max-pool {e.kernel[0]}x{e.kernel[1]} ({how})", "name": e.name, **args}
    if isinstance(e, engines.LabelSelectStage):
        return {"kind": "label_select", "comment": f"{e.name}: the {e.k} best of {e.inp.c} accumulators → class indices",
                **args}
    if isinstance(e, engines.OutputStage):
        what = "int32 accumulators" if e.dtype == engines.ACCUMULATOR else f"{e.dtype} levels as int32"
        return {"kind": "output", "comment": f"{what} → AXI-Stream", **args}
    if isinstance(e, engines.ForkStage):
        return {"kind": "fork", "comment": f"fork: {e.inp.c}x{e.inp.dtype} pixels to two branches", **args,
                "pixels": e.inp.count}
    if isinstance(e, engines.JoinStage) and e.kind == "add":
        return {"kind": "add", "comment": f"{e.name}: a·2^{e.shifts[0]} + b·2^{e.shifts[1]} ({e.a.dtype} + {e.b.dtype} → "
                f"{e.out.dtype})", **args, "pixels": e.out.count}
    if isinstance(e, engines.JoinStage):
        return {"kind": "concat", "comment": f"{e.name}: concat {e.a.c} + {e.b.c} channels", **args, "pixels": e.out.count}
    raise AssertionError(f"no HLS engine for {type(e).__name__}")


def _mvu(e: engines.Mvu, args: dict, layers: dict[str, dict]) -> dict:
    fold = e.fold
    nf = e.mh // fold.pe
    if e.thresholds is None:
        activation = "accumulator"
    elif e.classes > 1:
        activation = "border"
    else:
        activation = "threshold" if e.out_dtype.kind == "bipolar" else "levels"
    layer = {"kind": "mvu", "name": e.name, "source": e.source, "mh": e.mh, "mw": e.mw, "pe": fold.pe,
             "simd": fold.simd, "nf": nf, "tiles": nf * (e.mw // fold.simd), "weight_bits": e.weight_bits,
             "weights": _weight_literals(e.rows, fold, e.weight_bits, e.power_of_two, e.bases),
             "power_of_two": e.power_of_two, "activation": activation, "gains": None, "bases": e.base_count,
             "residual": e.residual_order}
    layer["word_type"], layer["words"] = weight_word(fold.simd * e.weight_bits)
    if activation == "threshold":
        layer.update(threshold_w=e.threshold_w, thresholds=_by_lane(e.thresholds, fold.pe),
                     constant=_by_lane(e.constant, fold.pe), flipped=e.flipped,
                     constants=sum(1 for v in e.constant if v != 0))
    elif activation == "levels":
        per_channel = np.asarray(e.thresholds).reshape(nf, fold.pe, e.levels)  # channel = nf·PE + pe
        layer.update(threshold_w=e.threshold_w, levels=e.levels, out_bits=e.out_bits, base=e.base, flipped=e.flipped,
                     thresholds=[[[str(v) for v in per_channel[n, pe]] for n in range(nf)] for pe in range(fold.pe)])
    elif activation == "border":
        per_class = np.asarray(e.thresholds).reshape(e.classes, nf, fold.pe, e.levels)  # [class][channel = nf·PE + pe]
        layer.update(threshold_w=e.threshold_w, levels=e.levels, out_bits=e.out_bits, base=e.base, flipped=e.flipped,
                     out_h=e.out_h, out_w=e.out_w, row_classes=e.row_classes, col_classes=e.col_classes,
                     row_class=list(e.row_class), col_class=list(e.col_class),
                     thresholds=[[[[str(v) for v in per_class[k, n, pe]] for n in range(nf)] for k in range(e.classes)]
                                 for pe in range(fold.pe)])
    if e.residual_order:
        layer.update(plane_w=e.plane_w, gain_w=e.gain_w)
    if e.bases is not None:  # [pe][nf][i] for channel nf·PE + pe
        per_lane = np.asarray(e.gains).reshape(nf, fold.pe, e.base_count).transpose(1, 0, 2)
        layer.update(plane_w=e.plane_w, gain_w=e.gain_w, base_gains=[[[str(v) for v in row] for row in lane]
                                                                     for lane in per_lane])
    elif e.gains is not None:
        layer.update(plane_w=e.plane_w, gain_w=e.gain_w,
                     gains={"positive": _by_lane(e.gains[:, 0], fold.pe), "negative": _by_lane(e.gains[:, 1], fold.pe)})
    layers[e.name] = layer
    return {"kind": "mvu", "comment": f"{e.name}: {e.mh}x{e.mw} MVU, PE={fold.pe}, SIMD={fold.simd}", "name": e.name,
            **args, "reps": e.reps, "memory_bits": e.memory_bits, "thresholds": activation == "threshold",
            "levels": activation == "levels", "border": activation == "border"}


def project_name(graph: Graph) -> str:
    """The HLS project and IP name; the Vivado script names the overlay the same."""
    return sanitize(f"bnnfpga_{graph.model_name}")


def generate(graph: Graph, out_dir: Path, board: Board, folding: dict[str, Fold]) -> dict[str, int]:
    """Write the HLS project into ``out_dir`` (created); returns words per frame in and out."""
    design, in_words, out_words = build_design(graph, folding)
    env = environment(data_dir("hls_templates"))
    head = header(graph.model_name)
    out_dir.mkdir(parents=True)
    (out_dir / "params").mkdir()
    for name in LIBRARY:
        shutil.copyfile(data_dir("hls_templates") / name, out_dir / name)
    for name, layer in design.layers.items():
        (out_dir / "params" / f"{name}.hpp").write_text(env.get_template("layer.hpp.j2").render(header=head, **layer))
    context = {"header": head, "streams": design.streams, "engines": design.engines, "layers": list(design.layers),
               "in_words": in_words, "out_words": out_words}
    (out_dir / "top.hpp").write_text(env.get_template("top.hpp.j2").render(**context))
    (out_dir / "top.cpp").write_text(env.get_template("top.cpp.j2").render(**context))
    (out_dir / "testbench.cpp").write_text(env.get_template("testbench.cpp.j2").render(header=head))
    (out_dir / "run_hls.tcl").write_text(env.get_template("run_hls.tcl.j2").render(
        header=head, project=project_name(graph),
        part=board.part, clock_period_ns=f"{1000.0 / board.clock_mhz:g}"))
    return {"in_words": in_words, "out_words": out_words}
