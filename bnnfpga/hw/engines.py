"""The streaming dataflow both hardware backends build (docs/DESIGN.md 4): the engines (a
chain, or a DAG with forks and joins, docs/DESIGN.md 3.15), what each streams, and the cycle
and latency model. Backend-neutral; hw/lower.py builds the dataflow from the folded IR,
codegen/hls.py and codegen/rtl.py render it.

Streams between engines carry whole pixels in the layout of bnnfpga/hw/streams.py (channel c
of a pixel at bits [c·k, (c+1)·k)), except between a window/flatten engine and its MVU,
where they carry {mask, data} chunks of SIMD elements. A flatten in the model becomes a
permutation of the next dense layer's weight columns (ONNX flattens C-major, the stream is
pixel-major).

Each engine reports ``cycles``: clock cycles per frame of the RTL engine when nothing
stalls it. The slowest engine sets the frame rate (``bottleneck``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from bnnfpga.hw.fold import BRAM_MIN_DEPTH, Fold, Products, WeightMemory
from bnnfpga.ir.types import BIPOLAR, DType, signed_width

WORD_BITS = 64  # input stream beat
# The widest input a DSP48E1's 25 x 18 multiplier takes with an 8-bit weight: a 24-bit integer
# (25 bits signed) on the A port.
MAX_DSP_INPUT_BITS = 24
OUTPUT_BITS = 32  # output stream beat: one int32 accumulator
ACCUMULATOR = DType("int", OUTPUT_BITS)  # an unthresholded last layer's values


@dataclass(frozen=True)
class Pixels:
    """A stream of H x W pixels of C elements of type ``dtype`` per frame."""

    c: int
    h: int
    w: int
    dtype: DType

    @property
    def bits(self) -> int:
        """Bits per pixel."""
        return self.c * self.dtype.bits

    @property
    def count(self) -> int:
        return self.h * self.w


@dataclass(frozen=True)
class InputStage:
    """AXI-Stream 64-bit words → pixels (each pixel is a whole number of words)."""

    out: Pixels

    @property
    def words_per_pixel(self) -> int:
        return (self.out.bits + WORD_BITS - 1) // WORD_BITS

    @property
    def cycles(self) -> int:
        return self.out.count * self.words_per_pixel


@dataclass(frozen=True)
class IntegerAffineStage:
    """u = scale[c]·x + offset[c] per element: the integer gains of a per-channel input scale."""

    name: str
    source: str
    inp: Pixels
    out: Pixels
    scales: tuple[int, ...]
    offsets: tuple[int, ...]

    @property
    def cycles(self) -> int:
        return self.inp.count


@dataclass(frozen=True)
class ThresholdStage:
    """Per-channel thresholds on integer pixels (binarising or quantizing the raw input):
    ``levels`` thresholds per channel, out = base + count (bipolar: one, the bit itself)."""

    name: str
    source: str
    inp: Pixels
    thresholds: tuple[int, ...]  # channel c's at [c·levels, (c+1)·levels)
    constant: tuple[int, ...]  # 0: use the threshold; +1/-1: constant channel (bipolar only)
    threshold_w: int
    levels: int = 1
    base: int = 0
    out_dtype: DType = BIPOLAR

    @property
    def out(self) -> Pixels:
        return Pixels(self.inp.c, self.inp.h, self.inp.w, self.out_dtype)

    @property
    def cycles(self) -> int:
        return self.inp.count


@functools.lru_cache(maxsize=4096)
def window_cycles(h: int, w: int, kernel: tuple[int, int], strides: tuple[int, int],
                  pads: tuple[int, int, int, int], chunks: int) -> int:
    """Cycles per frame of the line-buffer window generator (rtl/bnn_swg.sv) fed and drained
    at full rate: one shift per padded pixel, but a shift that completes a window waits until
    the ``chunks`` chunks of the previous window have left."""
    (kh, kw), (sh, sw) = kernel, strides
    top, left, bottom, right = pads
    t = free = 0  # the current cycle; the first cycle the emit register is free
    for y in range(h + top + bottom):
        for x in range(w + left + right):
            if y >= kh - 1 and x >= kw - 1 and (y - kh + 1) % sh == 0 and (x - kw + 1) % sw == 0:
                t = max(t, free)
                free = t + chunks
            t += 1
    return t


@dataclass(frozen=True)
class Window:
    """Sliding-window generator: pixels → the (kh, kw, c)-ordered patch of every output
    position, as {mask, data} chunks of ``simd`` elements (mask 0 = zero padding)."""

    layer: str
    inp: Pixels
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    simd: int
    out_h: int
    out_w: int

    @property
    def chunks_per_position(self) -> int:
        return self.kernel[0] * self.kernel[1] * self.inp.c // self.simd

    @property
    def cycles(self) -> int:
        return window_cycles(self.inp.h, self.inp.w, self.kernel, self.strides, self.pads, self.chunks_per_position)


@dataclass(frozen=True)
class Flatten:
    """Pixels → chunks of ``simd`` elements of the flattened vector (a width converter)."""

    layer: str
    inp: Pixels
    simd: int

    @property
    def chunks(self) -> int:
        return self.inp.count * self.inp.c // self.simd

    @property
    def cycles(self) -> int:
        return max(self.inp.count, self.chunks)


def residual_widths(n: int, order: int, largest: int) -> tuple[int, int]:
    """(S_W, GAIN_W) of an order-K residual binarization of n values |x| ≤ ``largest``
    (docs/DESIGN.md 5.3): the scaled residuals S_k (k < K, |S_k| ≤ n^k·max|x|, two's
    complement) and the sums A_k and gains G_k = A_k·n^(K−k) (≤ n^K·max|x|, unsigned)."""
    s = n ** (order - 1) * largest
    return signed_width(-s, s).bits, max(1, (n**order * largest).bit_length())


@dataclass(frozen=True)
class ResidualBinarizer:
    """Run-time residual binarization of order K of every vector (docs/DESIGN.md 5.3): {mask,
    data} chunks of ``simd`` elements in; out, each element's K sign codes and the vector's K
    gains (rtl/bnn_residual_binarizer.sv). ``out_h`` x ``out_w`` vectors per frame (a conv's
    output positions); ``largest`` = max |x| of the inputs; ``gain_shift`` F sends the gains
    as ⌊G_k/2^F⌋."""

    layer: str
    n: int
    simd: int
    in_dtype: DType
    order: int
    padded: bool
    largest: int
    out_h: int = 1
    out_w: int = 1
    gain_shift: int = 0  # F: the gains leave as ⌊G_k/2^F⌋ (fixed-point β, DotProduct.residual_gain_shift)

    @property
    def reps(self) -> int:
        return self.out_h * self.out_w

    @property
    def chunks(self) -> int:
        return self.n // self.simd

    @property
    def widths(self) -> tuple[int, int]:
        return residual_widths(self.n, self.order, self.largest)

    @property
    def out_gain_w(self) -> int:
        """Bits of the gains the binarizer sends: GAIN_W less the shift."""
        return self.widths[1] - self.gain_shift

    @property
    def steps(self) -> int:
        """Cycles between a vector's last chunk in and the next one: 2K steps and the gains."""
        return 2 * self.order + 1

    @property
    def cycles(self) -> int:
        return self.reps * (self.chunks + self.steps)


