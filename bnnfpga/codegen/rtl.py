"""RTL backend: a SystemVerilog top level wiring the rtl/ library engines for the folded IR.

``generate`` writes OUT/rtl/: the library modules the design uses, ``bnnfpga_top.sv``, the
parameter memories (params/*.mem, read with $readmemh), ``filelist.f`` in compile order, and
``design.json`` (ports, words per frame, per-engine cycle model) for the simulation commands.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from bnnfpga.codegen import dataflow
from bnnfpga.codegen.layout import weight_words
from bnnfpga.codegen.templates import data_dir, environment, header
from bnnfpga.folding import Fold
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.types import BIPOLAR, TERNARY, DType

TOP = "bnnfpga_top"
CHUNK_FIFO_DEPTH = 2  # window → MVU: the MVU takes chunks at a steady rate


def fifo_depth(engine: dataflow.Engine, consumer: dataflow.Engine | None = None) -> int:
    """Words of the FIFO between ``engine`` and ``consumer`` (the next engine, when known).

    Chunk streams need only cut the ready path. A pixel stream absorbs the mismatch between a
    producer working at a steady rate and a consumer that takes some pixels in a rush: a
    window generator shifts in the first KH-1 rows (and, with a stride, the rows between
    windows) at a pixel a cycle before it emits anything, then takes a pixel per window. The
    FIFO holds those rows, so the producer keeps working while the window generator emits the
    end of the previous frame; without them the producer stalls for that long every frame.
    Other consumers take a pixel at a time: a row and a bit is plenty.

    An MVU with more than one row of PEs per vector (NF > 1) takes its SF chunks in a burst,
    then works on them alone for (NF-1)*SF cycles; a width converter, which may need several
    pixels for a chunk, cannot keep up with the burst, so the FIFO after it holds a whole
    vector, filled while the MVU is busy. A power of two."""
    if isinstance(engine, dataflow.Flatten) and isinstance(consumer, dataflow.Mvu) and consumer.mh > consumer.fold.pe:
        return max(CHUNK_FIFO_DEPTH, 1 << (consumer.mw // consumer.fold.simd).bit_length())
    if isinstance(engine, (dataflow.Window, dataflow.Flatten)):
        return CHUNK_FIFO_DEPTH
    width = engine.out.w if hasattr(engine, "out") else 1
    pixels = width + 1
    if isinstance(consumer, dataflow.Window):
        (kh, kw), (sh, _) = consumer.kernel, consumer.strides
        pixels = max(pixels, (kh - 1 + sh - 1) * width + kw)
    return max(2, 1 << pixels.bit_length())


def _hex_lines(values, bits: int) -> str:
    """$readmemh text: one value per line, two's complement in ``bits`` bits."""
    digits = (bits + 3) // 4
    return "".join(f"{int(v) & ((1 << bits) - 1):0{digits}x}\n" for v in values)


def _bit(flag: bool) -> str:
    return "1'b1" if flag else "1'b0"


def _kind(dtype: DType) -> dict[str, str]:
    return {"IN_BIPOLAR": _bit(dtype == BIPOLAR), "IN_SIGNED": _bit(dtype.signed)}


def _window(inp: dataflow.Pixels, kernel, strides, pads, bits: int | None = None) -> dict[str, int]:
    """Shape parameters shared by bnn_swg (which also takes BITS) and bnn_maxpool (its window)."""
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = kernel, strides, pads
    return {"C": inp.c, **({"BITS": bits} if bits is not None else {}), "H": inp.h, "W": inp.w, "KH": kh, "KW": kw,
            "SH": sh, "SW": sw, "PT": pt, "PL": pl, "PB": pb, "PR": pr}


def _file(name: str) -> str:
    return f'{{MEM_DIR, "{name}"}}'


