"""Small float-level IR graphs for the unit and csim tests (helpers, not tests).

The graphs are built directly from bnnfpga.ir ops, the way the ONNX frontend leaves them:
float weights ``s_row · (±1)`` with a float bias, per-channel affines (batchnorm, input
normalisation), ``Binarize``, ``MaxPool`` and a flatten ``Reshape``. Everything is drawn
from a NumPy seed, so a graph is a pure function of its arguments.

Batchnorm statistics are *calibrated*: the partial graph is run with the golden model on
random frames and the mean/variance are placed around the observed values, so that the
folded thresholds land inside the reachable accumulator range and the bipolar activations
are not trivially constant. Every batchnorm has negative γ (flipped channels) and, for
more than two channels, one γ = 0 (a constant channel).

Tensor names (``t3_conv``) differ from node names (``conv3``) on purpose, so that
``NameTensorsAfterNodes`` has something to do.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from bnnfpga.golden import execute
from bnnfpga.hw.engines import Mvu
from bnnfpga.hw.fold import Fold, Products
from bnnfpga.hw.lower import lower
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Add, Affine, Binarize, Clamp, Concat, Conv, Dense, MaxPool, Quantize, Reshape, SumPool
from bnnfpga.ir.types import BIPOLAR, DType, TensorType, uint
from bnnfpga.passes.pipeline import fold

UINT8 = uint(8)
CALIBRATION_FRAMES = 48


class Chain:
    """A chain of nodes, extended one op at a time; ``join`` and setting ``current`` to an
    earlier tensor make it branch."""

    def __init__(self, shape: tuple[int, ...], dtype: DType = UINT8, input_name: str = "image", name: str = "test"):
        self.input_name = input_name
        self.input_type = TensorType(tuple(shape), dtype)
        self.nodes: list[Node] = []
        self.current = input_name
        self.name = name

    def add(self, kind: str, op) -> Chain:
        i = len(self.nodes)
        out = f"t{i}_{kind}"
        self.nodes.append(Node(f"{kind}{i}", op, (self.current,), out, source=f"/layers/{kind}_{i}"))
        self.current = out
        return self

    def join(self, kind: str, op, tensors: tuple[str, ...]) -> Chain:
        """A node reading ``tensors`` (a branch point is any earlier tensor: set ``current``)."""
        i = len(self.nodes)
        out = f"t{i}_{kind}"
        self.nodes.append(Node(f"{kind}{i}", op, tuple(tensors), out, source=f"/layers/{kind}_{i}"))
        self.current = out
        return self

    def graph(self) -> Graph:
        return Graph(
            input_name=self.input_name,
            input_type=self.input_type,
            nodes=list(self.nodes),
            output_name=self.current,
            model_name=self.name,
        )

    @property
    def type(self) -> TensorType:
        return self.graph().types()[self.current]


# -- random parameters -------------------------------------------------------------------


def random_input(t: TensorType, n: int, seed: int) -> np.ndarray:
    """n random valid frames for an input of type t (uint/int ranges, bipolar ±1)."""
    rng = np.random.default_rng(seed)
    shape = (n,) + tuple(t.shape)
    if t.dtype.kind == "bipolar":
        return rng.choice(np.array([-1, 1], np.int64), size=shape)
    return rng.integers(t.dtype.min, t.dtype.max, size=shape, endpoint=True)


def binary_weight(rng: np.random.Generator, shape: tuple[int, ...], zero_row: bool = False, unit: bool = False) -> np.ndarray:
    """Float weights s_row · (±1); row scales are random positive floats (or 1 when ``unit``),
    optionally with one all-zero row (a γ = 0 batchnorm folded in by an exporter)."""
    signs = rng.choice(np.array([-1.0, 1.0]), size=shape)
    if unit:
        return signs
    scale = rng.uniform(0.05, 2.0, size=shape[0])
    if zero_row and shape[0] > 3:
        scale[2] = 0.0
    return signs * scale.reshape((-1,) + (1,) * (len(shape) - 1))


def batchnorm(rng: np.random.Generator, mean: np.ndarray, std: np.ndarray, zero_gamma: bool = True) -> Affine:
    """Affine of an inference batchnorm γ(y − μ)/sqrt(σ² + ε) + β whose statistics sit
    around the observed per-channel ``mean``/``std``: γ of both signs (and one 0), so the
    affine has negative, positive and zero scales."""
    c = mean.shape[0]
    gamma = rng.normal(size=c)
    gamma[0] = -abs(gamma[0]) - 0.1  # at least one flipped channel
    if c > 1:
        gamma[-1] = abs(gamma[-1]) + 0.1  # at least one plain channel
    if zero_gamma and c > 2:
        gamma[1] = 0.0
    beta = rng.normal(size=c) * 0.5
    std = np.where(std > 0, std, 1.0)
    mu = mean + rng.normal(size=c) * 0.5 * std
    var = std**2 * rng.uniform(0.5, 2.0, size=c)
    eps = 1e-5
    scale = gamma / np.sqrt(var + eps)
    return Affine(scale=scale, bias=beta - mu * scale)


def _stats(chain: Chain, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the chain's current tensor on random frames."""
    g = chain.graph()
    y = execute(g, random_input(g.input_type, CALIBRATION_FRAMES, seed))[g.output_name].astype(np.float64)
    axes = tuple(i for i in range(y.ndim) if i != 1)
    return y.mean(axis=axes), y.std(axis=axes)


