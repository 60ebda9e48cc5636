"""RTL backend: a SystemVerilog top level wiring the rtl/ library engines for the folded IR.

``generate`` writes OUT/rtl/: the library modules the design uses, ``bnnfpga_top.sv``, the
parameter memories (params/*.mem, read with $readmemh), ``filelist.f`` in compile order, and
``design.json`` (ports, words per frame, per-engine cycle model) for the simulation commands.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bnnfpga.codegen.templates import environment, header
from bnnfpga.data import data_dir
from bnnfpga.hw import engines
from bnnfpga.hw.fifo_sizing import fifo_depths, fork_fifos
from bnnfpga.hw.fold import Fold
from bnnfpga.hw.layout import weight_words
from bnnfpga.hw.lower import lower
from bnnfpga.hw.modules import (
    AddParams,
    ConcatParams,
    FifoParams,
    ForkParams,
    InputParams,
    IntegerAffineParams,
    LabelSelectParams,
    MaxPoolParams,
    ModuleInstance,
    ModuleParams,
    MvuParams,
    OutputParams,
    ResidualBinarizerParams,
    SumPoolParams,
    SwgParams,
    ThresholdParams,
    WidthConverterParams,
    WindowShape,
    instance_of,
)
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.types import BIPOLAR, TERNARY, DType

TOP = "bnnfpga_top"


def _hex_lines(values, bits: int) -> str:
    """$readmemh text: one value per line, two's complement in ``bits`` bits."""
    digits = (bits + 3) // 4
    return "".join(f"{int(v) & ((1 << bits) - 1):0{digits}x}\n" for v in values)


def _bit(flag: bool) -> str:
    return "1'b1" if flag else "1'b0"


def _element(dtype: DType, *flags: str) -> dict[str, object]:
    """An input element type in the RTL library's one spelling (docs/DESIGN.md 4.2): IN_BITS
    and those of IN_SIGNED, IN_BIPOLAR, IN_TERNARY the module distinguishes."""
    values = {"IN_SIGNED": _bit(dtype.signed), "IN_BIPOLAR": _bit(dtype == BIPOLAR), "IN_TERNARY": _bit(dtype == TERNARY)}
    return {"IN_BITS": dtype.bits, **{flag: values[flag] for flag in flags}}


def _window(window: WindowShape) -> dict[str, int]:
    return {"C": window.c, "H": window.h, "W": window.w, "KH": window.kh, "KW": window.kw, "SH": window.sh,
            "SW": window.sw, "PT": window.pt, "PL": window.pl, "PB": window.pb, "PR": window.pr}


