"""``bnnfpga verify``: the golden model against the reference on the same ONNX file, layer by
layer. The reference is onnxruntime for plain ONNX and the qonnx executor
(``qonnx.core.onnx_exec.execute_onnx``) for QONNX models.

onnxruntime and qonnx are test-time dependencies only: they are imported here, lazily.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import onnx

from bnnfpga import api, golden
from bnnfpga.errors import BnnfpgaError
from bnnfpga.frontend import is_qonnx, load_onnx
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.head import ranked
from bnnfpga.report import format_table

# Logits from onnxruntime carry float32 rounding of the batchnorm arithmetic.
LOGIT_RTOL = 1e-5
# Softmax probabilities (and log-probabilities) of those logits: float32 rounding of exp/log.
PROBABILITY_ATOL = 1e-5


@dataclass
class Agreement:
    layer: str
    onnx_tensor: str
    kind: str
    compared: int
    mismatches: int
    detail: str

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


@dataclass
class VerifyResult:
    rows: list[Agreement]
    frames: int

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def table(self) -> str:
        return format_table(
            ("layer", "onnx tensor", "kind", "compared", "mismatches", "detail", "ok"),
            [[r.layer, r.onnx_tensor, r.kind, str(r.compared), str(r.mismatches), r.detail, "yes" if r.ok else "NO"] for r in self.rows],
        )


def run_onnxruntime(model: onnx.ModelProto, x: np.ndarray, tensors: list[str]) -> dict[str, np.ndarray]:
    """Run ``model`` on x, also returning the hidden ``tensors``; honours a fixed batch size."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise BnnfpgaError("verify needs onnxruntime: pip install onnxruntime (or the dev extra)") from None
    m = onnx.ModelProto()
    m.CopyFrom(model)
    outputs = [o.name for o in m.graph.output]
    for name in tensors:
        if name not in outputs:
            m.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
            outputs.append(name)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    batch = inp.shape[0] if isinstance(inp.shape[0], int) and inp.shape[0] > 0 else len(x)
    xf = x.astype(np.float32)
    parts = []
    for start in range(0, len(xf), max(batch, 1)):
        chunk = xf[start : start + batch]
        pad = batch - len(chunk)
        if pad:
            chunk = np.concatenate([chunk, np.zeros((pad,) + chunk.shape[1:], np.float32)])
        result = session.run(outputs, {inp.name: chunk})
        parts.append([r[: len(r) - pad] if pad else r for r in result])
    return {name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(outputs)}


def run_qonnx(model: onnx.ModelProto, x: np.ndarray, tensors: list[str]) -> dict[str, np.ndarray]:
    """Run a QONNX ``model`` frame by frame with the qonnx executor, returning the output and
    the hidden ``tensors``."""
    try:
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.core.onnx_exec import execute_onnx
        from qonnx.transformation.infer_shapes import InferShapes
    except ImportError:
        raise BnnfpgaError("verify of a QONNX model needs qonnx: pip install qonnx (or the dev extra)") from None
    wrapper = ModelWrapper(model).transform(InferShapes())  # the executor needs every tensor's shape
    inp = model.graph.input[0]
    shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in inp.type.tensor_type.shape.dim]
    wanted = list(dict.fromkeys([model.graph.output[0].name] + tensors))  # a hidden tensor can be the output
    parts: dict[str, list[np.ndarray]] = {name: [] for name in wanted}
    for frame in x.astype(np.float32):
        context = execute_onnx(wrapper, {inp.name: frame.reshape([1] + shape[1:])}, return_full_exec_context=True)
        for name in wanted:
            parts[name].append(np.asarray(context[name]))
    return {name: np.concatenate(values) if values else np.zeros((0,)) for name, values in parts.items()}


def reference_values(model: onnx.ModelProto, graph: Graph, x: np.ndarray, tensors: list[str]) -> dict[str, np.ndarray]:
    """The reference's output and hidden ``tensors`` on frames x: integer frames times the
    graph's input scale, in float32, as a user would feed the model (float frames of a
    model with an input quantizer as they are)."""
    xf = (x * np.float32(graph.input_scale)).astype(np.float32) if graph.input_scale != 1.0 else x.astype(np.float32)
    if is_qonnx(model):
        return run_qonnx(model, xf, tensors)
    return run_onnxruntime(model, xf, tensors)


def reference_name(model: onnx.ModelProto) -> str:
    """What ``verify`` runs the ONNX file with."""
    return "the qonnx executor" if is_qonnx(model) else "onnxruntime"


