"""IR operations. Each op knows its attributes and its output type; the golden model gives
them meaning (bnnfpga/golden/executor.py) and docs/DESIGN.md section 3 is their contract.

Before folding, the graph also holds float ops (``Affine``, ``Binarize``, float weights) as
the frontend read them from ONNX; the passes turn them into integer ops. Arrays are NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnnfpga.ir.types import BIPOLAR, FLOAT, DType, TensorType, integer_type, power_of_two_type, signed_width, uint


class Op:
    """Base class: one operation with one output tensor."""

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        raise NotImplementedError


def is_integer_weight(weight: np.ndarray) -> bool:
    """Weights already read as integers (ExtractIntegerWeights): int8, int16 for power-of-two
    rows whose largest magnitude exceeds 127, int16 to int64 for the sums of weight bases."""
    return weight.dtype in (np.int8, np.int16, np.int32, np.int64)


def is_power_of_two_grid(weight: np.ndarray) -> bool:
    """Every non-zero |w| a power of two (INQ)."""
    magnitude = np.abs(weight.astype(np.int64))
    return bool(np.all((magnitude & (magnitude - 1)) == 0))


def weight_type(weight: np.ndarray) -> DType:
    """FLOAT for float weights; for integer weights the narrowest of bipolar (all ±1), ternary
    ({−1, 0, +1}), and intK or a power-of-two code (docs/DESIGN.md 3.11), the power-of-two
    code where every non-zero |w| is a power of two and it is no wider."""
    if not is_integer_weight(weight):
        return FLOAT
    lo, hi = (int(weight.min()), int(weight.max())) if weight.size else (-1, 1)
    if np.all(np.abs(weight) == 1):
        return BIPOLAR
    if lo >= -1 and hi <= 1:
        return integer_type(min(lo, -1), hi)
    grid = signed_width(lo, hi)
    if is_power_of_two_grid(weight):
        code = power_of_two_type(max(-lo, hi))
        if code.bits <= grid.bits:
            return code
    return grid


def _pool_out(size: int, kernel: int, stride: int, pad_lo: int, pad_hi: int) -> int:
    return (size + pad_lo + pad_hi - kernel) // stride + 1


@dataclass(eq=False)
class DotProduct(Op):
    """Shared part of Conv and Dense: y = W·x (+ bias while still float).

    ``weight`` is float64 as read from the model until ``ExtractIntegerWeights``; then int8
    (int16 for power-of-two rows beyond 127): ±1 (bipolar, docs/DESIGN.md 3.1), {−1, 0, +1}
    (ternary), small two's complement integers (k-bit weights, docs/DESIGN.md 5) or powers of
    two (INQ), whichever ``weight_dtype`` the values need. ``flipped[o]`` records that row o was negated by
    threshold folding (docs/DESIGN.md 3.3, γ < 0). ``acc_min``/``acc_max`` are the proven per-row
    reachable accumulator ranges (docs/DESIGN.md 3.8), set by ``AccumulatorWidths``.

    ``gains`` (O, 2) makes a ternary layer asymmetric (TTQ, {−a, 0, +b} per row): the weight
    codes +1 and −1 of row o stand for +gains[o, 0] and −gains[o, 1], and the dot product is
    gains[o, 0]·P − gains[o, 1]·N with the two plane sums P = Σ_{w=+1} x, N = Σ_{w=−1} x.
    The gains are float (b, a) as read from the model until ``FoldThresholds`` replaces them
    by integers (A, B) that decide every reachable (P, N) as the float dot product does.
    ``plane_min``/``plane_max`` (O, 2) are the proven ranges of P and N.

    ``bases`` (M, O, ...) ±1 and ``base_gains`` (O, M) factor the weights as M scaled binary
    bases (ABC-Net: W = Σ_i base_gains[:, i]·bases[i]); ``weight`` is that sum, float as read
    (gains α·s) until ``IntegerBaseGains`` makes the gains integers on one power-of-two grid.
    The dot product is the plain one with ``weight``; the bases are how an engine may compute
    it (M ±1 dot products and M constant products).

    ``residual_order`` K ≥ 1 binarizes each input vector (the whole input of a Dense, the
    zero-padded receptive field of each output position of a Conv) at run time before the
    dot product (HORQ, XNOR-Net's input scaling; docs/DESIGN.md 5.3): the output is
    n^K·W·x̂ with x̂ = Σ_k β_k·H_k the order-K residual binarization of the n values, an
    integer on integer inputs. The frontend puts the 1/n^K into the affine behind.
    ``residual_gain_shift`` F > 0 takes the per-vector gains G_k = A_k·n^(K−k) in fixed point,
    ⌊G_k/2^F⌋, where the exact accumulator would pass its bound: the output is then
    Σ_k ⌊G_k/2^F⌋·W·H_k, within K·Σ|w| of n^K·W·x̂/2^F (``ResidualGainShift``, 5.3).
    """

    weight: np.ndarray
    bias: np.ndarray | None = None
    flipped: np.ndarray | None = None
    acc_min: np.ndarray | None = None
    acc_max: np.ndarray | None = None
    gains: np.ndarray | None = None
    plane_min: np.ndarray | None = None
    plane_max: np.ndarray | None = None
    bases: np.ndarray | None = None
    base_gains: np.ndarray | None = None
    residual_order: int = 0
    residual_gain_shift: int = 0

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0])

    @property
    def fan_in(self) -> int:
        return int(np.prod(self.weight.shape[1:]))

    @property
    def weight_dtype(self) -> DType:
        return weight_type(self.weight)

    @property
    def weight_magnitude(self) -> int:
        """The largest |w| of integer weights (of the codes, for a layer with gains)."""
        return int(np.abs(self.weight).max()) if self.weight.size else 0

    @property
    def has_float_gains(self) -> bool:
        return self.gains is not None and self.gains.dtype.kind == "f"

    @property
    def effective_weight(self) -> np.ndarray:
        """The weights the dot product multiplies by, as float64: the codes times their
        gains in a layer with gains."""
        if self.gains is None:
            return self.weight.astype(np.float64)
        view = (-1,) + (1,) * (self.weight.ndim - 1)
        pos, neg = self.gains[:, 0].reshape(view), self.gains[:, 1].reshape(view)
        return np.where(self.weight > 0, pos, np.where(self.weight < 0, -neg, 0.0)).astype(np.float64)

    def residual_magnitude(self, largest_input: int) -> int:
        """A bound on |n^K·x̂_i| for inputs |x| ≤ ``largest_input`` (docs/DESIGN.md 5.3): n·|x|max
        at order 1, 2·n^K·|x|max above (every residual stays within ±|x|max)."""
        order, n = self.residual_order, self.fan_in
        return min(order, 2) * n**order * largest_input

    def accumulator_type(self, input_dtype: DType) -> DType:
        if self.weight_dtype == FLOAT or not input_dtype.is_integer or self.has_float_gains:
            return FLOAT
        if self.acc_min is not None and self.acc_max is not None:
            return signed_width(int(self.acc_min.min()), int(self.acc_max.max()))
        gain = int(np.abs(self.gains).max()) if self.gains is not None and self.gains.size else 1
        largest = input_dtype.magnitude
        if self.residual_order:
            largest = self.residual_magnitude(largest)
        magnitude = largest * self.fan_in * self.weight_magnitude * gain
        return signed_width(-magnitude, magnitude)


@dataclass(eq=False)
class Conv(DotProduct):
    """2-D convolution, weight (O, C, KH, KW); zero padding contributes 0 (docs/DESIGN.md 3.5).

    ``pads`` is (top, left, bottom, right) as in ONNX; ``strides`` is (sy, sx).
    """

    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        _, h, w = x.shape
        kh, kw = self.kernel
        oh = _pool_out(h, kh, self.strides[0], self.pads[0], self.pads[2])
        ow = _pool_out(w, kw, self.strides[1], self.pads[1], self.pads[3])
        return TensorType((self.out_channels, oh, ow), self.accumulator_type(x.dtype))


@dataclass(eq=False)
class Dense(DotProduct):
    """Fully connected layer, weight (O, I)."""

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        return TensorType((self.out_channels,), self.accumulator_type(x.dtype))


@dataclass(eq=False)
class Affine(Op):
    """Per-channel z = scale[c]·x + bias[c] in float64 (batchnorm, Mul/Add, input normalisation),
    plus ``position_bias[c, h, w]`` where the offset depends on the position: behind a
    zero-padded convolution of an offset input, the offset reaches a border position through
    fewer taps than an inner one (docs/DESIGN.md 3.4)."""

    scale: np.ndarray
    bias: np.ndarray
    position_bias: np.ndarray | None = None  # (C, H, W) float64

    def offset(self) -> np.ndarray:
        """The whole offset: bias (C,), or bias + position_bias (C, H, W)."""
        if self.position_bias is None:
            return self.bias
        return self.bias[:, None, None] + self.position_bias

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        return TensorType(inputs[0].shape, FLOAT)


@dataclass(eq=False)
class IntegerAffine(Op):
    """u = scale[c]·x + offset[c] on integers: the integer gains of a per-channel input scale
    in front of the first dot product (docs/DESIGN.md 3.4), whose weights must stay integers."""

    scale: np.ndarray  # int64 (C,), non-zero
    offset: np.ndarray  # int64 (C,)

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        ends = [int(s) * v + int(o) for s, o in zip(self.scale, self.offset) for v in (x.dtype.min, x.dtype.max)]
        lo, hi = min(ends), max(ends)
        dtype = uint(max(1, hi.bit_length())) if lo >= 0 else signed_width(lo, hi)
        return TensorType(x.shape, dtype)


@dataclass(eq=False)
class PReLU(Op):
    """Per-channel y = x for x ≥ 0, slope[c]·x below, in float64 (ONNX PRelu; ReActNet's
    RPReLU is one between two affines). Folded with the affines around it into the thresholds
    of the quantizer behind it, where the whole step is monotone (docs/DESIGN.md 3.15)."""

    slope: np.ndarray  # float64 (C,)

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        return TensorType(inputs[0].shape, FLOAT)


@dataclass(eq=False)
class Binarize(Op):
    """Float → bipolar: +1 when x ≥ 0 (or x > 0 when ``strict``), else −1 (docs/DESIGN.md 3.2).
    ``onnx_sign`` records that the model said ``Sign``, which maps 0 to 0, not +1."""

    strict: bool = False
    onnx_sign: bool = False

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        return TensorType(inputs[0].shape, BIPOLAR)


@dataclass(eq=False)
class Clamp(Op):
    """Per-channel float clamp to [lo[c], hi[c]] (±inf for no bound): ONNX Clip and Relu on
    activations, as PACT and DoReFa write them in front of a Round. ``BoundQuantizers``
    turns Clamp → Affine → Quantize into the quantizer's level range."""

    lo: np.ndarray
    hi: np.ndarray

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        return TensorType(inputs[0].shape, FLOAT)


class LevelRange(Op):
    """A quantizer onto the integer levels [qmin, qmax], the same on every channel
    (Quantize, Truncate). Subclasses hold ``qmin``, ``qmax`` and define ``evaluate``."""

    qmin: int
    qmax: int

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        return TensorType(inputs[0].shape, integer_type(self.qmin, self.qmax))

    @property
    def base(self) -> int:
        return self.qmin

    @property
    def steps(self) -> int:
        """Thresholds it folds into: the levels above the lowest."""
        return self.qmax - self.qmin

    def count(self, z: np.ndarray, channel) -> np.ndarray:
        """Levels above the lowest for float64 z (the same for every channel)."""
        return self.evaluate(z) - self.qmin


@dataclass(eq=False)
class Quantize(LevelRange):
    """Float → integer level, QONNX ``Quant`` order: q = rounding(clip(x, qmin, qmax)).

    The input is already divided by the quantizer's scale and shifted by its zero point (an
    Affine in front); the dequantisation (q − zp)·scale is an Affine behind. ``rounding``
    names a QONNX rounding mode (``ROUNDING_MODES``). The output is an integer tensor of the
    narrowest type holding [qmin, qmax]; FoldThresholds turns it into qmax − qmin thresholds.
    """

    qmin: int
    qmax: int
    rounding: str = "ROUND"

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """The integer levels of float64 x, as int64."""
        return ROUNDING_MODES[self.rounding](np.clip(x, self.qmin, self.qmax)).astype(np.int64)


@dataclass(eq=False)
class FloatThresholds(Op):
    """Float → integer level, QONNX ``MultiThreshold``: base + #{j : x ≥ thresholds[c, j]}
    on channel c. The thresholds are float (C, n), each row sorted; FoldThresholds turns
    them into integer thresholds on the accumulator, as it does with a Quantize."""

    thresholds: np.ndarray  # float64 (C, n)
    base: int = 0

    @property
    def steps(self) -> int:
        return int(self.thresholds.shape[1])

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        return TensorType(inputs[0].shape, integer_type(self.base, self.base + self.steps))

    def count(self, z: np.ndarray, channel) -> np.ndarray:
        """Thresholds reached by float64 z on ``channel`` (an index, or an index array that
        broadcasts with z)."""
        return (np.asarray(z)[..., None] >= self.thresholds[channel]).sum(axis=-1)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Levels of channels-last float64 x (..., C), as int64."""
        return self.base + self.count(x, slice(None)).astype(np.int64)


ROUNDING_MODES = {
    "ROUND": np.round,  # half to even, as numpy and QONNX
    "HALF_EVEN": np.round,
    "FLOOR": np.floor,
    "CEIL": np.ceil,
    "DOWN": np.fix,  # towards zero
    "UP": lambda x: np.sign(x) * np.ceil(np.abs(x)),
    "HALF_UP": lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5),
    "HALF_DOWN": lambda x: np.sign(x) * np.ceil(np.abs(x) - 0.5),
}


@dataclass(eq=False)
class Threshold(Op):
    """Integer → bipolar (one threshold, ``base`` None) or integer levels, per channel.

    count = number of thresholds t with y ≥ t (MultiThreshold semantics). Without ``base``
    the one threshold's count 0/1 is read as −1/+1 (binarisation); with it the output is
    ``base + count`` (k-bit activations: 2^k − 1 thresholds, base 0 unsigned, negative
    signed). ``constant[c]`` ≠ 0 makes a bipolar channel c the constant ``constant[c]``
    whatever y is (docs/DESIGN.md 3.3, γ = 0); a constant multi-level channel has its thresholds at
    the ends of the accumulator range instead.
    """

    thresholds: np.ndarray  # int64 (C, n), or (C, H, W, n) per position; sorted along n
    constant: np.ndarray  # int8 (C,)
    base: int | None = None

    @property
    def levels(self) -> int:
        return int(self.thresholds.shape[-1])

    @property
    def positional(self) -> bool:
        """Thresholds per output position (C, H, W, n): the border classes of a zero-padded
        convolution of an offset input (docs/DESIGN.md 3.4)."""
        return self.thresholds.ndim == 4

    @property
    def bipolar(self) -> bool:
        return self.base is None

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        if self.base is None:
            return TensorType(inputs[0].shape, BIPOLAR)
        return TensorType(inputs[0].shape, integer_type(self.base, self.base + self.levels))


@dataclass(eq=False)
class MaxPool(Op):
    """Max-pool over windows of valid (unpadded) positions; ``use_min[c]`` makes channel c a
    min-pool, which is what a max-pool becomes behind a flipped threshold (docs/DESIGN.md 3.6).
    On bipolar values max is OR and min is AND of the bits."""

    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    use_min: np.ndarray | None = None

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        c, h, w = x.shape
        oh = _pool_out(h, self.kernel[0], self.strides[0], self.pads[0], self.pads[2])
        ow = _pool_out(w, self.kernel[1], self.strides[1], self.pads[1], self.pads[3])
        return TensorType((c, oh, ow), x.dtype)


@dataclass(eq=False)
class SumPool(Op):
    """Sum over each window (docs/DESIGN.md 3.6 as average pooling): ONNX AveragePool (with
    count_include_pad = 1, or without padding) and GlobalAveragePool are a SumPool followed by
    an Affine of 1/(KH·KW). A padded tap adds 0. On integers the sums are integers, so that a
    quantizer behind it (QONNX Trunc) folds into thresholds on them."""

    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1]

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        (x,) = inputs
        c, h, w = x.shape
        shape = (c, _pool_out(h, self.kernel[0], self.strides[0], self.pads[0], self.pads[2]),
                 _pool_out(w, self.kernel[1], self.strides[1], self.pads[1], self.pads[3]))
        if not x.dtype.is_integer:
            return TensorType(shape, FLOAT)
        lo, hi = self.taps * x.dtype.min, self.taps * x.dtype.max
        if any(self.pads):  # a window with padded taps sums fewer values
            lo, hi = min(lo, 0), max(hi, 0)
        return TensorType(shape, signed_width(lo, hi) if lo < 0 else uint(max(1, hi.bit_length())))


@dataclass(eq=False)
class Truncate(LevelRange):
    """Float → integer level, QONNX ``Trunc`` (v2; Brevitas writes it behind an average pool):
    q = rounding(clip(round(x/scale + zeropt) / 2^shift, qmin, qmax)). The dequantisation
    (q − zeropt/2^shift)·output_scale is an Affine behind. Behind a SumPool, x/scale is the
    window's integer sum, and FoldThresholds turns the Truncate into qmax − qmin thresholds on
    it, as it does with a Quantize."""

    scale: float
    zeropt: float
    shift: int  # output_scale/scale = 2^shift
    qmin: int
    qmax: int
    rounding: str = "FLOOR"

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """The integer levels of float64 x, as int64."""
        y = np.round(np.asarray(x, np.float64) / self.scale + self.zeropt) / 2.0**self.shift
        return ROUNDING_MODES[self.rounding](np.clip(y, self.qmin, self.qmax)).astype(np.int64)


# Float → k-bit levels, non-decreasing in their input: FoldThresholds turns each into integer
# thresholds, PoolAfterThreshold moves max-pools through them. Usable with isinstance.
LevelQuantizer = Quantize | FloatThresholds | Truncate


@dataclass(eq=False)
class Reshape(Op):
    """Row-major (NCHW) reshape, e.g. flatten (C, H, W) → (C·H·W,)."""

    shape: tuple[int, ...]

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        return TensorType(tuple(self.shape), inputs[0].dtype)


@dataclass(eq=False)
class Add(Op):
    """Elementwise sum of two tensors of one shape: a residual shortcut joining its block.

    On integers it is exact: (a·2^shifts[0]) + (b·2^shifts[1]), the two inputs brought onto
    their common grid (docs/DESIGN.md 3.15); ``AlignAddGrids`` sets the shifts when it moves
    the inputs' dequantising affines behind the add. On floats (as the frontend reads it) it
    is a + b in float64, shifts (0, 0)."""

    shifts: tuple[int, int] = (0, 0)

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        a, b = inputs
        if not (a.dtype.is_integer and b.dtype.is_integer):
            return TensorType(a.shape, FLOAT)
        ends = [x * (1 << self.shifts[0]) + y * (1 << self.shifts[1]) for x in (a.dtype.min, a.dtype.max)
                for y in (b.dtype.min, b.dtype.max)]
        return TensorType(a.shape, integer_type(min(ends), max(ends)))


@dataclass(eq=False)
class Concat(Op):
    """Channel concatenation of feature maps (or vectors) of equal spatial size, in input
    order: the branches of a DenseNet-style block joining (docs/DESIGN.md 3.15)."""

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        shape = (sum(t.shape[0] for t in inputs),) + tuple(inputs[0].shape[1:])
        if all(t.dtype == inputs[0].dtype for t in inputs):
            return TensorType(shape, inputs[0].dtype)
        if not all(t.dtype.is_integer for t in inputs):
            return TensorType(shape, FLOAT)
        return TensorType(shape, integer_type(min(t.dtype.min for t in inputs), max(t.dtype.max for t in inputs)))


# The ops that join several tensors; every other op reads exactly one.
JOINS = (Add, Concat)


@dataclass(eq=False)
class OutputAffine(Op):
    """Host-side per-class affine on the last layer's integer accumulators (docs/DESIGN.md 3.7)."""

    scale: np.ndarray
    bias: np.ndarray

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        return TensorType(inputs[0].shape, FLOAT)


@dataclass(eq=False)
class LabelSelect(Op):
    """The indices of the ``k`` largest (``largest``; else smallest) integer accumulators of
    a vector, best first, equal values in index order (docs/DESIGN.md 3.13): the classifier's
    answer computed in the accelerator (BNN-PYNQ's LabelSelect) rather than on the host."""

    k: int
    largest: bool = True

    def output_type(self, inputs: list[TensorType]) -> TensorType:
        classes = inputs[0].shape[0]
        return TensorType((self.k,), uint(max(1, (classes - 1).bit_length())))


OP_TYPES: dict[str, type[Op]] = {
    cls.__name__: cls
    for cls in (Conv, Dense, Affine, IntegerAffine, PReLU, Binarize, Clamp, Quantize, FloatThresholds, Truncate, Threshold, MaxPool,
                SumPool, Reshape, OutputAffine, LabelSelect, Add, Concat)
}
