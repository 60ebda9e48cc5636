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
from bnnfpga.codegen.layout import by_lane, weight_chunks
from bnnfpga.codegen.templates import data_dir, environment, header
from bnnfpga.errors import BnnfpgaError
from bnnfpga.folding import Fold
from bnnfpga.golden.kernels import conv_weight_rows
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import Conv, Dense, DotProduct, IntegerAffine, MaxPool, OutputAffine, Reshape, Threshold
from bnnfpga.ir.types import BIPOLAR, DType, signed_width
from bnnfpga.names import sanitize

# Weight memories up to this size (bits per PE) go to distributed RAM, larger ones to BRAM.
LUTRAM_MAX_BITS = 8192

LIBRARY = ("bnnfpga_types.hpp", "bnnfpga_linebuffer.hpp", "bnnfpga_swg.hpp", "bnnfpga_mvu.hpp", "bnnfpga_pool.hpp", "bnnfpga_io.hpp")


@dataclass
class _Tensor:
    """The stream currently flowing: H x W pixels of C elements of type ``dtype``."""

    stream: str
    c: int
    h: int
    w: int
    dtype: DType
    flattened_from: tuple[int, int, int] | None = None  # (C, H, W) when a flatten was seen

    @property
    def bits(self) -> int:
        return self.dtype.bits

    def flags(self) -> dict[str, str]:
        """C++ template arguments describing the element type."""
        return {"in_signed": _bool(self.dtype.kind == "int"), "in_bipolar": _bool(self.dtype.kind == "bipolar")}


def _bool(value: bool) -> str:
    return "true" if value else "false"


# Widest ap_uint the generated code uses (a whole pixel or output vector); AP_INT_MAX_W.
MAX_STREAM_BITS = 32768


@dataclass
class _Design:
    streams: list[dict] = field(default_factory=list)
    engines: list[dict] = field(default_factory=list)
    layers: dict[str, dict] = field(default_factory=dict)

    def stream(self, base: str, ctype: str) -> str:
        name = f"s{len(self.streams)}_{base}"
        self.streams.append({"name": name, "ctype": ctype})
        return name


def _pixel(bits: int) -> str:
    if bits > MAX_STREAM_BITS:
        raise BnnfpgaError(f"the HLS backend streams whole pixels and vectors; {bits} bits exceed {MAX_STREAM_BITS}")
    return f"ap_uint<{bits}>"


def _weight_literals(rows: np.ndarray, fold: Fold) -> list[list[str]]:
    """Weight chunks as C++ initialisers: a 64-bit literal, or a hex string when wider."""
    def literal(value: int) -> str:
        return f"0x{value:x}ULL" if fold.simd <= 64 else f'ap_uint<{fold.simd}>("{value:x}", 16)'

    return [[literal(v) for v in lane] for lane in weight_chunks(rows, fold)]


def _by_lane(values: np.ndarray, pe: int) -> list[list[str]]:
    return [[str(v) for v in lane] for lane in by_lane(values, pe)]