def _frames(graph: Graph, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The accelerator's input for frames x (integer frames, or the input quantizer's levels)
    and what the reference is fed (the same integer frames, or the float frames as given)."""
    levels = api.accelerator_input(graph, x)
    return levels, levels if graph.input_quantizer is None else np.asarray(x, np.float32).reshape(levels.shape)


def _reference_output(graph: Graph, reference: np.ndarray) -> np.ndarray:
    """The reference model's output in the graph's terms: for a label select on a model that
    returns scores, the reference's ranking of them (as the engine ranks)."""
    reference = np.asarray(reference)
    if graph.head is not None and graph.head.kind == "labels" and not np.issubdtype(reference.dtype, np.integer):
        return ranked(reference.reshape(len(reference), -1), graph.head.k)
    return reference


def _as_levels(ref: np.ndarray, scale: tuple[list[float], list[float]], shape) -> np.ndarray:
    """A quantizer's ONNX output scale·(v − zp) back to its integer levels v."""
    channels = shape[1]
    view = (1, channels) + (1,) * (len(shape) - 2)
    s = np.asarray(scale[0], np.float64).reshape(-1)
    z = np.asarray(scale[1], np.float64).reshape(-1)
    s = np.broadcast_to(s, (channels,)).reshape(view) if s.size in (1, channels) else s.reshape(view)
    z = np.broadcast_to(z, (channels,)).reshape(view) if z.size in (1, channels) else z.reshape(view)
    return np.round(ref.reshape(shape).astype(np.float64) / s + z)


def verify_model(model_path: str | os.PathLike, graph: Graph, x: np.ndarray) -> VerifyResult:
    """Compare every tagged hidden activation and the output of ``graph`` (folded from
    ``model_path``) with the reference (onnxruntime, or the qonnx executor for QONNX) on
    frames x; also the two golden routes with each other."""
    model = load_onnx(model_path)
    levels, x = _frames(graph, x)
    ours = golden.execute(graph, levels, route="packed", keep_all=True)
    fast = golden.execute(graph, levels, route="gemm")[graph.output_name]
    hidden = {t: o for t, o in graph.onnx_tensors.items() if t != graph.input_name and t != graph.output_name and t in ours}
    output_onnx = model.graph.output[0].name
    scores_onnx = graph.onnx_tensors.get(graph.output_name, output_onnx) if graph.head is not None else output_onnx
    scores_compared = scores_onnx != output_onnx and graph.head.kind != "labels"  # the logits in front of the head
    ref = reference_values(model, graph, x, sorted(set(hidden.values()) | ({scores_onnx} if scores_compared else set())))
    rows = []
    for tensor, onnx_name in sorted(hidden.items(), key=lambda kv: [n.output for n in graph.nodes].index(kv[0])):
        a = ours[tensor]
        if onnx_name in graph.onnx_scales:
            b = _as_levels(ref[onnx_name], graph.onnx_scales[onnx_name], a.shape)
        else:
            b = ref[onnx_name].reshape(a.shape)
        bad = int(np.sum(a != b))
        rows.append(Agreement(tensor, onnx_name, "activation", a.size, bad, "bit-exact" if not bad else f"{bad} values differ"))
    out = ours[graph.output_name]
    if graph.head is not None:
        if scores_compared:
            rows += _logit_rows(graph.output_name, scores_onnx, out, ref[scores_onnx].reshape(out.shape))
        rows += _head_rows(graph, ours, ref, output_onnx)
    else:
        rows += _logit_rows(graph.output_name, output_onnx, out, ref[output_onnx].reshape(out.shape))
    route_bad = int(np.sum(fast != out))
    rows.append(Agreement(graph.output_name, "(golden gemm route)", "packed vs gemm", out.size, route_bad, "exact" if not route_bad else "routes differ"))
    return VerifyResult(rows, len(levels))


def _logit_rows(tensor: str, onnx_name: str, out: np.ndarray, ref_out: np.ndarray) -> list[Agreement]:
    """Float logits within LOGIT_RTOL of the largest, and the same top-1."""
    rows = []
    scale = max(1.0, float(np.max(np.abs(ref_out)))) if ref_out.size else 1.0
    diff = np.abs(out - ref_out.astype(np.float64))
    close = diff <= LOGIT_RTOL * scale
    rows.append(Agreement(tensor, onnx_name, "logits", out.size, int(np.sum(~close)), f"max |diff| {diff.max() if diff.size else 0:.3g}"))
    if out.ndim == 2:
        top_ours, top_ref = out.argmax(axis=1), ref_out.argmax(axis=1)
        bad = int(np.sum(top_ours != top_ref))
        rows.append(Agreement(tensor, onnx_name, "top-1", len(out), bad, f"{len(out) - bad}/{len(out)} equal"))
    return rows


