"""HLS backend: generated C++ compiled with g++ and run on golden test vectors, bit-exact.

Every distinct design compiles once (a few seconds); bnnfpga caches binaries by content
hash, so a re-run only simulates.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bnnfpga import api, csim
from bnnfpga.boards import load_board
from bnnfpga.codegen import hls
from bnnfpga.hw.fold import Fold, choose_folding
from bnnfpga.hw.streams import accumulator_stream, pack_stream
from bnnfpga.ir.ops import Conv, DotProduct
from bnnfpga.passes.pipeline import fold
from tests.graphs import (
    BORDER_CASES,
    CONV_CASES,
    Chain,
    binary_weight,
    border_net,
    conv_net,
    output_affine,
    random_input,
    with_dsp_products,
    with_foldings,
)
from tests.models import INQ_IN_BACKENDS, NETWORKS, digits_frames

ROOT = Path(__file__).resolve().parents[2]
BOARD = load_board("pynq-z2")


def assert_hls_matches_golden(graph, x, folding=None, board="pynq-z2"):
    """Accumulators from C simulation equal the golden model's, word for word."""
    expected = api.backend_accumulators(graph, x, "golden")
    got = api.backend_accumulators(graph, x, "hls", folding, board)
    mismatches = np.argwhere(got != expected)
    assert not len(mismatches), f"{len(mismatches)} of {expected.size} words differ, first at {mismatches[0]}"
    return got


# -- engines over parametrised shapes ----------------------------------------------------------

@pytest.mark.parametrize("case, folding", with_foldings(CONV_CASES, ("rule", "minimal", "widest")),
                         ids=lambda c: "k{}s{}p{}c{}{}".format(*c[:4], "pool" if c[4] else "") if isinstance(c, tuple) else c)
def test_conv_engines_bit_exact(case, folding):
    graph = conv_net(*case, seed=sum(case[:4]))
    folds = choose_folding(graph)
    if folding == "minimal":
        folds = {name: Fold(1, 1) for name in folds}
    elif folding == "widest":  # PE = all rows, SIMD = the whole row (wider than 64 bits for most layers)
        folds = {n.name: Fold(n.op.out_channels, n.op.fan_in) for n in graph.nodes if n.name in folds}
    x = random_input(graph.input_type, 8, seed=3)
    assert_hls_matches_golden(graph, x, folds)


def test_convolution_as_last_layer_streams_every_position():
    """A conv whose accumulators leave the accelerator: OH·OW·C words per frame, pixel-major."""
    rng = np.random.default_rng(4)
    chain = Chain((2, 7, 7), name="conv_out")
    chain.add("conv", Conv(weight=binary_weight(rng, (5, 2, 3, 3), unit=True), strides=(2, 2), pads=(1, 0, 1, 0)))
    chain.add("out", output_affine(rng, 5))
    graph = fold(chain.graph())
    x = random_input(graph.input_type, 4, seed=1)
    got = assert_hls_matches_golden(graph, x, {graph.nodes[0].name: Fold(5, 6)})
    assert got.shape == (4, 5, 4, 3)
    np.testing.assert_array_equal(api.host_output(graph, got), api.predict(graph, x))


@pytest.mark.parametrize("case, folding", with_foldings(BORDER_CASES, ("rule", "widest")),
                         ids=lambda c: "l{}p{}s{}{}_{}".format(c[0], "".join(map(str, c[1])), c[2], "pool" if c[3] else "",
                                                               c[4]) if isinstance(c, tuple) else c)
def test_border_thresholds_bit_exact(case, folding):
    """Per-channel input offsets in front of a zero-padded conv: thresholds per border class
    (docs/DESIGN.md 3.4), binary and 2-bit outputs, asymmetric padding, stride 2."""
    graph = border_net(*case, seed=7)
    folds = choose_folding(graph)
    if folding == "widest":
        folds = {n.name: Fold(n.op.out_channels, n.op.fan_in) for n in graph.nodes if n.name in folds}
    assert_hls_matches_golden(graph, random_input(graph.input_type, 6, seed=3), folds)


# -- whole networks -----------------------------------------------------------------------------

@pytest.mark.parametrize("network, mode", [("small_cnn", "legacy"), ("mlp", "dynamo"),
                                           ("padded_first_layer", "legacy")])
def test_foundation_networks_bit_exact(exported, network, mode):
    graph = api.load(exported(network, mode))
    x = api.random_inputs(graph.input_type, 32, seed=5)
    assert_hls_matches_golden(graph, x)