def calibrated_batchnorm(chain: Chain, rng: np.random.Generator, zero_gamma: bool = True) -> Affine:
    mean, std = _stats(chain, int(rng.integers(1 << 30)))
    return batchnorm(rng, mean, std, zero_gamma)


def output_affine(rng: np.random.Generator, classes: int) -> Affine:
    scale = rng.uniform(0.1, 2.0, size=classes) * rng.choice([-1.0, 1.0], size=classes)
    scale[0] = -abs(scale[0])
    return Affine(scale=scale, bias=rng.normal(size=classes))


def input_normalisation(
    chain: Chain, rng: np.random.Generator, offset: bool, split: bool, negative: bool = False, simple: bool = False
) -> None:
    """(x/255 − m_c)/s as one Affine (scalar scale, per-channel bias), or as two (``split``):
    x·(1/255) then (x − m_c)/s. ``negative`` makes the scalar scale negative. ``simple``
    uses s = 0.25 and m_c ∈ {0.25, 0.5, 0.75}, so offset/scale = −255·m_c is a simple
    fraction (what an exact input offset in front of a zero-padded conv needs)."""
    c = chain.input_type.shape[0]
    s = (0.25 if simple else rng.uniform(0.2, 0.3)) * (-1.0 if negative else 1.0)
    if simple:
        m = rng.choice([0.25, 0.5, 0.75], size=c) if offset else np.zeros(c)
    else:
        m = rng.uniform(0.3, 0.7, size=c) if offset else np.zeros(c)
    if split:
        chain.add("scale", Affine(scale=np.full(c, 1 / 255), bias=np.zeros(c)))
        chain.add("norm", Affine(scale=np.full(c, 1 / s), bias=-m / s))
    else:
        chain.add("norm", Affine(scale=np.full(c, 1 / (255 * s)), bias=-m / s))


def _bn_pool_sign(chain: Chain, rng: np.random.Generator, pool: str, pool_op: MaxPool | None, strict: bool) -> None:
    """Batchnorm, binarisation and (optionally) max-pool in the order ``pool`` names:
    'before_bn' (conv → pool → bn → sign), 'before_sign' (conv → bn → pool → sign),
    'after_sign' (conv → bn → sign → pool) or 'none'."""
    if pool == "before_bn":
        chain.add("pool", pool_op)
    chain.add("bn", calibrated_batchnorm(chain, rng))
    if pool == "before_sign":
        chain.add("pool", pool_op)
    chain.add("sign", Binarize(strict=strict))
    if pool == "after_sign":
        chain.add("pool", pool_op)


# -- graphs ------------------------------------------------------------------------------