@dataclass(frozen=True, eq=False)
class Mvu:
    """Matrix-vector unit: ``reps`` vectors of MW elements per frame, MH dot products each,
    PE rows x SIMD elements per cycle; thresholds (``levels`` per channel: out = base +
    count, bipolar for one) or int32 accumulators. Weights are ±1, ternary or k-bit integers,
    ``weight_bits`` per weight as hw/layout.py codes them (docs/DESIGN.md 5). With ``gains``
    (MH, 2) the rows are ternary codes and the accumulator is A·P − B·N over the rows' two
    planes (asymmetric ternary weights; ir.ops.DotProduct), P and N ``plane_w`` bits wide.
    With ``bases`` (M, MH, MW) ±1 (ABC-Net's weight bases, columns in stream order) the weight
    codes are the bases' signs (``weight_bits`` = M) and the accumulator is Σ_i C_i·P_i,
    ``gains`` (MH, M) the signed C_i and P_i the dot product with base i, ``plane_w`` bits wide.
    With ``residual_order`` K the inputs are the K ternary sign planes of a ResidualBinarizer
    in front and the accumulator is Σ_k G_k·P_k with the vector's gains (``residual_gain_w``
    bits) and P_k the dot product with plane k, ``plane_w`` bits wide (``in_dtype`` stays the
    layer's input type).
    With ``row_class``/``col_class`` (one entry per output row/column) the thresholds differ
    by border class: output position (r, c) reads class row_class[r]·col_classes +
    col_class[c] (docs/DESIGN.md 3.4)."""

    name: str
    source: str
    mw: int
    mh: int
    fold: Fold
    in_dtype: DType
    acc_w: int
    out_h: int
    out_w: int
    rows: np.ndarray  # (MH, MW) integer weights, columns in stream order
    thresholds: tuple[int, ...] | None  # [(class·MH + channel)·levels + j]; None: int32 accumulators out
    constant: tuple[int, ...]
    threshold_w: int
    flipped: int  # rows negated by threshold folding (docs/DESIGN.md 3.3), for the reader
    padded: bool  # the input vectors can hold zero padding (mask bits that are 0)
    weight_bits: int = 1
    levels: int = 1
    base: int = 0
    out_dtype: DType = BIPOLAR  # of the thresholded output
    gains: np.ndarray | None = None  # (MH, 2) integer gains (A, B) per row, or (MH, M) with bases
    plane_w: int = 0
    row_class: tuple[int, ...] = ()  # border class of each output row (empty: one class)
    col_class: tuple[int, ...] = ()  # border class of each output column
    power_of_two: bool = False  # weight codes are powers of two (INQ, hw/layout.py)
    bases: np.ndarray | None = None  # (M, MH, MW) ±1 weight bases (ABC-Net), columns in stream order
    residual_order: int = 0  # K ternary input planes from a ResidualBinarizer, Σ_k G_k·P_k (HORQ)
    residual_gain_w: int = 0  # bits of the vector gains G_k that come with the planes

    @property
    def row_classes(self) -> int:
        return max(self.row_class, default=0) + 1

    @property
    def col_classes(self) -> int:
        return max(self.col_class, default=0) + 1

    @property
    def classes(self) -> int:
        """Threshold sets: one per (row class, column class)."""
        return self.row_classes * self.col_classes

    @property
    def base_count(self) -> int:
        """M, the weight bases (0 without)."""
        return 0 if self.bases is None else len(self.bases)

    @property
    def gain_w(self) -> int:
        """Bits per gain: unsigned (A, B) and residual G_k, two's complement with bases; 1
        without gains."""
        if self.residual_order:
            return self.residual_gain_w
        if self.gains is None:
            return 1
        if self.bases is not None:
            return signed_width(int(self.gains.min()), int(self.gains.max())).bits
        return max(1, int(self.gains.max()).bit_length())

    @property
    def reps(self) -> int:
        return self.out_h * self.out_w

    @property
    def out_bits(self) -> int:
        """Bits per output element: the activation's (1 for bipolar) or 32 (int32 accumulator)."""
        return self.out_dtype.bits if self.thresholds is not None else OUTPUT_BITS

    @property
    def out(self) -> Pixels:
        return Pixels(self.mh, self.out_h, self.out_w, self.out_dtype if self.thresholds is not None else ACCUMULATOR)

    @property
    def memory_bits(self) -> int:
        """Weight bits per PE lane."""
        return self.mh * self.mw * self.weight_bits // self.fold.pe

    @property
    def tiles(self) -> int:
        """Words of the weight ROM: one per (row of PEs, chunk)."""
        return (self.mh // self.fold.pe) * (self.mw // self.fold.simd)

    @property
    def multiplies(self) -> bool:
        """Its dot products multiply: two's complement k-bit weights on integer inputs (the other
        engines count, add ±x or shift, and gains multiply once per row, not per element)."""
        return (self.weight_bits > 2 and not self.power_of_two and self.gains is None and self.bases is None
                and not self.residual_order and self.in_dtype.kind not in ("bipolar", "ternary"))

    @property
    def takes_dsp_products(self) -> bool:
        """Its products fit DSP48E1 multipliers: it multiplies, on inputs of at most
        MAX_DSP_INPUT_BITS (an 8-bit weight on the 18-bit port)."""
        return self.multiplies and self.in_dtype.bits <= MAX_DSP_INPUT_BITS

    @property
    def dsp_products(self) -> bool:
        """Its w·x products are DSP48 multipliers (as the folding says) rather than LUT shift-adds."""
        return self.fold.products is Products.DSP

    @property
    def weights_in_bram(self) -> bool:
        """Whether the weight ROM goes to block RAM: as the folding says, or by its depth."""
        if self.fold.weights is WeightMemory.AUTO:
            return self.tiles >= BRAM_MIN_DEPTH
        return self.fold.weights is WeightMemory.BRAM

    @property
    def row_cycles(self) -> int:
        """Cycles per row of PEs: its chunks, or with residual planes at least the K cycles of
        their combination (one plane a cycle)."""
        return max(self.mw // self.fold.simd, self.residual_order)

    @property
    def cycles(self) -> int:
        return self.reps * (self.mh // self.fold.pe) * self.row_cycles


@dataclass(frozen=True)
class Pool:
    """Max-pool over valid positions (bipolar: OR, AND on ``use_min`` channels; k-bit levels:
    max, min on ``use_min`` channels), or with ``summing`` the window's sum (average pooling,
    its 1/taps folded behind; padded positions add 0)."""

    name: str
    source: str
    inp: Pixels
    out: Pixels
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    min_channels: int  # bit c set: channel c is a min-pool (docs/DESIGN.md 3.6)
    summing: bool = False

    @property
    def cycles(self) -> int:
        # The RTL pool is a sliding window sending one tap (a whole pixel) per cycle.
        return window_cycles(self.inp.h, self.inp.w, self.kernel, self.strides, self.pads, self.kernel[0] * self.kernel[1])


@dataclass(frozen=True)
class LabelSelectStage:
    """The indices of the k best of a vector of int32 accumulators (docs/DESIGN.md 3.13):
    rtl/bnn_label_select.sv scans the held vector one value per cycle into a sorted list."""

    name: str
    source: str
    inp: Pixels  # one vector of accumulators per frame
    out: Pixels  # k indices
    k: int
    largest: bool

    @property
    def cycles(self) -> int:
        return self.inp.c + LABEL_SELECT_OVERHEAD


LABEL_SELECT_OVERHEAD = 2  # taking the vector, handing the labels on (rtl/bnn_label_select.sv)


@dataclass(frozen=True)
class OutputStage:
    """Vectors of the last engine's values (int32 accumulators, or the levels of a thresholded
    last layer) → one 32-bit AXI-Stream beat per value, TLAST on the frame's last."""

    values: int  # values per vector
    vectors: int  # vectors per frame
    dtype: DType = ACCUMULATOR  # of the values; each beat holds one extended to int32

    @property
    def beats(self) -> int:
        return self.values * self.vectors

    @property
    def cycles(self) -> int:
        return self.beats


@dataclass(frozen=True)
class ForkStage:
    """One pixel stream to two (a tensor read by two layers, docs/DESIGN.md 3.15): every pixel
    goes to both readers; port 0 feeds the first reader, port 1 the second."""

    name: str
    inp: Pixels

    @property
    def out(self) -> Pixels:
        return self.inp

    @property
    def cycles(self) -> int:
        return self.inp.count


@dataclass(frozen=True)
class JoinStage:
    """Two pixel streams joined element-wise (``add``: a·2^shifts[0] + b·2^shifts[1], the
    integer shortcut of a residual block) or channel after channel (``concat``), a pixel of
    each per output pixel (docs/DESIGN.md 3.15)."""

    name: str
    source: str
    kind: str  # "add" | "concat"
    a: Pixels
    b: Pixels
    out: Pixels
    shifts: tuple[int, int] = (0, 0)

    @property
    def cycles(self) -> int:
        return self.out.count


Engine = (InputStage | IntegerAffineStage | ThresholdStage | Window | Flatten | ResidualBinarizer | Mvu | Pool
          | LabelSelectStage | OutputStage | ForkStage | JoinStage)

# A stream: the engine driving it and the port (1 only for a fork's second output).
Port = tuple[int, int]


@dataclass(frozen=True)
class Dataflow:
    """The engines in topological order. ``inputs[i]`` are the streams engine i reads (one, or
    two for a join); empty ``inputs``: a chain, engine i reads engine i − 1."""

    engines: tuple[Engine, ...]
    input: Pixels
    inputs: tuple[tuple[Port, ...], ...] = ()

    @property
    def branches(self) -> bool:
        return bool(self.inputs)

    def sources(self, i: int) -> tuple[Port, ...]:
        """The streams engine ``i`` reads."""
        if self.inputs:
            return self.inputs[i]
        return ((i - 1, 0),) if i > 0 else ()

    @functools.cached_property
    def readers(self) -> dict[Port, tuple[int, int]]:
        """Every read stream → (the engine reading it, which of its inputs)."""
        return {port: (j, slot) for j in range(len(self.engines)) for slot, port in enumerate(self.sources(j))}

    def reader(self, i: int, port: int = 0) -> Engine | None:
        """The engine reading port ``port`` of engine ``i`` (None for the last engine)."""
        j = self.readers.get((i, port))
        return None if j is None else self.engines[j[0]]

    @property
    def in_words(self) -> int:
        """64-bit input words per frame."""
        return self.engines[0].cycles

    @property
    def out_words(self) -> int:
        """int32 output words per frame."""
        return self.engines[-1].beats

    @property
    def bottleneck(self) -> Engine:
        return max(self.engines, key=lambda e: e.cycles)

    @property
    def cycles_per_frame(self) -> int:
        """Steady-state cycles per frame: the slowest engine's."""
        return self.bottleneck.cycles

    @property
    def latency_cycles(self) -> int:
        """Cycles from a frame's first input word to its last output beat through an empty
        pipeline (an estimate, within 16% of Verilator on the rtl tests' networks): an engine
        gets its first input when the one before it has filled, and finishes no sooner than
        the share of its cycles the frame's output depends on after that, nor sooner than its
        last needed input plus the work that input still causes."""
        if self.inputs:
            return self._branching_latency()
        first_input = finish = 0
        for e, share in zip(self.engines, _needed_shares(self.engines)):
            fill, drain = _fill_and_drain(e)
            finish = max(finish + drain, first_input + math.ceil(share * e.cycles) + (MVU_PIPELINE if isinstance(e, Mvu) else 1))
            first_input += fill
        return finish

    def _branching_latency(self) -> int:
        """The chain's rule on a DAG: an engine's first input waits for the latest of its
        sources to fill, its finish for the latest source to finish (every share taken as 1:
        a join needs all of both streams)."""
        first_input: list[int] = []
        finish: list[int] = []
        for i, e in enumerate(self.engines):
            sources = [j for j, _ in self.sources(i)]
            start = max((first_input[j] + _fill_and_drain(self.engines[j])[0] for j in sources), default=0)
            done = max((finish[j] for j in sources), default=0)
            fill, drain = _fill_and_drain(e)
            first_input.append(start)
            finish.append(max(done + drain, start + e.cycles + (MVU_PIPELINE if isinstance(e, Mvu) else 1)))
        return finish[-1]

    def mvus(self) -> list[Mvu]:
        return [e for e in self.engines if isinstance(e, Mvu)]


MVU_PIPELINE = 3  # fetch, partial, accumulate (rtl/bnn_mvu.sv)


def _needed_shares(engines) -> list[float]:
    """Per engine, the share of its work per frame that the frame's last output waits for:
    windows that floor-mode pooling or a stride never reach leave the last rows unread."""
    shares = [1.0] * len(engines)
    rows = None  # rows of the current engine's output that the rest needs (None: all)
    for i in range(len(engines) - 1, -1, -1):
        e = engines[i]
        if isinstance(e, (Window, Pool)):
            out_h = e.out_h if isinstance(e, Window) else e.out.h
            needed_out = out_h if rows is None else min(rows, out_h)
            rows = min(e.inp.h, max(1, (needed_out - 1) * e.strides[0] + e.kernel[0] - e.pads[0]))
            shares[i] = needed_out / out_h  # the work is per output position
        elif isinstance(e, (Flatten, OutputStage)) or (isinstance(e, Mvu) and e.out_h == 1):
            rows = None  # a whole vector
        elif rows is not None:
            height = e.out.h if hasattr(e, "out") else e.out_h
            shares[i] = min(1.0, rows / height)
    return shares


def _fill_and_drain(e: Engine) -> tuple[int, int]:
    """Cycles from an engine's first input to its first output, and from its last input to
    its last output (the latency model's two numbers per engine)."""
    if isinstance(e, InputStage):
        return e.words_per_pixel, 1
    if isinstance(e, (Window, Pool)):
        (kh, kw), (_, left, bottom, right) = e.kernel, e.pads
        wp = e.inp.w + left + right
        taps = e.chunks_per_position if isinstance(e, Window) else kh * kw
        return (kh - 1) * wp + kw, bottom * wp + right + taps
    if isinstance(e, Flatten):
        return 1, max(1, e.inp.c // e.simd)
    if isinstance(e, ResidualBinarizer):  # a whole vector and the steps before its first chunk leaves
        return e.chunks + e.steps + 1, e.chunks + e.steps + 1
    if isinstance(e, Mvu):  # residual planes: a combine stage of K cycles behind the pipeline
        nf, sf = e.mh // e.fold.pe, e.mw // e.fold.simd
        combine = e.residual_order
        return (nf - 1) * e.row_cycles + sf + MVU_PIPELINE + combine, (nf - 1) * e.row_cycles + MVU_PIPELINE + combine
    if isinstance(e, OutputStage):
        return 1, e.values
    if isinstance(e, LabelSelectStage):
        return e.cycles, e.cycles
    return 1, 1