def test_trained_digits_model_bit_exact_and_same_predictions():
    model = ROOT / "examples" / "digits_cnn" / "model.onnx"
    graph = api.load(model)
    x = np.load(ROOT / "examples" / "digits_cnn" / "test_images.npy")
    assert len(x) >= 32
    assert_hls_matches_golden(graph, x)
    labels = np.load(ROOT / "examples" / "digits_cnn" / "test_labels.npy")
    hls_logits = api.predict(graph, x, backend="hls")
    assert np.array_equal(hls_logits.argmax(1), api.predict(graph, x).argmax(1))
    assert (hls_logits.argmax(1) == labels).mean() > 0.9


@pytest.mark.parametrize("network, mode", [("ternary_pact", "legacy"), ("ternary_pact", "dynamo"), ("ternary_sign", "legacy"),
                                           ("int_weights", "dynamo"), ("trained_ternary", "dynamo"),
                                           ("average_pools", "dynamo"), ("binary_output", "legacy"),
                                           ("qkeras_mlp", "dynamo")])
def test_ternary_and_k_bit_networks_bit_exact(exported, network, mode):
    """Ternary weights (two bit planes), 2-bit PACT activations (3 thresholds), max-pool of
    2-bit levels, zero padding of 2-bit levels; int3/int4 weights on pixels, levels and ±1;
    TTQ weights (A·P − B·N with per-row gains) on the same three input kinds; average pools
    (sum-pools of 2-bit levels and of ±1 values, a threshold stage on the sums); a last layer
    ending in a sign (±1 out); 6-bit weights on 6-bit levels (63 thresholds per channel)."""
    graph = api.load(exported(network, mode))
    assert_hls_matches_golden(graph, api.random_inputs(graph.input_type, 16, seed=4))


def test_six_bit_mlp_with_dsp_products_bit_exact(exported, tmp_path):
    """The QKeras-style MLP with every w·x product bound to a DSP slice (DspProducts,
    docs/DESIGN.md 4.4): the generated top asks for it, and C simulation stays bit-exact."""
    graph = api.load(exported("qkeras_mlp", "legacy"))
    folding = with_dsp_products(graph, choose_folding(graph, max_pe=4, max_simd=8))
    hls.generate(graph, tmp_path / "hls", load_board("pynq-z2"), folding)
    top = next((tmp_path / "hls").rglob("*top*.cpp")).read_text()
    assert top.count("DspProducts>") == len(folding), top
    assert_hls_matches_golden(graph, api.random_inputs(graph.input_type, 16, seed=7), folding)