def cnn(
    seed: int,
    *,
    size: int = 9,
    in_channels: int = 3,
    c1: int = 8,
    c2: int = 37,
    classes: int = 10,
    conv1_stride: int = 1,
    conv1_pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    conv2_stride: int = 1,
    conv2_pads: tuple[int, int, int, int] = (1, 1, 1, 1),
    pool: str = "before_bn",
    pool_kernel: tuple[int, int] = (2, 2),
    pool_strides: tuple[int, int] = (2, 2),
    pool_pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    strict: bool = False,
    input_offset: bool = True,
    split_norm: bool = False,
    simple_norm: bool = False,
    negative_input_scale: bool = False,
    bipolar_input: bool = False,
    binarize_input: bool = False,
    head: str = "affine",
) -> Graph:
    """input (uint8 or bipolar) → [input affine] → Conv → [pool/bn/sign] → Conv → bn → sign
    → flatten → Dense → head, where head is 'affine' (float logits), 'sign' (bipolar output)
    or 'dense' (±1 weights without bias, integer logits).

    An input offset in front of a zero-padded conv reaches the border positions through fewer
    taps: their thresholds differ (AbsorbInputAffine, FoldThresholds per position).

    ``binarize_input`` binarises the raw image first: uint8 → max-pool 2×2/1 → per-channel
    affine (non-negative scales, one 0) → Binarize, then the first conv sees ±1 values."""
    rng = np.random.default_rng(seed)
    if bipolar_input:
        chain = Chain((in_channels, size, size), BIPOLAR, name=f"cnn{seed}")
    elif binarize_input:
        chain = Chain((in_channels, size, size), UINT8, name=f"cnn{seed}")
        chain.add("pool", MaxPool(kernel=(2, 2), strides=(1, 1)))
        scale = rng.uniform(0.5, 2.0, size=in_channels)
        scale[-1] = 0.0
        chain.add("norm", Affine(scale=scale, bias=-scale * rng.uniform(190, 245, size=in_channels) + (scale == 0)))
        chain.add("sign", Binarize(strict=strict))
    else:
        chain = Chain((in_channels, size, size), UINT8, name=f"cnn{seed}")
        input_normalisation(chain, rng, input_offset, split_norm, negative_input_scale, simple_norm)
    chain.add(
        "conv",
        Conv(
            weight=binary_weight(rng, (c1, in_channels, 3, 3), zero_row=True),
            bias=rng.normal(size=c1),
            strides=(conv1_stride, conv1_stride),
            pads=conv1_pads,
        ),
    )
    pool_op = MaxPool(kernel=pool_kernel, strides=pool_strides, pads=pool_pads)
    _bn_pool_sign(chain, rng, pool, pool_op, strict)
    chain.add(
        "conv",
        Conv(
            weight=binary_weight(rng, (c2, c1, 3, 3)),
            bias=rng.normal(size=c2),
            strides=(conv2_stride, conv2_stride),
            pads=conv2_pads,
        ),
    )
    chain.add("bn", calibrated_batchnorm(chain, rng))
    chain.add("sign", Binarize(strict=strict))
    chain.add("flatten", Reshape(shape=(chain.type.size,)))
    features = chain.type.size
    _head(chain, rng, features, classes, head, strict)
    return chain.graph()


def _head(chain: Chain, rng: np.random.Generator, features: int, classes: int, head: str, strict: bool) -> None:
    if head == "dense":
        chain.add("fc", Dense(weight=binary_weight(rng, (classes, features), unit=True)))
        return
    chain.add("fc", Dense(weight=binary_weight(rng, (classes, features)), bias=rng.normal(size=classes)))
    if head == "affine":
        chain.add("out", output_affine(rng, classes))
    elif head == "sign":
        chain.add("bn", calibrated_batchnorm(chain, rng))
        chain.add("sign", Binarize(strict=strict))
    else:
        raise ValueError(head)


def mlp(
    seed: int,
    *,
    features: int = 20,
    hidden: tuple[int, ...] = (37, 16),
    classes: int = 5,
    strict: bool = False,
    input_offset: bool = True,
    head: str = "affine",
) -> Graph:
    """uint8 (F,) → Affine(scalar scale, per-feature bias) → [Dense → bn → sign]* → Dense → head."""
    rng = np.random.default_rng(seed)
    chain = Chain((features,), UINT8, input_name="features", name=f"mlp{seed}")
    s = rng.uniform(0.2, 0.3)
    m = rng.uniform(0.3, 0.7, size=features) if input_offset else np.zeros(features)
    chain.add("norm", Affine(scale=np.full(features, 1 / (255 * s)), bias=-m / s))
    width = features
    for h in hidden:
        chain.add("fc", Dense(weight=binary_weight(rng, (h, width), zero_row=True), bias=rng.normal(size=h)))
        chain.add("bn", calibrated_batchnorm(chain, rng))
        chain.add("sign", Binarize(strict=strict))
        width = h
    _head(chain, rng, width, classes, head, strict)
    return chain.graph()


def _sign_dense_tail(chain: Chain, rng: np.random.Generator) -> Graph:
    """bn → sign → flatten → Dense(10) → host affine behind the last conv; folded."""
    chain.add("bn", calibrated_batchnorm(chain, rng))
    chain.add("sign", Binarize())
    features = chain.type.size
    chain.add("flatten", Reshape(shape=(features,)))
    chain.add("fc", Dense(weight=binary_weight(rng, (10, features))))
    chain.add("out", output_affine(rng, 10))
    return fold(chain.graph())