def build_design(graph: Graph, folding: dict[str, Fold]) -> tuple[_Design, int, int]:
    """The engine chain for ``graph``; returns the design, input and output words per frame."""
    types = graph.types()
    d = _Design()
    t_in = graph.input_type
    if len(t_in.shape) not in (1, 3):
        raise BnnfpgaError(f"the HLS backend takes (C, H, W) images or (F,) vectors, not an input of shape {t_in.shape}")
    c, h, w = t_in.shape if len(t_in.shape) == 3 else (t_in.shape[0], 1, 1)
    cur = _Tensor(d.stream("input", _pixel(c * t_in.dtype.bits)), c, h, w, t_in.dtype)
    d.engines.append({"kind": "input", "comment": "AXI-Stream words → pixels", "pixel_bits": c * cur.bits,
                      "pixels": h * w, "out": cur.stream})
    in_words = h * w * ((c * cur.bits + 63) // 64)
    out_words = None
    nodes = graph.nodes
    i = 0
    while i < len(nodes):
        node, op = nodes[i], nodes[i].op
        if isinstance(op, IntegerAffine):
            out_t = types[node.output]
            out = d.stream(node.name, _pixel(cur.c * out_t.dtype.bits))
            d.engines.append({"kind": "integer_affine", "comment": f"{node.name}: u = {op.scale}·x + r[c]", "name": node.name,
                              "c": cur.c, "in_bits": cur.bits, **cur.flags(), "out_bits": out_t.dtype.bits,
                              "pixels": cur.h * cur.w, "scale": op.scale, "inp": cur.stream, "out": out})
            d.layers[node.name] = {"kind": "integer_affine", "name": node.name, "source": node.source, "c": cur.c,
                                   "out_bits": out_t.dtype.bits, "offsets": [str(int(v)) for v in op.offset]}
            cur = _Tensor(out, cur.c, cur.h, cur.w, out_t.dtype)
        elif isinstance(op, DotProduct):
            activation = None
            if i + 1 < len(nodes) and isinstance(nodes[i + 1].op, Threshold) and nodes[i + 1].inputs == (node.output,):
                activation = nodes[i + 1].op
                i += 1
            cur, words = _dot(d, node, op, activation, cur, folding[node.name], types)
            if activation is None:
                out_words = words
        elif isinstance(op, Threshold):
            cur = _threshold(d, node, op, cur)
        elif isinstance(op, MaxPool):
            cur = _pool(d, node, op, cur, types)
        elif isinstance(op, Reshape):
            following = nodes[i + 1].op if i + 1 < len(nodes) else None
            if following is not None and not isinstance(following, (Dense, OutputAffine)):
                raise BnnfpgaError(f"layer {node.name}: the HLS backend needs a flatten to feed a fully connected "
                                   f"layer directly, not {type(following).__name__}")
            cur.flattened_from = (cur.c, cur.h, cur.w)
        elif isinstance(op, OutputAffine):
            pass  # runs on the host (DESIGN 3.7)
        else:
            raise BnnfpgaError(f"layer {node.name} ({type(op).__name__}): not supported by the HLS backend yet")
        i += 1
    if out_words is None:
        raise BnnfpgaError("the HLS backend needs a model whose last layer outputs accumulators (logits)")
    return d, in_words, out_words


def _dot(d: _Design, node, op: DotProduct, activation: Threshold | None, cur: _Tensor, fold: Fold, types):
    out_t = types[node.output]
    mh, mw = op.out_channels, op.fan_in
    chunk_type = f"Chunk<{fold.simd}, {cur.bits}>"
    chunks = d.stream(f"{node.name}_chunks", chunk_type)
    if isinstance(op, Conv):
        kh, kw = op.kernel
        t, l, b, r = op.pads
        d.engines.append({"kind": "window", "comment": f"{node.name}: sliding window {kh}x{kw}/s{op.strides[0]}",
                          "c": cur.c, "bits": cur.bits, "h": cur.h, "w": cur.w, "kh": kh, "kw": kw,
                          "sh": op.strides[0], "sw": op.strides[1], "pads": [t, l, b, r], "simd": fold.simd,
                          "inp": cur.stream, "out": chunks})
        rows = conv_weight_rows(op.weight)
        oh, ow = out_t.shape[1], out_t.shape[2]
    else:
        d.engines.append({"kind": "flatten", "comment": f"{node.name}: pixels → chunks", "c": cur.c, "bits": cur.bits,
                          "pixels": cur.h * cur.w, "simd": fold.simd, "inp": cur.stream, "out": chunks})
        rows = op.weight
        if cur.flattened_from is not None and cur.h * cur.w > 1:
            fc, fh, fw = cur.flattened_from  # ONNX column c·H·W + y·W + x → stream column (y·W + x)·C + c
            rows = rows.reshape(mh, fc, fh, fw).transpose(0, 2, 3, 1).reshape(mh, -1)
        oh = ow = 1
    acc_w = out_t.dtype.bits
    out_bits = 1 if activation is not None else 32
    out = d.stream(node.name, _pixel(mh * out_bits))
    memory_bits = mh * mw // fold.pe
    d.engines.append({"kind": "mvu", "comment": f"{node.name}: {mh}x{mw} MVU, PE={fold.pe}, SIMD={fold.simd}",
                      "name": node.name, "mw": mw, "mh": mh, "simd": fold.simd, "pe": fold.pe, "bits": cur.bits,
                      "signed": cur.flags()["in_signed"], "bipolar": cur.flags()["in_bipolar"], "acc_w": acc_w, "reps": oh * ow,
                      "inp": chunks, "out": out, "memory_bits": memory_bits, "thresholds": activation is not None,
                      "memory": "lutram" if memory_bits <= LUTRAM_MAX_BITS else "bram"})
    layer = {"kind": "mvu", "name": node.name, "source": node.source, "mh": mh, "mw": mw, "pe": fold.pe,
             "simd": fold.simd, "nf": mh // fold.pe, "tiles": (mh // fold.pe) * (mw // fold.simd),
             "weights": _weight_literals(rows, fold), "activation": "threshold" if activation is not None else "accumulator"}
    if activation is not None:
        if activation.levels != 1:
            raise BnnfpgaError(f"layer {node.name}: multi-threshold activations are not supported by the HLS backend yet")
        t = activation.thresholds[:, 0]
        width = max(acc_w + 1, signed_width(int(t.min()), int(t.max())).bits)
        layer.update(threshold_w=width, thresholds=_by_lane(t, fold.pe), constant=_by_lane(activation.constant, fold.pe),
                     flipped=int(op.flipped.sum()) if op.flipped is not None else 0,
                     constants=int((activation.constant != 0).sum()))
    d.layers[node.name] = layer
    if activation is None:
        d.engines.append({"kind": "output", "comment": "int32 accumulators → AXI-Stream", "count": mh, "words": oh * ow, "inp": out})
    return _Tensor(out, mh, oh, ow, BIPOLAR if activation is not None else DType("int", 32)), mh * oh * ow


def _threshold(d: _Design, node, op: Threshold, cur: _Tensor) -> _Tensor:
    """A threshold not fused into a dot product: binarisation of the (unsigned) input."""
    if op.levels != 1:
        raise BnnfpgaError(f"layer {node.name}: the HLS backend thresholds into bipolar values only")
    t = op.thresholds[:, 0]
    width = signed_width(min(int(t.min()), cur.dtype.min), max(int(t.max()), cur.dtype.max)).bits + 1
    out = d.stream(node.name, _pixel(cur.c))
    d.engines.append({"kind": "threshold", "comment": f"{node.name}: thresholds on the input", "name": node.name,
                      "c": cur.c, "in_bits": cur.bits, **cur.flags(), "threshold_w": width, "pixels": cur.h * cur.w,
                      "inp": cur.stream, "out": out})
    d.layers[node.name] = {"kind": "threshold", "name": node.name, "source": node.source, "c": cur.c,
                           "threshold_w": width, "thresholds": [str(int(v)) for v in t],
                           "constant": [str(int(v)) for v in op.constant]}
    return _Tensor(out, cur.c, cur.h, cur.w, BIPOLAR)


def _pool(d: _Design, node, op: MaxPool, cur: _Tensor, types) -> _Tensor:
    if cur.dtype != BIPOLAR:
        raise BnnfpgaError(f"layer {node.name}: the HLS backend pools bipolar activations only")
    out_t = types[node.output]
    out = d.stream(node.name, _pixel(cur.c))
    t, l, b, r = op.pads
    d.engines.append({"kind": "pool", "comment": f"{node.name}: max-pool {op.kernel[0]}x{op.kernel[1]} (OR/AND)",
                      "name": node.name, "c": cur.c, "h": cur.h, "w": cur.w, "kh": op.kernel[0], "kw": op.kernel[1],
                      "sh": op.strides[0], "sw": op.strides[1], "pads": [t, l, b, r], "inp": cur.stream, "out": out})
    use_min = op.use_min if op.use_min is not None else np.zeros(cur.c, bool)
    mask = sum(1 << int(ch) for ch in np.flatnonzero(use_min))
    d.layers[node.name] = {"kind": "pool", "name": node.name, "source": node.source, "c": cur.c, "min_channels": f"{mask:x}"}
    return _Tensor(out, cur.c, out_t.shape[1], out_t.shape[2], BIPOLAR)


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
        header=head, project=sanitize(f"bnnfpga_{graph.model_name}"),
        part=board.part, clock_period_ns=f"{1000.0 / board.clock_mhz:g}"))
    return {"in_words": in_words, "out_words": out_words}