class Instances:
    """Module instances of the chain and the memory files they read."""

    def __init__(self) -> None:
        self.instances: list[dict] = []
        self.memories: dict[str, str] = {}
        self.modules: set[str] = {"bnn_axis_fifo"}

    def memory(self, name: str, text: str) -> str:
        self.memories[name] = text
        return name

    def add(self, engine: dataflow.Engine, instance: EngineInstance, files: dict[str, str]) -> None:
        """``files``: memory parameter → file name (in params/)."""
        index = len(self.instances)
        self.modules.add(instance.module)
        if isinstance(engine, dataflow.Pool):
            self.modules.add("bnn_swg")  # the pool's window
        if isinstance(engine, (dataflow.Window, dataflow.Flatten)):
            base = f"{engine.layer}_{type(engine).__name__.lower()}"
        else:
            base = getattr(engine, "name", None) or instance.module.removeprefix("bnn_")
        params = {**instance.params, **{k: _file(name) for k, name in files.items()}}
        self.instances.append({
            "id": f"e{index}_{base}", "instance": instance, "files": files,
            "module": instance.module, "comment": instance.comment, "params": [(k, str(v)) for k, v in params.items()],
            "out_width": instance.out_width, "cycles": engine.cycles, "mask_simd": instance.mask_simd,
            "fifo_depth": instance.fifo_depth,
            "mask_literal": f"{instance.mask_simd}'h{(1 << instance.mask_simd) - 1:x}" if instance.mask_simd else "",
            "last": isinstance(engine, dataflow.OutputStage)})


@dataclass(frozen=True)
class EngineInstance:
    """The library module an engine becomes, with its parameters (memory files aside: they
    are the engine's contents, not its shape) and the FIFO after it (none after the last)."""

    module: str
    params: dict[str, object]
    comment: str
    out_width: int
    mask_simd: int = 0  # a flatten's chunks carry no padding: the mask is a literal
    fifo_depth: int = 0