def conv_net(kernel: int, stride: int, pad: int, channels: int, pool: bool, seed: int) -> Graph:
    """uint8 image → Conv 3x3 (first-layer MVU on integers) → bn → sign → Conv(kernel, stride,
    pad) on ±1 → [max-pool 2x2 before bn] → bn (γ < 0 and γ = 0 channels) → sign → flatten →
    Dense → host affine; folded (the csim, rtl and synth tiers and the cost model build it)."""
    rng = np.random.default_rng(seed)
    chain = Chain((3, 11, 11), name=f"conv_k{kernel}s{stride}p{pad}c{channels}")
    chain.add("conv", Conv(weight=binary_weight(rng, (6, 3, 3, 3)), bias=rng.normal(size=6)))
    chain.add("bn", calibrated_batchnorm(chain, rng))
    chain.add("sign", Binarize())
    p = (pad,) * 4
    chain.add("conv", Conv(weight=binary_weight(rng, (channels, 6, kernel, kernel), zero_row=True), strides=(stride, stride), pads=p))
    if pool:
        chain.add("pool", MaxPool(kernel=(2, 2), strides=(2, 2)))
    return _sign_dense_tail(chain, rng)


def border_net(levels: int, pads: tuple[int, int, int, int], stride: int, pool: bool, std: str, seed: int) -> Graph:
    """uint8 image → (x/255 − m_c)/s (per-channel offsets, no simple fraction of the scale;
    ``std`` 'per_channel': torchvision's CIFAR-10 s_c, integer input gains) → zero-padded
    Conv 3x3 → bn → sign (``levels`` 1) or a quantizer onto 0…levels → [max-pool] → Conv 3x3
    → bn → sign → flatten → Dense → host affine; folded. The first layer's thresholds differ
    by border class (docs/DESIGN.md 3.4)."""
    rng = np.random.default_rng(seed)
    chain = Chain((3, 9, 9), name=f"border_l{levels}s{stride}p{''.join(map(str, pads))}_{std}")
    if std == "per_channel":
        s, m = np.array([0.2470, 0.2435, 0.2616]), np.array([0.4914, 0.4822, 0.4465])
        chain.add("norm", Affine(scale=1 / (255 * s), bias=-m / s))
    else:
        input_normalisation(chain, rng, offset=True, split=False)
    chain.add("conv", Conv(weight=binary_weight(rng, (6, 3, 3, 3)), bias=rng.normal(size=6), strides=(stride, stride),
                           pads=pads))
    chain.add("bn", calibrated_batchnorm(chain, rng))
    if levels == 1:
        chain.add("sign", Binarize())
    else:
        chain.add("spread", Affine(scale=np.full(6, levels / 2), bias=np.full(6, levels / 2)))
        chain.add("quant", Quantize(qmin=0, qmax=levels))
    if pool:
        chain.add("pool", MaxPool(kernel=(2, 2), strides=(2, 2)))
    chain.add("conv", Conv(weight=binary_weight(rng, (8, 6, 3, 3)), pads=(1, 1, 1, 1)))
    return _sign_dense_tail(chain, rng)


BORDER_CASES = [  # border_net's levels, pads, stride, pool, std
    (1, (1, 1, 1, 1), 1, True, "scalar"),
    (3, (1, 0, 2, 1), 2, False, "scalar"),
    (3, (2, 2, 2, 2), 1, False, "scalar"),
    (1, (1, 1, 1, 1), 1, False, "per_channel"),
]


CONV_CASES = [  # conv_net's kernel, stride, pad, channels, pool
    (1, 1, 0, 5, False),
    (3, 1, 1, 13, True),
    (3, 2, 1, 37, False),
    (5, 1, 0, 7, True),
    (5, 2, 2, 10, False),
    (3, 1, 0, 64, True),
]


def with_dsp_products(graph: Graph, folding: dict[str, Fold]) -> dict[str, Fold]:
    """``folding`` with the w·x products of every layer that multiplies (k-bit weights on
    integer inputs) in DSP slices; the test fails if no layer multiplies."""
    multiplying = {e.name for e in lower(graph, folding, "RTL").engines if isinstance(e, Mvu) and e.multiplies}
    assert multiplying, "no layer of the graph multiplies: nothing to put in DSP slices"
    return {name: dataclasses.replace(f, products=Products.DSP) if name in multiplying else f for name, f in folding.items()}