BREVITAS = [("tfc_1w1a", "qonnx"), ("tfc_2w2a", "qcdq"), ("tfc_4w2a", "qcdq"), pytest.param("lfc_1w2a", "qonnx", marks=pytest.mark.slow),
            pytest.param("cnv_1w1a", "qonnx", marks=pytest.mark.slow), pytest.param("cnv_2w2a", "qonnx", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name, form", BREVITAS)
def test_brevitas_models_bit_exact(name, form, tmp_path):
    """Brevitas BNN-PYNQ models (QONNX or QCDQ export, randomised batchnorm). LFC and CNV on a
    board their smallest folding fits by the (not yet ternary-calibrated) resource model."""
    pytest.importorskip("brevitas", reason="pip install brevitas onnxoptimizer (dev extra)")
    from bnnfpga.nn.bnn_pynq import INPUT_SCALE, export

    graph = api.load(export(name, tmp_path, form), input_scale=INPUT_SCALE)
    x = np.random.default_rng(3).integers(0, 256, size=(2 if name.startswith("cnv") else 6,) + graph.input_type.shape)
    # The rule's modest folding: C simulation of very wide integer chunks is slow (ap_uint bit access).
    # TFC-W4A2's first layer at that folding (448 lanes of 8-bit x 4-bit products) needs a larger board.
    small = name in ("tfc_1w1a", "tfc_2w2a")
    assert_hls_matches_golden(graph, x, choose_folding(graph), board="pynq-z2" if small else "zcu104")


@pytest.mark.parametrize("network, head", [("headed_argmax", None), ("headed_topk3", None), ("headed_softmax", "topk=2")])
def test_label_select_bit_exact(exported, network, head):
    """A label-select engine's top-k class indices, ties to the lower index."""
    graph = api.load(exported(network, "dynamo"), head=head)
    assert graph.head.kind == "labels"
    assert_hls_matches_golden(graph, api.random_inputs(graph.input_type, 32, seed=2))


@pytest.mark.parametrize("opset", (9, 11))
def test_old_opset_export_bit_exact(tmp_path, opset):
    """A legacy export at an old opset (the shape subgraph of x.view(x.size(0), -1), >= as
    Not(Less)) reaches the engines like any other."""
    from tests.models import export_old_idioms

    graph = api.load(export_old_idioms(tmp_path, "view", opset, dynamo=False))
    assert_hls_matches_golden(graph, api.random_inputs(graph.input_type, 8, seed=6))


def test_float_input_bit_exact(tmp_path):
    """A model on float features: the host quantizes them (QCDQ QuantizeLinear, int8 narrow),
    the accelerator receives the levels."""
    pytest.importorskip("brevitas", reason="pip install brevitas onnxoptimizer (dev extra)")
    from tests.models import brevitas_float_input_model

    graph = api.load(brevitas_float_input_model(tmp_path, "qcdq"), float_input=True)
    assert_hls_matches_golden(graph, api.random_frames(graph, 16, seed=5))


def test_brevitas_k_bit_output_bit_exact(tmp_path):
    """A last layer ending in a 2-bit quantizer: its levels leave the accelerator as int32."""
    pytest.importorskip("brevitas", reason="pip install brevitas onnxoptimizer (dev extra)")
    from bnnfpga.nn.bnn_pynq import INPUT_SCALE
    from tests.models import brevitas_k_bit_output_model

    graph = api.load(brevitas_k_bit_output_model(tmp_path), input_scale=INPUT_SCALE)
    x = np.random.default_rng(4).integers(0, 256, size=(16,) + graph.input_type.shape)
    assert_hls_matches_golden(graph, x, choose_folding(graph))


def test_brevitas_trunc_average_pool_bit_exact(tmp_path):
    """Brevitas TruncAvgPool2d: a sum-pool and a threshold stage on the sums (QONNX Trunc)."""
    pytest.importorskip("brevitas", reason="pip install brevitas onnxoptimizer (dev extra)")
    from bnnfpga.nn.bnn_pynq import INPUT_SCALE
    from tests.models import trunc_average_pool_model

    graph = api.load(trunc_average_pool_model(tmp_path), input_scale=INPUT_SCALE)
    x = np.random.default_rng(4).integers(0, 256, size=(6,) + graph.input_type.shape)
    assert_hls_matches_golden(graph, x, choose_folding(graph))


# -- the generated code itself ------------------------------------------------------------------

def generated(tmp_path, graph, name="hls"):
    out = tmp_path / name
    hls.generate(graph, out, BOARD, choose_folding(graph))
    return out


def test_generated_project_is_deterministic(tmp_path, exported):
    graph = api.load(exported("small_cnn", "dynamo"))
    a, b = generated(tmp_path, graph, "a"), generated(tmp_path, graph, "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_compiles_without_warnings_in_our_code(tmp_path, exported):
    """-Wall -Wextra: warnings inside the vendor ap_types headers are theirs; none may point
    at the library or the generated files."""
    out = generated(tmp_path, api.load(exported("small_cnn", "legacy")))
    import subprocess

    proc = subprocess.run(csim.compile_command(out, tmp_path / "tb"), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ours = [line for line in proc.stderr.splitlines()
            if re.match(rf"{re.escape(str(out))}/[^:]+:\d+(:\d+)?: warning", line)]
    assert not ours, "\n".join(ours)


FORBIDDEN = {
    r"\bnew\b": "dynamic allocation",
    r"\bmalloc\b|\bfree\s*\(": "dynamic allocation",
    r"std::(vector|map|list|string|set|unordered_map|deque)": "STL container",
    r"#include\s*<(vector|map|list|string|set|unordered_map|deque)>": "STL container",
    r"\bwhile\s*\(": "unbounded loop",
    r"\bgoto\b": "goto",
}


def kernel_sources(out: Path) -> dict[Path, str]:
    """The synthesised code: the library and the generated top and parameters (not the testbench)."""
    return {p: p.read_text() for p in sorted(out.rglob("*.?pp")) if p.name != "testbench.cpp"}


def test_kernels_have_no_forbidden_constructs(tmp_path, exported):
    out = generated(tmp_path, api.load(exported("small_cnn", "legacy")))
    sources = kernel_sources(out)
    assert len(sources) >= 8
    for path, text in sources.items():
        code = re.sub(r"//[^\n]*", "", text)
        for pattern, what in FORBIDDEN.items():
            assert not re.search(pattern, code), f"{path.name}: {what} ({pattern})"
    # No function calls itself (recursion).
    for path, text in sources.items():
        for match in re.finditer(r"(\w+)\s*\([^;{)]*(?:\([^)]*\)[^;{)]*)*\)\s*(?:const\s*)?\{", text):
            name = match.group(1)
            if name in ("for", "if", "switch", "while"):
                continue
            body = braced_body(text, match.end() - 1)
            assert not re.search(rf"\b{name}\s*(<[^;]*?>)?\s*\(", body), f"{path.name}: {name} calls itself"


def braced_body(text: str, open_brace: int) -> str:
    """The text between the brace at ``open_brace`` and its matching closing brace."""
    depth = 0
    for i in range(open_brace, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_brace + 1 : i]
    raise AssertionError("unbalanced braces")


def test_every_innermost_loop_is_pipelined_or_unrolled(tmp_path, exported):
    out = generated(tmp_path, api.load(exported("small_cnn", "legacy")))
    for path, text in kernel_sources(out).items():
        for match in re.finditer(r"for \(", text):
            body = braced_body(text, text.index("{", match.end()))
            if "for (" in body:
                continue  # an outer loop: its innermost loops carry the pragma
            first = body.strip().splitlines()[0].strip()
            assert first.startswith(("#pragma HLS PIPELINE II = 1", "#pragma HLS UNROLL")), \
                f"{path.name}: innermost loop at offset {match.start()} starts with {first!r}"


def test_hostile_names_become_safe_cpp(tmp_path):
    from tests.onnx_graphs import hostile_names_model

    hostile = ['bad "quote"', "../../etc/passwd", "int", "class", "日本語の層", "a b\nc", "static_cast", "main"]
    graph = api.load(hostile_names_model(ROOT / "examples" / "digits_cnn" / "model.onnx", hostile,
                                         "evil */ name\n#define X", tmp_path / "hostile.onnx"))
    out = generated(tmp_path, graph)
    for p in out.rglob("*"):
        assert re.fullmatch(r"[A-Za-z0-9_.]+", p.name), p
        assert p.resolve().is_relative_to(out.resolve())
    assert "#define X" not in (out / "top.cpp").read_text()
    x = np.load(ROOT / "examples" / "digits_cnn" / "test_images.npy")[:4]
    assert_hls_matches_golden(graph, x)


def test_sign_model_with_binarised_input_bit_exact(tmp_path):
    """The foundation's Sign model: Sign(x − 127.5) on the raw input is a threshold stage."""
    import torch

    from tests.models import SignNet, export_module

    torch.manual_seed(0)
    graph = api.load(export_module(SignNet(), (2, 6, 6), tmp_path / "sign.onnx"))
    assert_hls_matches_golden(graph, api.random_inputs(graph.input_type, 32, seed=2))


def test_trained_digits_mlp_bit_exact(tmp_path):
    """The foundation's binary MLP trained on scikit-learn's digits (vector input with offset)."""
    import torch
    from sklearn.datasets import load_digits

    from bnnfpga.nn.train import train_classifier
    from tests.models import MLP

    torch.set_num_threads(1)
    digits = load_digits()
    torch.manual_seed(0)
    model = train_classifier(MLP(hidden=128), digits.data[:1000], digits.target[:1000], epochs=5)
    path = tmp_path / "mlp.onnx"
    torch.onnx.export(model, (torch.zeros(1, 64),), str(path), dynamo=False, opset_version=13)
    graph = api.load(path)
    assert_hls_matches_golden(graph, digits.data[1000:1064].astype(np.int64))


def test_generated_testbench_passes_on_the_compile_vectors(tmp_path):
    """OUT/hls/testbench.cpp run on OUT/vectors, as run_hls.tcl's csim_design does; a
    corrupted expectation makes it fail."""
    import subprocess

    from bnnfpga.cli import main

    out = tmp_path / "out"
    assert main(["compile", str(ROOT / "examples" / "digits_cnn" / "model.onnx"), "-o", str(out), "--vectors", "5"]) == 0
    binary, _ = csim.build(out / "hls")
    vectors = out / "vectors"
    ok = subprocess.run([str(binary), str(vectors / "input_stream.hex"), str(tmp_path / "o.hex"), str(vectors / "output_acc.hex")],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "5 frames, 50 output words compared, 0 mismatches" in ok.stdout, ok.stdout + ok.stderr
    words = (vectors / "output_acc.hex").read_text().splitlines()
    words[7] = f"{(int(words[7], 16) + 1) & 0xFFFFFFFF:08x}"
    (tmp_path / "bad.hex").write_text("\n".join(words) + "\n")
    bad = subprocess.run([str(binary), str(vectors / "input_stream.hex"), str(tmp_path / "o.hex"), str(tmp_path / "bad.hex")],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "1 mismatches" in bad.stdout


@pytest.mark.parametrize("frames_per_last", [1, 3])
def test_output_stage_closes_a_batch_with_one_tlast(tmp_path, frames_per_last):
    """The top's frames_per_last register: TLAST on the last word of every n-th frame only
    (the testbench, which counts frames itself, fails on a TLAST anywhere else or a missing
    one), words unchanged."""
    graph = api.load(ROOT / "examples" / "digits_cnn" / "model.onnx")
    x = api.random_inputs(graph.input_type, 6, seed=2)
    hls.generate(graph, tmp_path / "hls", BOARD, choose_folding(graph))
    binary, _ = csim.build(tmp_path / "hls")
    expected = api.backend_accumulators(graph, x, "golden")
    words = pack_stream(x, graph.input_type).reshape(len(x), -1)
    got = csim.run(binary, words, accumulator_stream(expected), frames_per_last=frames_per_last)
    np.testing.assert_array_equal(got, accumulator_stream(expected).reshape(-1))


@pytest.mark.parametrize("network, mode", [("abc_activations", "legacy"), ("schemes", "dynamo")])
def test_scheme_networks_bit_exact(exported, network, mode):
    """ABC-Net's activations (Σ β_j·sign(x + v_j) as one 3-threshold quantizer), XNOR-Net's α,
    BWN, DoReFa and HWGQ layers as torch exports them."""
    graph = api.load(exported(network, mode))
    assert_hls_matches_golden(graph, api.random_inputs(graph.input_type, 8, seed=9))


@pytest.mark.parametrize("network, mode", [("abc_mlp", "legacy"), ("abc_cnn", "dynamo")])
def test_abc_networks_bit_exact(exported, network, mode):
    """ABC-Net's weight bases (BaseGains: M ±1 plane sums per lane, Σ C_i·P_i with signed
    gains of 20-30 bits on the exact grid, 48-bit accumulators; per layer and per channel α,
    a padded convolution) and activation bases, on real digits."""
    graph = api.load(exported(network, mode))
    assert all(n.op.bases is not None for n in graph.nodes if isinstance(n.op, DotProduct))
    assert_hls_matches_golden(graph, digits_frames(NETWORKS[network][1])[0][::113])


@pytest.mark.parametrize("network, mode", [("horq_mlp1", "legacy"), ("horq_mlp2", "dynamo"), ("horq_mlp3", "legacy"),
                                           ("horq_cnn", "dynamo"), ("xnor_scaled_cnn", "legacy"),
                                           ("horq_fixed_point_cnn", "legacy")])
def test_residual_networks_bit_exact(exported, network, mode):
    """Residual binarization (residual_binarizer: a histogram of 2-bit levels, K steps over the
    values; ResidualGains: K ternary planes per lane, Σ_k G_k·P_k with the vector's gains): HORQ
    of orders 1–3, a HORQ convolution over 2×2 fields, XNOR-Net's K over zero-padded 3×3 fields,
    an order-4 convolution over 3×3×64 fields with fixed-point gains, on real digits."""
    graph = api.load(exported(network, mode))
    assert any(n.op.residual_order for n in graph.nodes if isinstance(n.op, DotProduct))
    assert_hls_matches_golden(graph, digits_frames(NETWORKS[network][1])[0][::113])


@pytest.mark.parametrize("network", INQ_IN_BACKENDS)
def test_inq_networks_bit_exact(exported, network):
    """Power-of-two weight codes (INQ, 5/4/3 bits) on digit pixels, ±1 and 2-bit levels:
    shifts of the input (WeightCode) rather than products, on real digits."""
    graph = api.load(exported(network, "legacy"))
    assert_hls_matches_golden(graph, digits_frames(NETWORKS[network][1])[0][::113])


@pytest.mark.parametrize("network, mode", [("bireal", "legacy"), ("dense_concat", "dynamo"), ("reactnet", "dynamo")])
def test_branching_networks_bit_exact(exported, network, mode):
    """Residual adds on 8-bit shortcuts (one on a 2x2 average-pool shortcut, shifted) and
    dense concats, with the forks in front of them (docs/DESIGN.md 3.15)."""
    graph = api.load(exported(network, mode))
    assert_hls_matches_golden(graph, api.random_inputs(graph.input_type, 8, seed=6))