def rtl_parameters(p: ModuleParams) -> dict[str, object]:
    """The SystemVerilog parameter list of a module instance (memory files aside: they are
    the engine's contents, not its shape), rendered from its typed parameters."""
    if isinstance(p, InputParams):
        return {"PIXEL_BITS": p.pixel_bits}
    if isinstance(p, IntegerAffineParams):
        scales = sum((s & 0xFFFFFFFF) << (32 * c) for c, s in enumerate(p.scales))  # channel c at [32c +: 32]
        return {"C": p.c, **_element(p.in_type, "IN_BIPOLAR", "IN_SIGNED"), "OUT_BITS": p.out_bits,
                "SCALES": f"{32 * p.c}'h{scales:0{8 * p.c}x}"}
    if isinstance(p, ThresholdParams):
        return {"C": p.c, **_element(p.in_type, "IN_BIPOLAR", "IN_SIGNED"), "T_W": p.threshold_w, "LEVELS": p.levels,
                "OUT_BITS": p.out_bits, "BASE": p.base}
    if isinstance(p, SwgParams):
        return {**_window(p.window), "IN_BITS": p.in_bits, "SIMD": p.simd}
    if isinstance(p, WidthConverterParams):
        return {"IN_W": p.in_w, "OUT_W": p.out_w}
    if isinstance(p, ResidualBinarizerParams):
        return {"N": p.n, "SIMD": p.simd, **_element(p.in_type, "IN_BIPOLAR", "IN_SIGNED"), "PADDED": _bit(p.padded),
                "ORDER": p.order, "S_W": p.s_w, "GAIN_W": p.gain_w, **({"GAIN_SHIFT": p.gain_shift} if p.gain_shift else {})}
    if isinstance(p, MvuParams):
        params = {"MW": p.mw, "MH": p.mh, "SIMD": p.simd, "PE": p.pe,
                  **_element(p.in_type, "IN_BIPOLAR", "IN_SIGNED", "IN_TERNARY"), "W_BITS": p.weight_bits,
                  "ACC_W": p.acc_w, "OUT_BITS": p.out_bits, "T_W": p.threshold_w, "LEVELS": p.levels, "BASE": p.base,
                  "PADDED": _bit(p.padded), "WEIGHTS_STYLE": '"block"' if p.weights_in_bram else '"auto"'}
        if p.power_of_two:
            params.update(W_POW2=_bit(True))
        if p.dsp_products:
            params.update(DSP_PRODUCTS=_bit(True))
        if p.gained:
            params.update(GAINED=_bit(True), PLANE_W=p.plane_w, GAIN_W=p.gain_w)
        if p.bases:
            params.update(BASES=p.bases, PLANE_W=p.plane_w, GAIN_W=p.gain_w)
        if p.residual:
            params.update(RESIDUAL=p.residual, PLANE_W=p.plane_w, GAIN_W=p.gain_w)
        if p.classes > 1:
            params.update(OUT_H=p.out_h, OUT_W=p.out_w, ROW_CLASSES=p.row_classes, COL_CLASSES=p.col_classes)
        return params
    if isinstance(p, SumPoolParams):
        return {**_window(p.window), **_element(p.in_type, "IN_BIPOLAR", "IN_SIGNED"), "OUT_BITS": p.out_bits}
    if isinstance(p, MaxPoolParams):
        return {**_window(p.window), **_element(p.in_type, "IN_SIGNED")}  # one bit: bipolar
    if isinstance(p, FifoParams):
        return {"WIDTH": p.width, "DEPTH": p.depth}
    if isinstance(p, LabelSelectParams):
        return {"VALUES": p.values, "K": p.k, "IN_BITS": p.in_bits, "LARGEST": _bit(p.largest), "INDEX_BITS": p.index_bits}
    if isinstance(p, OutputParams):
        return {"VALUES": p.values, "VECTORS": p.vectors, **_element(p.in_type, "IN_SIGNED", "IN_BIPOLAR")}
    if isinstance(p, ForkParams):
        return {"WIDTH": p.width}
    if isinstance(p, AddParams):
        return {"C": p.c, "A_BITS": p.a_type.bits, "A_SIGNED": _bit(p.a_type.signed), "SHIFT_A": p.shift_a,
                "B_BITS": p.b_type.bits, "B_SIGNED": _bit(p.b_type.signed), "SHIFT_B": p.shift_b, "OUT_BITS": p.out_bits}
    if isinstance(p, ConcatParams):
        return {"C_A": p.c_a, "A_BITS": p.a_type.bits, "A_SIGNED": _bit(p.a_type.signed), "C_B": p.c_b,
                "B_BITS": p.b_type.bits, "B_SIGNED": _bit(p.b_type.signed), "IN_BIPOLAR": _bit(p.a_type == BIPOLAR),
                "OUT_BITS": p.out_bits}
    raise TypeError(f"no RTL module for {type(p).__name__}")