def with_foldings(cases: list, foldings: tuple[str, ...]) -> list[tuple]:
    """Each case with one folding, the foldings taken in turn: every folding meets several
    geometries, and the tier builds one design per case rather than one per pair (CI time;
    the module tests cover the engines' parameter grids)."""
    return [(case, foldings[i % len(foldings)]) for i, case in enumerate(cases)]


# -- branching graphs (docs/DESIGN.md 3.15) ------------------------------------------------

GRID = 2.0**-4  # the 8-bit levels' grid of the branching graphs
UNBOUNDED = (-(1 << 31), (1 << 31) - 1)  # a Round's levels before BoundQuantizers finds its Clip


def _fake_quant(chain: Chain, c: int) -> str:
    """Clip → Div → Round → Mul onto signed 8-bit levels on GRID, as plain torch exports it."""
    chain.add("clip", Clamp(lo=np.full(c, -128 * GRID), hi=np.full(c, 127 * GRID)))
    chain.add("div", Affine(scale=np.full(c, 1 / GRID), bias=np.zeros(c)))
    chain.add("round", Quantize(qmin=UNBOUNDED[0], qmax=UNBOUNDED[1]))
    chain.add("mul", Affine(scale=np.full(c, GRID), bias=np.zeros(c)))
    return chain.current


def _binary_conv(chain: Chain, rng: np.random.Generator, cin: int, cout: int, stride: int) -> None:
    chain.add("sign", Binarize())
    chain.add("conv", Conv(weight=binary_weight(rng, (cout, cin, 3, 3)), strides=(stride, stride), pads=(1, 1, 1, 1)))
    chain.add("bn", calibrated_batchnorm(chain, rng))


def _stem_and_head(seed: int, channels: int, body) -> Graph:
    """Pixels → binary conv → 8-bit levels → ``body(chain, rng, levels)`` → global sum-pool
    → sign → binary dense → output affine."""
    rng = np.random.default_rng(seed)
    chain = Chain((3, 8, 8))
    chain.add("scale", Affine(scale=np.full(3, 1 / 255), bias=np.zeros(3)))
    chain.add("conv", Conv(weight=binary_weight(rng, (channels, 3, 3, 3)), pads=(1, 1, 1, 1)))
    chain.add("bn", calibrated_batchnorm(chain, rng))
    channels = body(chain, rng, _fake_quant(chain, channels))
    _, h, w = chain.type.shape
    chain.add("gap", SumPool(kernel=(h, w), strides=(1, 1)))
    chain.add("mean", Affine(scale=np.full(channels, 1 / (h * w)), bias=np.zeros(channels)))
    chain.add("flatten", Reshape((channels,)))
    chain.add("sign", Binarize())
    chain.add("fc", Dense(weight=binary_weight(rng, (10, channels))))
    chain.add("out", output_affine(rng, 10))
    return chain.graph()


def residual_net(seed: int, channels: int = 6) -> Graph:
    """Bi-Real blocks on 8-bit shortcuts: out = Q(Q(bn(conv(sign(x)))) + shortcut(x)), the
    second block at stride 2 with a 2×2 average-pool shortcut (SumPool → ·1/4)."""
    def body(chain: Chain, rng: np.random.Generator, x: str) -> int:
        for stride in (1, 2, 1):
            _binary_conv(chain, rng, channels, channels, stride)
            branch = _fake_quant(chain, channels)
            chain.current = x
            if stride == 2:
                chain.add("avgpool", SumPool(kernel=(2, 2), strides=(2, 2)))
                chain.add("quarter", Affine(scale=np.full(channels, 0.25), bias=np.zeros(channels)))
            chain.join("add", Add(), (branch, chain.current))
            x = _fake_quant(chain, channels)
        return channels
    return _stem_and_head(seed, channels, body)


def dense_net(seed: int, channels: int = 4, growth: int = 3) -> Graph:
    """Dense blocks: x = concat(x, Q(bn(conv(sign(x))))), a 2×2 max-pool between the second
    and the third."""
    def body(chain: Chain, rng: np.random.Generator, x: str) -> int:
        c = channels
        for block in range(3):
            if block == 2:
                chain.add("pool", MaxPool(kernel=(2, 2), strides=(2, 2)))
                x = chain.current
            _binary_conv(chain, rng, c, growth, 1)
            chain.join("concat", Concat(), (x, _fake_quant(chain, growth)))
            x, c = chain.current, c + growth
        return c
    return _stem_and_head(seed, channels, body)


