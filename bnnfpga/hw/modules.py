"""The library modules an engine chain is built of, each instance described by ONE frozen
dataclass of typed parameters.

Everything that needs an engine's shape reads it from here: the RTL parameter list
(codegen/rtl.py ``rtl_parameters``), the HLS template arguments (codegen/hls.py), the
resource model (hw/cost_model.py), the folding search and the report (hw/folding.py). A
stream's element type is an ``ir.types.DType`` everywhere; the backends spell it their own
way when they render it (RTL: IN_BITS, IN_SIGNED, IN_BIPOLAR, IN_TERNARY).

``instance_of`` maps an engine of hw/engines.py (with the engine after it) to its module
parameters and the FIFO the top puts behind it (``fifo_depth``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import ClassVar, get_args

from bnnfpga.hw.engines import (
    ACCUMULATOR,
    OUTPUT_BITS,
    Engine,
    Flatten,
    ForkStage,
    InputStage,
    IntegerAffineStage,
    JoinStage,
    LabelSelectStage,
    Mvu,
    OutputStage,
    Pixels,
    Pool,
    ResidualBinarizer,
    ThresholdStage,
    Window,
)
from bnnfpga.ir.types import BIPOLAR, TERNARY, DType

CHUNK_FIFO_DEPTH = 2  # window → MVU: the MVU takes chunks at a steady rate


@dataclass(frozen=True)
class WindowShape:
    """The input and window of a sliding-window module (bnn_swg, and the pools built on it)."""

    c: int  # channels
    h: int  # input height
    w: int  # input width
    kh: int  # window height
    kw: int  # window width
    sh: int  # stride, rows
    sw: int  # stride, columns
    pt: int = 0  # zero padding top
    pl: int = 0  # left
    pb: int = 0  # bottom
    pr: int = 0  # right

    @classmethod
    def of(cls, inp: Pixels, kernel, strides, pads) -> WindowShape:
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = kernel, strides, pads
        return cls(inp.c, inp.h, inp.w, kh, kw, sh, sw, pt, pl, pb, pr)

    @property
    def is_global(self) -> bool:
        """A window over the whole unpadded input."""
        return (self.kh, self.kw) == (self.h, self.w) and not any((self.pt, self.pl, self.pb, self.pr))


@dataclass(frozen=True)
class InputParams:
    """bnn_input: AXI-Stream 64-bit words → pixels."""

    module: ClassVar[str] = "bnn_input"
    pixel_bits: int


@dataclass(frozen=True)
class IntegerAffineParams:
    """bnn_integer_affine: u = scale[c]·x + offset[c] per element."""

    module: ClassVar[str] = "bnn_integer_affine"
    c: int
    in_type: DType
    out_bits: int  # two's complement
    scales: tuple[int, ...]  # 32-bit integers, one per channel


@dataclass(frozen=True)
class ThresholdParams:
    """bnn_threshold: ``levels`` thresholds per channel on integer pixels; out = base + count
    (bipolar for one threshold)."""

    module: ClassVar[str] = "bnn_threshold"
    c: int
    in_type: DType
    threshold_w: int
    levels: int = 1
    out_bits: int = 1
    base: int = 0


@dataclass(frozen=True)
class SwgParams:
    """bnn_swg: the sliding window generator, patches as {mask, data} chunks of ``simd``."""

    module: ClassVar[str] = "bnn_swg"
    window: WindowShape
    in_bits: int  # bits per element (the generator does not interpret them)
    simd: int


@dataclass(frozen=True)
class MaxPoolParams:
    """bnn_maxpool: OR/AND on bipolar elements, max/min on k-bit levels."""

    module: ClassVar[str] = "bnn_maxpool"
    window: WindowShape
    in_type: DType = BIPOLAR


@dataclass(frozen=True)
class SumPoolParams:
    """bnn_sumpool: the window's sum (average pooling without its 1/taps)."""

    module: ClassVar[str] = "bnn_sumpool"
    window: WindowShape
    in_type: DType
    out_bits: int