def _comment(e: engines.Engine) -> str:
    """What the generated top says above an engine."""
    if isinstance(e, engines.InputStage):
        return "AXI-Stream words -> pixels"
    if isinstance(e, engines.IntegerAffineStage):
        return f"{e.name}: u = scale[c]*x + offset[c] (per-channel input gains)"
    if isinstance(e, engines.ThresholdStage):
        return f"{e.name}: {e.levels} threshold(s) per channel on the input"
    if isinstance(e, engines.Window):
        return f"{e.layer}: sliding window {e.kernel[0]}x{e.kernel[1]}/s{e.strides[0]}, pads {','.join(map(str, e.pads))}"
    if isinstance(e, engines.Flatten):
        return f"{e.layer}: flattened pixels -> chunks of {e.simd}"
    if isinstance(e, engines.ResidualBinarizer):
        return f"{e.layer}: residual binarization of order {e.order} (HORQ) of every {e.n}-element vector"
    if isinstance(e, engines.Mvu):
        return f"{e.name}: {e.mh}x{e.mw} MVU, PE={e.fold.pe}, SIMD={e.fold.simd}"
    if isinstance(e, engines.Pool) and e.summing:
        return f"{e.name}: sum-pool {e.kernel[0]}x{e.kernel[1]}/s{e.strides[0]} ({e.inp.dtype} -> {e.out.dtype})"
    if isinstance(e, engines.Pool):
        how = "OR/AND" if e.inp.dtype == BIPOLAR else f"{e.inp.dtype} max/min"
        return f"{e.name}: max-pool {e.kernel[0]}x{e.kernel[1]}/s{e.strides[0]} ({how})"
    if isinstance(e, engines.LabelSelectStage):
        return f"{e.name}: the {e.k} {'largest' if e.largest else 'smallest'} of {e.inp.c} accumulators -> class indices"
    if isinstance(e, engines.ForkStage):
        return f"fork: {e.inp.c}x{e.inp.dtype} pixels to two branches"
    if isinstance(e, engines.JoinStage) and e.kind == "add":
        return f"{e.name}: a*2^{e.shifts[0]} + b*2^{e.shifts[1]} ({e.a.dtype} + {e.b.dtype} -> {e.out.dtype})"
    if isinstance(e, engines.JoinStage):
        return f"{e.name}: concat {e.a.c} + {e.b.c} channels ({e.a.dtype}, {e.b.dtype} -> {e.out.dtype})"
    what = "int32 accumulators" if e.dtype == engines.ACCUMULATOR else f"{e.dtype} values as int32"
    return f"{what} -> AXI-Stream, TLAST per frame"


def _file(name: str) -> str:
    return f'{{MEM_DIR, "{name}"}}'


class Instances:
    """Module instances of the chain and the memory files they read."""

    def __init__(self) -> None:
        self.instances: list[dict] = []
        self.memories: dict[str, str] = {}
        self.modules: set[str] = {FifoParams.module}

    def memory(self, name: str, text: str) -> str:
        self.memories[name] = text
        return name

    def add(self, engine: engines.Engine, instance: ModuleInstance, files: dict[str, str]) -> None:
        """``files``: memory parameter → file name (in params/)."""
        index = len(self.instances)
        self.modules.add(instance.module)
        if isinstance(instance.params, (MaxPoolParams, SumPoolParams)):
            self.modules.add(SwgParams.module)  # the pool's window
        if isinstance(engine, (engines.Window, engines.Flatten, engines.ResidualBinarizer)):
            base = f"{engine.layer}_{type(engine).__name__.lower()}"
        else:
            base = getattr(engine, "name", None) or instance.module.removeprefix("bnn_")
        params = {**rtl_parameters(instance.params), **{k: _file(name) for k, name in files.items()}}
        self.instances.append({
            "id": f"e{index}_{base}", "instance": instance, "files": files,
            "module": instance.module, "comment": _comment(engine), "params": [(k, str(v)) for k, v in params.items()],
            "out_width": instance.out_width, "cycles": engine.cycles, "mask_simd": instance.mask_simd,
            "fifo": rtl_parameters(instance.fifo) if instance.fifo else {},
            "second_fifo": rtl_parameters(instance.second_fifo) if instance.second_fifo else {},
            "mask_literal": f"{instance.mask_simd}'h{(1 << instance.mask_simd) - 1:x}" if instance.mask_simd else "",
            "last": instance.fifo is None})