# A spread of graphs covering the features the passes care about; (id, builder) pairs.
GRAPHS = {
    "cnn_pool_before_bn": lambda: cnn(1),
    "cnn_pool_before_sign": lambda: cnn(2, pool="before_sign", conv2_stride=2, split_norm=True),
    "cnn_pool_after_sign": lambda: cnn(3, pool="after_sign", pool_kernel=(3, 3), pool_strides=(2, 2), pool_pads=(1, 1, 1, 1)),
    "cnn_strict_stride2": lambda: cnn(4, strict=True, conv1_stride=2, pool="none", conv2_pads=(1, 0, 1, 1)),
    "cnn_padded_first_conv": lambda: cnn(5, input_offset=False, conv1_pads=(1, 1, 1, 1), c1=37, c2=5, pool_kernel=(3, 3), pool_strides=(2, 2), pool_pads=(0, 0, 1, 1)),
    "cnn_negative_input_scale": lambda: cnn(6, negative_input_scale=True, split_norm=True),
    "cnn_bipolar_input_sign_head": lambda: cnn(7, bipolar_input=True, conv1_pads=(1, 1, 1, 1), conv1_stride=2, head="sign", pool="after_sign"),
    "cnn_dense_head": lambda: cnn(8, head="dense", c2=7),
    "cnn_offset_before_padded_conv": lambda: cnn(12, conv1_pads=(1, 1, 1, 1), conv1_stride=2, pool="before_sign"),
    "cnn_binarized_input": lambda: cnn(13, binarize_input=True, conv1_pads=(1, 1, 1, 1), size=10),
    "mlp": lambda: mlp(9),
    "mlp_strict_sign_head": lambda: mlp(10, strict=True, head="sign", hidden=(37,)),
    "mlp_dense_head": lambda: mlp(11, head="dense", input_offset=False),
    "residual": lambda: residual_net(14),
    "dense_concat": lambda: dense_net(15),
}
# The graphs that branch (their quantizers are k-bit levels, not only binarisations).
BRANCHING = ("residual", "dense_concat")
CHAINS = [name for name in GRAPHS if name not in BRANCHING]


def _out(size: int, kernel: int, stride: int, lo: int, hi: int) -> int:
    return (size + lo + hi - kernel) // stride + 1


def random_cnn(seed: int) -> Graph:
    """A CNN whose options (strides, pads, pool placement, channel counts, strictness,
    input type, head) are all drawn from ``seed`` (redrawn until the shapes are valid)."""
    rng = np.random.default_rng(10_000 + seed)
    while True:
        bipolar_input = bool(rng.integers(4) == 0)
        input_offset = bool(rng.integers(2)) and not bipolar_input
        simple_norm = bool(rng.integers(2))
        pads1 = tuple(int(v) for v in rng.integers(0, 2, size=4))
        pads2 = tuple(int(v) for v in rng.integers(0, 2, size=4))
        pool = str(rng.choice(["before_bn", "before_sign", "after_sign", "none"]))
        kernel = int(rng.integers(2, 4))
        pool_pads = tuple(int(v) for v in rng.integers(0, kernel // 2 + 1, size=4))
        size, stride1, stride2, pool_stride = (int(v) for v in (rng.integers(8, 12), *rng.integers(1, 3, size=3)))
        h = _out(size, 3, stride1, pads1[0], pads1[2])
        w = _out(size, 3, stride1, pads1[1], pads1[3])
        if pool != "none":
            h = _out(h, kernel, pool_stride, pool_pads[0], pool_pads[2])
            w = _out(w, kernel, pool_stride, pool_pads[1], pool_pads[3])
        if min(h + pads2[0] + pads2[2], w + pads2[1] + pads2[3]) >= 3:
            break
    return cnn(
        seed,
        size=size,
        in_channels=int(rng.integers(1, 4)),
        c1=int(rng.choice([3, 8, 37])),
        c2=int(rng.choice([5, 37, 65])),
        classes=int(rng.integers(2, 11)),
        conv1_stride=stride1,
        conv1_pads=pads1,
        conv2_stride=stride2,
        conv2_pads=pads2,
        pool=pool,
        pool_kernel=(kernel, kernel),
        pool_strides=(pool_stride, pool_stride),
        pool_pads=pool_pads,
        strict=bool(rng.integers(2)),
        input_offset=input_offset,
        split_norm=bool(rng.integers(2)),
        simple_norm=simple_norm,
        negative_input_scale=bool(rng.integers(4) == 0),
        bipolar_input=bipolar_input,
        head=str(rng.choice(["affine", "sign", "dense"])),
    )