def engine_instance(e: dataflow.Engine, consumer: dataflow.Engine | None = None) -> EngineInstance:
    """Module and parameters of one engine, and the FIFO between it and ``consumer`` (the next
    engine): what the generated top instantiates and what the resource model
    (bnnfpga/cost_model.py) prices."""
    depth = 0 if isinstance(e, dataflow.OutputStage) else fifo_depth(e, consumer)
    if isinstance(e, dataflow.InputStage):
        return EngineInstance("bnn_input", {"PIXEL_BITS": e.out.bits}, "AXI-Stream words -> pixels", e.out.bits,
                              fifo_depth=depth)
    if isinstance(e, dataflow.IntegerAffineStage):
        return EngineInstance("bnn_integer_affine", {"C": e.inp.c, "IN_BITS": e.inp.dtype.bits, **_kind(e.inp.dtype),
                                                     "OUT_BITS": e.out.dtype.bits, "SCALE": e.scale},
                              f"{e.name}: u = {e.scale}*x + offset[c]", e.out.bits, fifo_depth=depth)
    if isinstance(e, dataflow.ThresholdStage):
        return EngineInstance("bnn_threshold", {"C": e.inp.c, "IN_BITS": e.inp.dtype.bits, **_kind(e.inp.dtype),
                                                "T_W": e.threshold_w, "LEVELS": e.levels, "OUT_BITS": e.out.dtype.bits,
                                                "BASE": e.base},
                              f"{e.name}: {e.levels} threshold(s) per channel on the input", e.out.bits, fifo_depth=depth)
    if isinstance(e, dataflow.Window):
        bits = e.inp.dtype.bits
        return EngineInstance("bnn_swg", {**_window(e.inp, e.kernel, e.strides, e.pads, bits), "SIMD": e.simd},
                              f"{e.layer}: sliding window {e.kernel[0]}x{e.kernel[1]}/s{e.strides[0]}, "
                              f"pads {','.join(map(str, e.pads))}", e.simd * bits + e.simd, fifo_depth=depth)
    if isinstance(e, dataflow.Flatten):
        bits = e.inp.dtype.bits
        return EngineInstance("bnn_width_converter", {"IN_W": e.inp.bits, "OUT_W": e.simd * bits},
                              f"{e.layer}: flattened pixels -> chunks of {e.simd}", e.simd * bits + e.simd,
                              mask_simd=e.simd, fifo_depth=depth)
    if isinstance(e, dataflow.Mvu):
        fold = e.fold
        params = {"MW": e.mw, "MH": e.mh, "SIMD": fold.simd, "PE": fold.pe, "BITS": e.in_dtype.bits,
                  "BIPOLAR": _bit(e.in_dtype == BIPOLAR), "SIGNED_IN": _bit(e.in_dtype.signed),
                  "ACC_W": e.acc_w, "OUT_BITS": e.out_bits, "T_W": e.threshold_w, "PADDED": _bit(e.padded),
                  "WEIGHTS_STYLE": '"block"' if e.weights_in_bram else '"auto"'}
        if e.weight_bits != 1:
            params["W_BITS"] = e.weight_bits
        if e.in_dtype == TERNARY:  # popcounts of (sign, non-zero) pairs, not ±x adders
            params["TERNARY_IN"] = _bit(True)
        if e.thresholds is not None and (e.levels != 1 or e.base != 0):
            params.update(LEVELS=e.levels, BASE=e.base)
        if e.gains is not None:
            params.update(GAINED=_bit(True), PLANE_W=e.plane_w, GAIN_W=e.gain_w)
        return EngineInstance("bnn_mvu", params, f"{e.name}: {e.mh}x{e.mw} MVU, PE={fold.pe}, SIMD={fold.simd}",
                              e.mh * e.out_bits, fifo_depth=depth)
    if isinstance(e, dataflow.Pool) and e.summing:
        params = {**_window(e.inp, e.kernel, e.strides, e.pads), "BITS": e.inp.dtype.bits,
                  "IN_BIPOLAR": _bit(e.inp.dtype == BIPOLAR), "SIGNED": _bit(e.inp.dtype.signed), "OUT_BITS": e.out.dtype.bits}
        return EngineInstance("bnn_sumpool", params, f"{e.name}: sum-pool {e.kernel[0]}x{e.kernel[1]}/s{e.strides[0]} "
                              f"({e.inp.dtype} -> {e.out.dtype})", e.out.bits, fifo_depth=depth)
    if isinstance(e, dataflow.Pool):
        params = _window(e.inp, e.kernel, e.strides, e.pads)
        if e.inp.dtype != BIPOLAR:
            params.update(BITS=e.inp.dtype.bits, SIGNED=_bit(e.inp.dtype.signed))
        how = "OR/AND" if e.inp.dtype == BIPOLAR else f"{e.inp.dtype} max/min"
        return EngineInstance("bnn_maxpool", params, f"{e.name}: max-pool {e.kernel[0]}x{e.kernel[1]}/s{e.strides[0]} ({how})",
                              e.out.bits, fifo_depth=depth)
    if isinstance(e, dataflow.OutputStage):
        return EngineInstance("bnn_output", {"VALUES": e.values, "VECTORS": e.vectors},
                              "int32 accumulators -> AXI-Stream, TLAST per frame", dataflow.OUTPUT_BITS)
    raise AssertionError(f"no RTL engine for {type(e).__name__}")