def _head_rows(graph: Graph, ours: dict, ref: dict, output_onnx: str) -> list[Agreement]:
    """The model's head: probabilities within PROBABILITY_ATOL, class indices exactly. A
    'labels' head on a model whose output is scores (the accelerator selects labels the model
    does not return) is compared with the reference's ranking of its scores."""
    head, scores = graph.head, ours[graph.output_name]
    mine = head.apply(scores.astype(np.float32) if np.issubdtype(scores.dtype, np.floating) else scores)
    theirs = _reference_output(graph, ref[output_onnx]).reshape(mine.shape)
    if head.returns_indices:
        bad = int(np.sum(mine != theirs))
        return [Agreement(graph.output_name, output_onnx, f"{head.kind} (indices)", mine.size, bad,
                          "exact" if not bad else f"{bad} indices differ")]
    diff = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
    bad = int(np.sum(diff > PROBABILITY_ATOL))
    return [Agreement(graph.output_name, output_onnx, head.kind, mine.size, bad, f"max |diff| {diff.max() if diff.size else 0:.3g}")]


def verify_backend(graph: Graph, x: np.ndarray, backend: str, folding=None) -> VerifyResult:
    """Compare a backend's output stream (the int32 accumulators) with the golden model's,
    word for word, and the host-side logits and top-1 computed from them."""
    levels = api.accelerator_input(graph, x)
    expected = api.stream_of_levels(graph, levels, "golden")
    got = api.stream_of_levels(graph, levels, backend, folding)
    bad = int(np.sum(got != expected))
    tensor = api.accumulator_tensor(graph)
    rows = [Agreement(tensor, f"({backend})", "accumulators", expected.size, bad, "word for word" if not bad else f"{bad} words differ")]
    ours, ref = api.host_output(graph, got), api.host_output(graph, expected)
    if graph.head is not None and graph.head.returns_indices:
        bad = int(np.sum(ours != ref))
        rows.append(Agreement(graph.output_name, f"({backend})", f"{graph.head.kind} (indices)", ours.size, bad,
                              "exact" if not bad else f"{bad} indices differ"))
    elif ours.ndim == 2:
        top_bad = int(np.sum(ours.argmax(1) != ref.argmax(1)))
        rows.append(Agreement(graph.output_name, f"({backend})", "top-1", len(levels), top_bad,
                              f"{len(levels) - top_bad}/{len(levels)} equal"))
    return VerifyResult(rows, len(x))


def predicted_classes(y: np.ndarray) -> np.ndarray:
    """Each frame's top-1 class from a model output: the first of its class indices (an
    ArgMax/TopK/label-select output), else the index of its largest score (ties to the lower
    index, as ONNX)."""
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.integer):
        return y.reshape(len(y), -1)[:, 0].astype(np.int64)
    return ranked(y.reshape(len(y), -1), 1)[:, 0]


@dataclass
class Accuracy:
    """Top-1 on labelled frames: (who, correct) per producer of predictions, and how many
    frames the last one predicts the same class as the first (the reference)."""

    rows: list[tuple[str, int]]
    frames: int
    agreement: int

    def table(self) -> str:
        first, last = self.rows[0][0], self.rows[-1][0]
        lines = [[who, f"{100 * correct / max(self.frames, 1):.2f}%", f"{correct}/{self.frames}"] for who, correct in self.rows]
        return (format_table(("predictions of", "top-1", "correct"), lines) +
                f"\nagreement: {self.agreement}/{self.frames} frames get the same class from {last} as from {first}")


def accuracy(model_path: str | os.PathLike, graph: Graph, x: np.ndarray, labels: np.ndarray, backend: str = "golden",
             folding=None) -> Accuracy:
    """Top-1 of the reference model (onnxruntime, or the qonnx executor), of the golden model
    and, for backend 'hls' or 'rtl', of that backend, on frames x with their true ``labels``."""
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(x):
        raise BnnfpgaError(f"--labels: expected {len(x)} labels (one per frame), got {len(labels)}")
    model = load_onnx(model_path)
    levels, frames = _frames(graph, x)
    reference = _reference_output(graph, reference_values(model, graph, frames, [])[model.graph.output[0].name])
    producers = [(f"reference ({reference_name(model)})", reference),
                 ("golden", golden.predict(graph, levels))]
    if backend != "golden":
        producers.append((backend, api.host_output(graph, api.stream_of_levels(graph, levels, backend, folding))))
    classes = [(who, predicted_classes(y)) for who, y in producers]
    rows = [(who, int(np.sum(c == labels))) for who, c in classes]
    return Accuracy(rows, len(labels), int(np.sum(classes[-1][1] == classes[0][1])))
