"""HLS backend: renders a Vitis HLS project (C++14, ap_int/hls_stream) from the folded IR.

The project streams one frame per call of ``bnnfpga_top`` through a dataflow chain of the
library engines in hls_templates/ (input stage, integer affine, sliding window, matrix-vector
unit with thresholds, max-pool, output stage). Streams between engines carry whole pixels
in the layout of bnnfpga/streams.py; a flatten in the model becomes a permutation of the
next dense layer's weight columns (ONNX flattens C-major, the stream is pixel-major).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnnfpga.boards import Board
from bnnfpga.codegen import dataflow
from bnnfpga.codegen.layout import by_lane, weight_chunks
from bnnfpga.codegen.templates import data_dir, environment, header
from bnnfpga.errors import BnnfpgaError
from bnnfpga.folding import Fold
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.types import BIPOLAR, TERNARY, DType
from bnnfpga.names import sanitize

LIBRARY = ("bnnfpga_types.hpp", "bnnfpga_linebuffer.hpp", "bnnfpga_swg.hpp", "bnnfpga_mvu.hpp", "bnnfpga_pool.hpp", "bnnfpga_io.hpp")


# Widest ap_uint the generated code uses (a whole pixel or output vector); AP_INT_MAX_W.
MAX_STREAM_BITS = 32768


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _kind_flags(dtype: DType) -> dict[str, str]:
    """C++ template arguments describing an element type."""
    return {"in_signed": _bool(dtype.signed), "in_bipolar": _bool(dtype.kind == "bipolar")}


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


def _weight_literals(rows: np.ndarray, fold: Fold, weight_bits: int) -> list[list[str]]:
    """Weight chunks as C++ initialisers of their memory words, the low word first."""
    _, words = weight_word(fold.simd * weight_bits)
    mask = (1 << 64) - 1

    def initialiser(value: int) -> str:
        return "{" + ", ".join(f"0x{(value >> (64 * i)) & mask:x}ULL" for i in range(words)) + "}"

    return [[initialiser(v) for v in lane] for lane in weight_chunks(rows, fold, weight_bits)]


def _by_lane(values, pe: int) -> list[list[str]]:
    return [[str(v) for v in lane] for lane in by_lane(np.asarray(values), pe)]


@dataclass
class _Design:
    streams: list[dict] = field(default_factory=list)
    engines: list[dict] = field(default_factory=list)
    layers: dict[str, dict] = field(default_factory=dict)


def _stream_name(index: int, engine: dataflow.Engine) -> str:
    if isinstance(engine, dataflow.InputStage):
        return "s0_input"
    if isinstance(engine, (dataflow.Window, dataflow.Flatten)):
        return f"s{index}_{engine.layer}_chunks"
    return f"s{index}_{engine.name}"


def _stream_type(engine: dataflow.Engine) -> str:
    if isinstance(engine, (dataflow.Window, dataflow.Flatten)):
        return f"Chunk<{engine.simd}, {engine.inp.dtype.bits}>"
    if isinstance(engine, dataflow.Mvu):
        return _pixel(engine.mh * engine.out_bits)
    return _pixel(engine.out.bits)


def build_design(graph: Graph, folding: dict[str, Fold]) -> tuple[_Design, int, int]:
    """The HLS rendering of the engine chain; returns the design, input and output words per frame."""
    flow = dataflow.lower(graph, folding, "HLS")
    d = _Design()
    inp = ""
    for index, e in enumerate(flow.engines):
        out = "m_axis" if isinstance(e, dataflow.OutputStage) else _stream_name(index, e)
        if out != "m_axis":
            d.streams.append({"name": out, "ctype": _stream_type(e)})
        d.engines.append({**_engine(e, d.layers), "inp": inp, "out": out})
        inp = out
    return d, flow.in_words, flow.out_words


def _engine(e: dataflow.Engine, layers: dict[str, dict]) -> dict:
    """Template context of one engine; parameters of a layer go to ``layers``."""
    if isinstance(e, dataflow.InputStage):
        return {"kind": "input", "comment": "AXI-Stream words → pixels", "pixel_bits": e.out.bits, "pixels": e.out.count}
    if isinstance(e, dataflow.IntegerAffineStage):
        layers[e.name] = {"kind": "integer_affine", "name": e.name, "source": e.source, "c": e.inp.c,
                          "out_bits": e.out.dtype.bits, "offsets": [str(v) for v in e.offsets]}
        return {"kind": "integer_affine", "comment": f"{e.name}: u = {e.scale}·x + r[c]", "name": e.name, "c": e.inp.c,
                "in_bits": e.inp.dtype.bits, **_kind_flags(e.inp.dtype), "out_bits": e.out.dtype.bits,
                "pixels": e.inp.count, "scale": e.scale}
    if isinstance(e, dataflow.ThresholdStage):
        per_channel = np.asarray(e.thresholds).reshape(e.inp.c, e.levels)
        layers[e.name] = {"kind": "threshold", "name": e.name, "source": e.source, "c": e.inp.c, "levels": e.levels,
                          "threshold_w": e.threshold_w, "thresholds": [[str(v) for v in row] for row in per_channel],
                          "constant": [str(v) for v in e.constant]}
        return {"kind": "threshold", "comment": f"{e.name}: {e.levels} threshold(s) per channel on the input",
                "name": e.name, "c": e.inp.c, "in_bits": e.inp.dtype.bits, **_kind_flags(e.inp.dtype),
                "threshold_w": e.threshold_w, "pixels": e.inp.count, "levels": e.levels,
                "out_bits": e.out.dtype.bits, "base": e.base}
    if isinstance(e, dataflow.Window):
        (kh, kw), (sh, sw) = e.kernel, e.strides
        return {"kind": "window", "comment": f"{e.layer}: sliding window {kh}x{kw}/s{sh}", "c": e.inp.c,
                "bits": e.inp.dtype.bits, "h": e.inp.h, "w": e.inp.w, "kh": kh, "kw": kw, "sh": sh, "sw": sw,
                "pads": list(e.pads), "simd": e.simd}
    if isinstance(e, dataflow.Flatten):
        return {"kind": "flatten", "comment": f"{e.layer}: pixels → chunks", "c": e.inp.c, "bits": e.inp.dtype.bits,
                "pixels": e.inp.count, "simd": e.simd}
    if isinstance(e, dataflow.Mvu):
        return _mvu(e, layers)
    if isinstance(e, dataflow.Pool) and e.summing:
        return {"kind": "sum_pool", "comment": f"{e.name}: sum-pool {e.kernel[0]}x{e.kernel[1]} ({e.inp.dtype} → {e.out.dtype})",
                "name": e.name, "c": e.inp.c, "bits": e.inp.dtype.bits, "bipolar": _bool(e.inp.dtype == BIPOLAR),
                "signed": _bool(e.inp.dtype.signed), "out_bits": e.out.dtype.bits, "h": e.inp.h, "w": e.inp.w,
                "kh": e.kernel[0], "kw": e.kernel[1], "sh": e.strides[0], "sw": e.strides[1], "pads": list(e.pads)}
    if isinstance(e, dataflow.Pool):
        layers[e.name] = {"kind": "pool", "name": e.name, "source": e.source, "c": e.inp.c,
                          "min_channels": f"{e.min_channels:x}"}
        how = "OR/AND" if e.inp.dtype.kind == "bipolar" else f"{e.inp.dtype} max/min"
        return {"kind": "pool", "comment": f"{e.name}: max-pool {e.kernel[0]}x{e.kernel[1]} ({how})", "name": e.name,
                "c": e.inp.c, "bits": e.inp.dtype.bits, "signed": _bool(e.inp.dtype.signed), "h": e.inp.h, "w": e.inp.w,
                "kh": e.kernel[0], "kw": e.kernel[1], "sh": e.strides[0], "sw": e.strides[1], "pads": list(e.pads)}
    if isinstance(e, dataflow.OutputStage):
        return {"kind": "output", "comment": "int32 accumulators → AXI-Stream", "count": e.values, "words": e.vectors}
    raise AssertionError(f"no HLS engine for {type(e).__name__}")


def _mvu(e: dataflow.Mvu, layers: dict[str, dict]) -> dict:
    fold = e.fold
    nf = e.mh // fold.pe
    activation = "accumulator" if e.thresholds is None else "threshold" if e.out_dtype.kind == "bipolar" else "levels"
    layer = {"kind": "mvu", "name": e.name, "source": e.source, "mh": e.mh, "mw": e.mw, "pe": fold.pe,
             "simd": fold.simd, "nf": nf, "tiles": nf * (e.mw // fold.simd), "weight_bits": e.weight_bits,
             "weights": _weight_literals(e.rows, fold, e.weight_bits), "activation": activation, "gains": None}
    layer["word_type"], layer["words"] = weight_word(fold.simd * e.weight_bits)
    if activation == "threshold":
        layer.update(threshold_w=e.threshold_w, thresholds=_by_lane(e.thresholds, fold.pe),
                     constant=_by_lane(e.constant, fold.pe), flipped=e.flipped,
                     constants=sum(1 for v in e.constant if v != 0))
    elif activation == "levels":
        per_channel = np.asarray(e.thresholds).reshape(nf, fold.pe, e.levels)  # channel = nf·PE + pe
        layer.update(threshold_w=e.threshold_w, levels=e.levels, out_bits=e.out_bits, base=e.base, flipped=e.flipped,
                     thresholds=[[[str(v) for v in per_channel[n, pe]] for n in range(nf)] for pe in range(fold.pe)])
    if e.gains is not None:
        layer.update(plane_w=e.plane_w, gain_w=e.gain_w,
                     gains={"positive": _by_lane(e.gains[:, 0], fold.pe), "negative": _by_lane(e.gains[:, 1], fold.pe)})
    layers[e.name] = layer
    flags = _kind_flags(e.in_dtype)
    return {"kind": "mvu", "comment": f"{e.name}: {e.mh}x{e.mw} MVU, PE={fold.pe}, SIMD={fold.simd}", "name": e.name,
            "mw": e.mw, "mh": e.mh, "simd": fold.simd, "pe": fold.pe, "bits": e.in_dtype.bits,
            "signed": flags["in_signed"], "bipolar": flags["in_bipolar"], "ternary": _bool(e.in_dtype == TERNARY),
            "weight_bits": e.weight_bits,
            "acc_w": e.acc_w, "reps": e.reps, "memory_bits": e.memory_bits, "thresholds": activation == "threshold",
            "levels": activation == "levels", "gained": e.gains is not None,
            "memory": "bram" if e.weights_in_bram else "lutram"}


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