def _memory_files(e: engines.Engine, design: Instances) -> dict[str, str]:
    """The engine's parameter memories, written as params/*.mem."""
    if isinstance(e, engines.IntegerAffineStage):
        return {"OFFSETS_FILE": design.memory(f"{e.name}_offsets.mem", _hex_lines(e.offsets, e.out.dtype.bits))}
    if isinstance(e, engines.ThresholdStage):
        return {"THRESHOLDS_FILE": design.memory(f"{e.name}_thresholds.mem", _hex_lines(e.thresholds, e.threshold_w)),
                "CONSTANTS_FILE": design.memory(f"{e.name}_constants.mem", _hex_lines(e.constant, 2))}
    if isinstance(e, engines.Mvu):
        fold = e.fold
        files = {"WEIGHTS_FILE": design.memory(f"{e.name}_weights.mem",
                                               _hex_lines(weight_words(e.rows, fold, e.weight_bits, e.power_of_two, e.bases),
                                                          fold.pe * fold.simd * e.weight_bits))}
        if e.thresholds is not None:
            files["THRESHOLDS_FILE"] = design.memory(f"{e.name}_thresholds.mem", _hex_lines(e.thresholds, e.threshold_w))
            files["CONSTANTS_FILE"] = design.memory(f"{e.name}_constants.mem", _hex_lines(e.constant, 2))
        if e.classes > 1:
            class_w = (e.classes - 1).bit_length()
            files["ROW_CLASS_FILE"] = design.memory(f"{e.name}_row_class.mem", _hex_lines(e.row_class, class_w))
            files["COL_CLASS_FILE"] = design.memory(f"{e.name}_col_class.mem", _hex_lines(e.col_class, class_w))
        if e.bases is not None:  # gain i at [i·GAIN_W +: GAIN_W], two's complement
            mask = (1 << e.gain_w) - 1
            words = (sum((int(c) & mask) << (i * e.gain_w) for i, c in enumerate(row)) for row in e.gains)
            files["GAINS_FILE"] = design.memory(f"{e.name}_gains.mem", _hex_lines(words, e.base_count * e.gain_w))
        elif e.gains is not None:  # {B, A}
            words = (int(b) << e.gain_w | int(a) for a, b in e.gains)
            files["GAINS_FILE"] = design.memory(f"{e.name}_gains.mem", _hex_lines(words, 2 * e.gain_w))
        return files
    if isinstance(e, engines.Pool) and not e.summing:
        return {"MIN_FILE": design.memory(f"{e.name}_min.mem", _hex_lines([e.min_channels], e.inp.c))}
    return {}


def instantiate(flow: engines.Dataflow) -> Instances:
    """The instances of the generated top, in stream order, with their memory files and the
    streams (FIFO outputs) each reads."""
    design = Instances()
    depths = fifo_depths(flow)
    for i, e in enumerate(flow.engines):
        design.add(e, instance_of(e, flow.reader(i), depths.get(i, ())), _memory_files(e, design))
    for i, instance in enumerate(design.instances):
        streams = [f"{design.instances[j]['id']}_q" + ("1" if port else "") for j, port in flow.sources(i)]
        instance["inputs"] = streams or ["s_axis"]
        instance["inp"] = instance["inputs"][0]
        instance["kind"] = ("fork" if isinstance(flow.engines[i], engines.ForkStage)
                            else "join" if isinstance(flow.engines[i], engines.JoinStage) else "stage")
    return design


def design_summary(flow: engines.Dataflow, instances: list[dict], clock_mhz: float) -> dict:
    bottleneck = instances[flow.engines.index(flow.bottleneck)]
    forks = [{"instance": f"{instances[f.fork]['id']}_q" + ("1" if port else ""), "depth": f.depths[port],
              "predicted_occupancy": f.occupancy[port]} for f in fork_fifos(flow) for port in (0, 1)]
    return {"top": TOP, "in_words": flow.in_words, "out_words": flow.out_words,
            "cycles_per_frame": flow.cycles_per_frame, "latency_cycles": flow.latency_cycles, "clock_mhz": clock_mhz,
            "bottleneck": {"instance": bottleneck["id"], "module": bottleneck["module"]},
            "engines": [{"instance": i["id"], "module": i["module"], "cycles": i["cycles"]} for i in instances],
            **({"fork_fifos": forks} if forks else {})}


def generate(graph: Graph, out_dir: Path, folding: dict[str, Fold], clock_mhz: float) -> dict:
    """Write the RTL design into ``out_dir`` (created); returns the design summary (design.json)."""
    flow = lower(graph, folding, "RTL")
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