def _memory_files(e: dataflow.Engine, design: Instances) -> dict[str, str]:
    """The engine's parameter memories, written as params/*.mem."""
    if isinstance(e, dataflow.IntegerAffineStage):
        return {"OFFSETS_FILE": design.memory(f"{e.name}_offsets.mem", _hex_lines(e.offsets, e.out.dtype.bits))}
    if isinstance(e, dataflow.ThresholdStage):
        return {"THRESHOLDS_FILE": design.memory(f"{e.name}_thresholds.mem", _hex_lines(e.thresholds, e.threshold_w)),
                "CONSTANTS_FILE": design.memory(f"{e.name}_constants.mem", _hex_lines(e.constant, 2))}
    if isinstance(e, dataflow.Mvu):
        fold = e.fold
        files = {"WEIGHTS_FILE": design.memory(f"{e.name}_weights.mem",
                                               _hex_lines(weight_words(e.rows, fold, e.weight_bits), fold.pe * fold.simd * e.weight_bits))}
        if e.thresholds is not None:
            files["THRESHOLDS_FILE"] = design.memory(f"{e.name}_thresholds.mem", _hex_lines(e.thresholds, e.threshold_w))
            files["CONSTANTS_FILE"] = design.memory(f"{e.name}_constants.mem", _hex_lines(e.constant, 2))
        if e.gains is not None:  # {B, A}
            words = (int(b) << e.gain_w | int(a) for a, b in e.gains)
            files["GAINS_FILE"] = design.memory(f"{e.name}_gains.mem", _hex_lines(words, 2 * e.gain_w))
        return files
    if isinstance(e, dataflow.Pool) and not e.summing:
        return {"MIN_FILE": design.memory(f"{e.name}_min.mem", _hex_lines([e.min_channels], e.inp.c))}
    return {}


def instantiate(flow: dataflow.Dataflow) -> Instances:
    """The instances of the generated top, in stream order, with their memory files."""
    design = Instances()
    for e, consumer in zip(flow.engines, [*flow.engines[1:], None]):
        design.add(e, engine_instance(e, consumer), _memory_files(e, design))
    for before, after in zip(design.instances, design.instances[1:]):
        after["inp"] = f"{before['id']}_q"
    design.instances[0]["inp"] = "s_axis"
    return design


def design_summary(flow: dataflow.Dataflow, instances: list[dict], clock_mhz: float) -> dict:
    bottleneck = instances[flow.engines.index(flow.bottleneck)]
    return {"top": TOP, "in_words": flow.in_words, "out_words": flow.out_words,
            "cycles_per_frame": flow.cycles_per_frame, "latency_cycles": flow.latency_cycles, "clock_mhz": clock_mhz,
            "bottleneck": {"instance": bottleneck["id"], "module": bottleneck["module"]},
            "engines": [{"instance": i["id"], "module": i["module"], "cycles": i["cycles"]} for i in instances]}


def generate(graph: Graph, out_dir: Path, folding: dict[str, Fold], clock_mhz: float) -> dict:
    """Write the RTL design into ``out_dir`` (created); returns the design summary (design.json)."""
    flow = dataflow.lower(graph, folding, "RTL")
    design = instantiate(flow)
    summary = design_summary(flow, design.instances, clock_mhz)
    out_dir.mkdir(parents=True)
    (out_dir / "params").mkdir()
    for name, text in sorted(design.memories.items()):
        (out_dir / "params" / name).write_text(text)
    library = sorted(design.modules)
    for module in library:
        shutil.copyfile(data_dir("rtl") / f"{module}.sv", out_dir / f"{module}.sv")
    env = environment(data_dir("rtl") / "templates")
    (out_dir / f"{TOP}.sv").write_text(env.get_template("top.sv.j2").render(
        header=header(graph.model_name), top=TOP, engines=design.instances,
        in_words=flow.in_words, out_words=flow.out_words, cycles_per_frame=flow.cycles_per_frame,
        bottleneck=summary["bottleneck"]["instance"]))
    (out_dir / "filelist.f").write_text("".join(f"{m}.sv\n" for m in library) + f"{TOP}.sv\n")
    (out_dir / "design.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def sources(rtl_out: Path) -> list[Path]:
    """The design's source files in compile order (from filelist.f)."""
    return [rtl_out / line.strip() for line in (rtl_out / "filelist.f").read_text().splitlines() if line.strip()]