@dataclass(frozen=True)
class WidthConverterParams:
    """bnn_width_converter: pixels of ``c`` elements of ``in_bits`` → chunks of ``simd``."""

    module: ClassVar[str] = "bnn_width_converter"
    c: int
    in_bits: int
    simd: int

    @property
    def in_w(self) -> int:
        return self.c * self.in_bits

    @property
    def out_w(self) -> int:
        return self.simd * self.in_bits


@dataclass(frozen=True)
class MvuParams:
    """bnn_mvu: MH dot products of MW elements, PE rows x SIMD elements per cycle."""

    module: ClassVar[str] = "bnn_mvu"
    mw: int
    mh: int
    simd: int
    pe: int
    in_type: DType
    acc_w: int  # accumulator width, proven by the compiler
    out_bits: int  # per output channel; 32: the int32 accumulators themselves (the last layer)
    threshold_w: int
    padded: bool  # an input element can be zero padding (mask bit 0)
    weights_in_bram: bool
    weight_bits: int = 1  # hw/layout.py weight_code_bits
    levels: int = 1  # thresholds per channel
    base: int = 0  # output value when no threshold is reached
    gained: bool = False  # asymmetric ternary rows: the accumulator is A·P − B·N
    plane_w: int = 0  # width of the plane sums: P and N (gained), P_i (bases)
    gain_w: int = 1  # bits per gain: unsigned (gained), two's complement (bases)
    out_h: int = 1  # output positions per column and row (vectors per frame = out_h·out_w)
    out_w: int = 1
    row_classes: int = 1  # border classes of output rows and columns: thresholds per class
    col_classes: int = 1
    power_of_two: bool = False  # k-bit weight codes are powers of two (INQ): shifts, not products
    bases: int = 0  # M binary weight bases (ABC-Net): M ±1 planes per lane, Σ C_i·P_i
    residual: int = 0  # K ternary input planes per element (in_type ternary), Σ_k G_k·P_k (HORQ)
    dsp_products: bool = False  # k-bit weights on integer inputs: w·x in DSP48 slices, one per lane and element

    @property
    def classes(self) -> int:
        return self.row_classes * self.col_classes

    @property
    def thresholded(self) -> bool:
        return self.out_bits != OUTPUT_BITS

    @property
    def tiles(self) -> int:
        """Words of the weight ROM."""
        return (self.mh // self.pe) * (self.mw // self.simd)

    @property
    def popcount_inputs(self) -> bool:
        """Bipolar and ternary inputs go through the XNOR-popcount datapath."""
        return self.in_type.kind in ("bipolar", "ternary")


@dataclass(frozen=True)
class ResidualBinarizerParams:
    """bnn_residual_binarizer: order-K residual binarization of vectors of n elements of
    ``in_type`` read as chunks of ``simd``; S_W and GAIN_W from hw/engines.residual_widths, the
    gains sent as ⌊G_k/2^gain_shift⌋."""

    module: ClassVar[str] = "bnn_residual_binarizer"
    n: int
    simd: int
    in_type: DType
    padded: bool
    order: int
    s_w: int
    gain_w: int
    gain_shift: int = 0

    @property
    def out_gain_w(self) -> int:
        return self.gain_w - self.gain_shift

    @property
    def bins(self) -> int:
        """Histogram bins: one per value (bipolar: −1, +1 and padding)."""
        return 4 if self.in_type == BIPOLAR else 1 << self.in_type.bits

    @property
    def out_width(self) -> int:
        """{gains, mask, codes}: K 2-bit codes per element, the mask, K gains."""
        return self.simd * 2 * self.order + self.simd + self.order * self.out_gain_w


@dataclass(frozen=True)
class FifoParams:
    """bnn_axis_fifo: ``depth`` words (a power of two) of ``width`` bits."""

    module: ClassVar[str] = "bnn_axis_fifo"
    width: int
    depth: int


@dataclass(frozen=True)
class OutputParams:
    """bnn_output: vectors of ``in_type`` values (int32 accumulators, or a thresholded last
    layer's levels) → one 32-bit AXI-Stream beat per value, TLAST per frame."""

    module: ClassVar[str] = "bnn_output"
    values: int
    vectors: int
    in_type: DType = ACCUMULATOR


@dataclass(frozen=True)
class LabelSelectParams:
    """bnn_label_select: the indices of the k largest (or smallest) of each vector."""

    module: ClassVar[str] = "bnn_label_select"
    values: int
    k: int
    in_bits: int
    largest: bool
    index_bits: int


@dataclass(frozen=True)
class ForkParams:
    """bnn_fork: one stream of ``width``-bit beats to two."""

    module: ClassVar[str] = "bnn_fork"
    width: int


@dataclass(frozen=True)
class AddParams:
    """bnn_add: (a << shift_a) + (b << shift_b) per element, ``c`` elements per pixel."""

    module: ClassVar[str] = "bnn_add"
    c: int
    a_type: DType
    b_type: DType
    shift_a: int
    shift_b: int
    out_bits: int


@dataclass(frozen=True)
class ConcatParams:
    """bnn_concat: the ``c_a`` elements of a, then the ``c_b`` of b, each extended to
    ``out_bits`` (bipolar only with bipolar)."""

    module: ClassVar[str] = "bnn_concat"
    c_a: int
    a_type: DType
    c_b: int
    b_type: DType
    out_bits: int


ModuleParams = (InputParams | IntegerAffineParams | ThresholdParams | SwgParams | MaxPoolParams | SumPoolParams
                | WidthConverterParams | ResidualBinarizerParams | MvuParams | FifoParams | LabelSelectParams | OutputParams
                | ForkParams | AddParams | ConcatParams)
MODULE_TYPES: tuple[type, ...] = get_args(ModuleParams)
BY_MODULE = {t.module: t for t in MODULE_TYPES}


@dataclass(frozen=True)
class ModuleInstance:
    """What the generated top instantiates for one engine: the module's parameters, the width
    of the stream it drives, and the FIFO behind it (none after the last engine)."""

    params: ModuleParams
    out_width: int
    fifo: FifoParams | None = None
    mask_simd: int = 0  # a flatten's chunks carry no padding: the top ties the mask to ones
    second_fifo: FifoParams | None = None  # a fork's, behind its second output

    @property
    def module(self) -> str:
        return self.params.module


def fifo_depth(engine: Engine, consumer: Engine | None = None) -> int:
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
    vector, filled while the MVU is busy. A residual binarizer pauses its input for its steps
    after every vector; the FIFO in front holds a vector and those steps. A power of two."""
    if isinstance(engine, Flatten) and isinstance(consumer, Mvu) and consumer.mh > consumer.fold.pe:
        return max(CHUNK_FIFO_DEPTH, 1 << (consumer.mw // consumer.fold.simd).bit_length())
    if isinstance(engine, (Window, Flatten)) and isinstance(consumer, ResidualBinarizer):
        # it takes a vector, then works on it for its steps: a vector and the steps keep the feeder going
        return max(CHUNK_FIFO_DEPTH, 1 << (consumer.chunks + consumer.steps).bit_length())
    if isinstance(engine, (Window, Flatten, ResidualBinarizer)):
        return CHUNK_FIFO_DEPTH
    width = engine.out.w if hasattr(engine, "out") else 1
    pixels = width + 1
    if isinstance(consumer, Window):
        (kh, kw), (sh, _) = consumer.kernel, consumer.strides
        pixels = max(pixels, (kh - 1 + sh - 1) * width + kw)
    return max(2, 1 << pixels.bit_length())


def module_params(e: Engine) -> ModuleParams:
    """The library module an engine becomes, with its parameters."""
    if isinstance(e, InputStage):
        return InputParams(e.out.bits)
    if isinstance(e, IntegerAffineStage):
        return IntegerAffineParams(e.inp.c, e.inp.dtype, e.out.dtype.bits, e.scales)
    if isinstance(e, ThresholdStage):
        return ThresholdParams(e.inp.c, e.inp.dtype, e.threshold_w, e.levels, e.out.dtype.bits, e.base)
    if isinstance(e, Window):
        return SwgParams(WindowShape.of(e.inp, e.kernel, e.strides, e.pads), e.inp.dtype.bits, e.simd)
    if isinstance(e, Flatten):
        return WidthConverterParams(e.inp.c, e.inp.dtype.bits, e.simd)
    if isinstance(e, ResidualBinarizer):
        return ResidualBinarizerParams(e.n, e.simd, e.in_dtype, e.padded, e.order, *e.widths, e.gain_shift)
    if isinstance(e, Mvu):
        in_type = TERNARY if e.residual_order else e.in_dtype  # the binarizer's sign planes
        return MvuParams(e.mw, e.mh, e.fold.simd, e.fold.pe, in_type, e.acc_w, e.out_bits, e.threshold_w, e.padded,
                         e.weights_in_bram, e.weight_bits, e.levels, e.base, e.gains is not None and e.bases is None,
                         e.plane_w, e.gain_w, e.out_h, e.out_w, e.row_classes, e.col_classes, e.power_of_two,
                         e.base_count, e.residual_order, e.dsp_products)
    if isinstance(e, Pool) and e.summing:
        return SumPoolParams(WindowShape.of(e.inp, e.kernel, e.strides, e.pads), e.inp.dtype, e.out.dtype.bits)
    if isinstance(e, Pool):
        return MaxPoolParams(WindowShape.of(e.inp, e.kernel, e.strides, e.pads), e.inp.dtype)
    if isinstance(e, LabelSelectStage):
        return LabelSelectParams(e.inp.c, e.k, e.inp.dtype.bits, e.largest, e.out.dtype.bits)
    if isinstance(e, OutputStage):
        return OutputParams(e.values, e.vectors, e.dtype)
    if isinstance(e, ForkStage):
        return ForkParams(e.inp.bits)
    if isinstance(e, JoinStage) and e.kind == "add":
        return AddParams(e.out.c, e.a.dtype, e.b.dtype, e.shifts[0], e.shifts[1], e.out.dtype.bits)
    if isinstance(e, JoinStage):
        return ConcatParams(e.a.c, e.a.dtype, e.b.c, e.b.dtype, e.out.dtype.bits)
    raise TypeError(f"no library module for {type(e).__name__}")


def stream_width(e: Engine) -> int:
    """Bits per word of the stream an engine drives: a pixel, a {mask, data} chunk, a vector
    of MH outputs, or an int32 accumulator."""
    if isinstance(e, (Window, Flatten)):
        return e.simd * e.inp.dtype.bits + e.simd
    if isinstance(e, ResidualBinarizer):
        return module_params(e).out_width
    if isinstance(e, Mvu):
        return e.mh * e.out_bits
    if isinstance(e, OutputStage):
        return OUTPUT_BITS
    return e.out.bits


def instance_of(e: Engine, consumer: Engine | None = None, depths: tuple[int, ...] = ()) -> ModuleInstance:
    """Module, parameters and output FIFO(s) of one engine; ``consumer`` is the engine reading
    it (a fork's first reader). ``depths`` overrides the FIFO depths (a fork's two, sized for
    its branches: hw/fifo_sizing.py)."""
    width = stream_width(e)
    fifo = None if isinstance(e, OutputStage) else FifoParams(width, depths[0] if depths else fifo_depth(e, consumer))
    second = FifoParams(width, depths[1]) if isinstance(e, ForkStage) and len(depths) > 1 else None
    return ModuleInstance(module_params(e), width, fifo, e.simd if isinstance(e, Flatten) else 0, second)


# ---- JSON form (the resource model's calibration points) ----

def params_to_json(params: ModuleParams) -> dict:
    """``params`` as plain JSON values: element types as their names (uint8, bipolar, ...)."""
    def plain(value):
        if isinstance(value, DType):
            return str(value)
        if isinstance(value, WindowShape):
            return asdict(value)
        return value

    return {f.name: plain(getattr(params, f.name)) for f in fields(params)}


def params_from_json(module: str, data: dict) -> ModuleParams:
    """Inverse of ``params_to_json`` for a module named ``module``."""
    cls = BY_MODULE[module]
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "window":
            value = WindowShape(**value)
        elif f.name in ("in_type", "a_type", "b_type"):
            value = DType.parse(value)
        elif isinstance(value, list):
            value = tuple(value)  # frozen parameters stay hashable
        values[f.name] = value
    return cls(**values)
