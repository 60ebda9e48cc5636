"""The public Python API; the CLI is a thin layer over it."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bnnfpga import __version__, csim, golden, rtlsim
from bnnfpga.boards import load_board
from bnnfpga.codegen import deploy, hls, rtl
from bnnfpga.errors import BnnfpgaError, ModelError
from bnnfpga.frontend import import_model, load_onnx
from bnnfpga.hw import folding as folding_search
from bnnfpga.hw.fold import Fold
from bnnfpga.hw.folding import DEFAULT_UTILISATION
from bnnfpga.hw.host import accumulator_tensor, describe_output, host_nodes
from bnnfpga.hw.streams import accumulator_stream, accumulators_from_stream, pack_stream, to_hex_lines
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import OutputAffine
from bnnfpga.ir.types import TensorType
from bnnfpga.ir.verify import verify_folded
from bnnfpga.passes.pipeline import fold
from bnnfpga.passes.select_labels import SelectLabels
from bnnfpga.report import fork_lines, markdown_report
from bnnfpga.report_html import html_report
from bnnfpga.synth import synthesise_engines

BACKENDS = ("golden", "hls", "rtl")


def load(model_path: str | os.PathLike, input_bits: int = 8, on_stage: Callable[[str, Graph], None] | None = None,
         input_scale: float = 1.0, head: str | None = None, float_input: bool = False) -> Graph:
    """Read an ONNX (or QONNX) model and fold it to the hardware-form IR (verified after every
    stage). The model's input is the integer frame times ``input_scale``; with
    ``float_input``, float frames that the host quantizes with the model's own input
    quantizer (``accelerator_input``). ``head`` chooses what the accelerator returns
    (``choose_head``)."""
    graph = fold(import_model(load_onnx(model_path), input_bits, input_scale, float_input), on_stage)
    return choose_head(graph, head)


HEAD_CHOICES = "logits, labels or topk=K"


def choose_head(graph: Graph, head: str | None = None) -> Graph:
    """What the accelerator returns (docs/DESIGN.md 3.13). 'logits': its accumulators, the
    host computing the model's output (affine, softmax, argmax ...); 'labels' (= 'topk=1')
    or 'topk=K': the K best class indices from a label-select engine. None: labels when the
    model itself returns class indices (ArgMax, TopK) and a label select can rank them
    exactly, else logits."""
    if head == "logits":
        return graph
    if head is None:
        if graph.head is None or graph.head.kind not in ("argmax", "topk"):
            return graph
        try:
            return _select_labels(graph, 1 if graph.head.kind == "argmax" else graph.head.k)
        except ModelError as exc:
            graph = graph.copy()
            graph.notes.append(f"the host ranks the logits ({graph.head.kind}): no label select in the accelerator, "
                               f"because {exc.message.split(';')[0]}")
            return graph
    if head == "labels":
        return _select_labels(graph, 1)
    count = head.removeprefix("topk=")
    if not head.startswith("topk=") or not count.isdigit() or int(count) < 1:
        raise BnnfpgaError(f"--head {head!r}: expected {HEAD_CHOICES}")
    return _select_labels(graph, int(count))


def _select_labels(graph: Graph, k: int) -> Graph:
    graph = SelectLabels(k).apply(graph)
    verify_folded(graph)
    return graph



def load_graph(path: str | os.PathLike) -> Graph:
    """A folded graph: from an ONNX model, or from a compile output (OUT/ or OUT/ir.json)."""
    path = Path(path)
    if path.is_dir():
        path = path / "ir.json"
    if path.suffix == ".json":
        try:
            graph = Graph.from_json(path.read_text())
            verify_folded(graph)
            return graph
        except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
            raise BnnfpgaError(f"{path}: not a valid bnnfpga IR file ({exc})") from None
    return load(path)


def load_inputs(path: str | os.PathLike) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BnnfpgaError(f"{path}: cannot read a NumPy array ({exc})") from None


def predict(graph: Graph, x: np.ndarray, backend: str = "golden", folding: dict[str, Fold] | None = None,
            board: str = "pynq-z2") -> np.ndarray:
    """The model's output for frames x (N, *input shape): same shape and meaning as the ONNX
    model's output (float32 logits after the host-side affine), computed by ``backend``:
    'golden' (NumPy), 'hls' (C simulation of the generated HLS project) or 'rtl' (Verilator
    simulation of the generated RTL)."""
    if backend == "golden":
        return golden.predict(graph, accelerator_input(graph, x))
    if backend in ("hls", "rtl"):
        acc = backend_accumulators(graph, x, backend, folding, board)
        return host_output(graph, acc)
    raise BnnfpgaError(f"backend {backend!r} is not available; available: {', '.join(BACKENDS)}")


def backend_accumulators(graph: Graph, x: np.ndarray, backend: str, folding: dict[str, Fold] | None = None,
                         board: str = "pynq-z2") -> np.ndarray:
    """The accelerator's output stream (the last layer's int32 accumulators, levels or class
    indices) from ``backend`` for frames x (what the model takes), in ONNX layout (N, *shape)
    like the golden model's tensor."""
    return stream_of_levels(graph, accelerator_input(graph, x), backend, folding, board)


def stream_of_levels(graph: Graph, x: np.ndarray, backend: str, folding: dict[str, Fold] | None = None,
                     board: str = "pynq-z2") -> np.ndarray:
    """``backend_accumulators`` for what the accelerator itself receives (integer frames, or
    the input quantizer's levels)."""
    x = golden.executor.check_input(graph, x)
    if backend in ("hls", "rtl"):
        simulator = csim if backend == "hls" else rtlsim
        board_info = load_board(board)
        words = simulator.run_generated(graph, pack_stream(x, graph.input_type).reshape(len(x), -1),
                                        fold_for_board(graph, board_info, folding).estimate.folding, board_info)
        return accumulators_from_stream(words, len(x), graph.types()[accumulator_tensor(graph)].shape)
    values = golden.execute(graph, x, keep_all=True)
    return values[accumulator_tensor(graph)].astype(np.int32)


def fold_for_board(graph: Graph, board, overrides: dict[str, Fold] | None = None, target_fps: float | None = None,
                   utilisation: float = DEFAULT_UTILISATION, clock_mhz: float | None = None,
                   progress=None, margin: float | None = None) -> folding_search.SearchResult:
    """The folding both backends build for ``board`` (a Board): the fastest that fits
    ``utilisation`` of it, or the cheapest reaching ``target_fps``; ``overrides`` fix layers;
    ``margin`` is the resource model's error allowance (``folding.search``)."""
    say = (lambda text: print(f"  [folding] {text}", file=progress, flush=True)) if progress else None
    return folding_search.search(graph, board, clock_mhz, target_fps, utilisation, overrides, say, margin=margin)


def synthesise_estimate(searched: folding_search.SearchResult, progress=None) -> list:
    """yosys on the searched design, engine by engine (bnnfpga.synth.synthesise_engines)."""
    say = (lambda text: print(f"  [synth] {text}", file=progress, flush=True)) if progress else None
    with tempfile.TemporaryDirectory(prefix="bnnfpga-synth-") as tmp:
        return synthesise_engines(searched.estimate.flow, Path(tmp), say)


def host_output(graph: Graph, acc: np.ndarray) -> np.ndarray:
    """Apply the host-side nodes (docs/DESIGN.md 3.7) and the head (3.13) to the accelerator's
    output (N, *shape): accumulators, levels or class indices."""
    y = acc
    for node in host_nodes(graph):
        if isinstance(node.op, OutputAffine):
            view = (1, -1) + (1,) * (y.ndim - 2)
            y = (y * node.op.scale.reshape(view) + node.op.bias.reshape(view)).astype(np.float32)
        else:
            y = y.reshape((y.shape[0],) + tuple(node.op.shape))
    return graph.head.apply(y) if graph.head is not None else y


def random_inputs(t: TensorType, count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(t.dtype.min, t.dtype.max + 1, size=(count,) + t.shape).astype(np.int64)


def random_frames(graph: Graph, count: int, seed: int = 0) -> np.ndarray:
    """Random frames of what the model takes: integer frames over the input type, or, for a
    model with an input quantizer (``--float-input``), float32 frames over the quantizer's
    range and a step beyond it on either side (so that clipping is exercised)."""
    if graph.input_quantizer is None:
        return random_inputs(graph.input_type, count, seed)
    lo, hi = graph.input_quantizer.float_range()
    step = max(graph.input_quantizer.scale)
    rng = np.random.default_rng(seed)
    return rng.uniform(lo - step, hi + step, size=(count,) + graph.input_type.shape).astype(np.float32)


def accelerator_input(graph: Graph, x: np.ndarray) -> np.ndarray:
    """What the accelerator receives for frames x: the integer frames themselves (checked),
    or, for a model with an input quantizer, its levels of the float frames, computed on the
    host exactly as the model's quantizer computes them (docs/DESIGN.md 3.14)."""
    if graph.input_quantizer is None:
        return golden.executor.check_input(graph, x)
    x = golden.executor.check_shape(graph, x)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)) or not np.all(np.isfinite(x)):
        raise BnnfpgaError(f"--float-input frames must be finite numbers, got dtype {x.dtype}")
    return graph.input_quantizer.apply(x)


def _stage_printer(stream) -> Callable[[str, Graph], None]:
    def show(name: str, graph: Graph) -> None:
        print(f"  [{name}] {len(graph.nodes)} nodes, verified", file=stream, flush=True)

    return show


def compile_model(
    model_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    board: str = "pynq-z2",
    input_bits: int = 8,
    input_scale: float = 1.0,
    vectors: int = 8,
    inputs: np.ndarray | None = None,
    force: bool = False,
    progress=None,
    fold: dict[str, Fold] | None = None,
    labels: np.ndarray | None = None,
    target_fps: float | None = None,
    utilisation: float = DEFAULT_UTILISATION,
    margin: float | None = None,
    head: str | None = None,
    float_input: bool = False,
) -> Graph:
    """Compile ``model_path`` into ``out_dir``: ir.json, report.md and report.html, golden test
    vectors, the HLS project (hls/), the RTL design (rtl/) and the Vivado build script
    (deploy/). The folding is the board's (``fold_for_board``): ``target_fps`` or the fastest
    that fits ``utilisation`` of the board (with the resource model's error ``margin``), with
    ``fold`` overrides.

    Everything is written to a temporary directory beside ``out_dir`` and renamed at the end,
    so a failed compile leaves no ``out_dir`` behind.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not force:
            raise BnnfpgaError(f"{out_dir} exists; remove it or pass --force")
        check_replaceable(out_dir, Path(model_path))
    board_info = load_board(board)
    if progress:
        print(f"compiling {model_path} for {board_info.name}", file=progress, flush=True)
    graph = load(model_path, input_bits, _stage_printer(progress) if progress else None, input_scale, head, float_input)
    if progress:
        print(f"  [head] {describe_output(graph)}", file=progress, flush=True)
    frames = random_frames(graph, vectors) if inputs is None else inputs
    x = accelerator_input(graph, frames)
    if labels is not None and (labels.ndim != 1 or len(labels) != len(x)):
        raise BnnfpgaError(f"--labels: expected {len(x)} labels (one per input frame), got an array of shape {labels.shape}")
    searched = fold_for_board(graph, board_info, fold, target_fps, utilisation, progress=progress, margin=margin)
    folding = searched.estimate.folding

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; OUT/ should look like any directory
        options = {"board": board_info.name, "input_bits": input_bits, **({"float_input": True} if float_input else {}),
                   **({"input_scale": input_scale} if input_scale != 1.0 else {}), "vectors": len(x),
                   "utilisation": utilisation, "margin": searched.budget.margin,
                   **({"fps": target_fps} if target_fps else {}), **({"head": head} if head else {})}
        (tmp / "ir.json").write_text(graph.to_json())
        (tmp / "report.md").write_text(markdown_report(graph, Path(model_path).name, board_info.name, options, folding))
        (tmp / "report.html").write_text(html_report(graph, Path(model_path).name, board_info, options, searched))
        write_vectors(graph, x, tmp / "vectors")
        if progress:
            print(f"  [vectors] {len(x)} frames", file=progress, flush=True)
        hls.generate(graph, tmp / "hls", board_info, folding)
        if progress:
            print("  [hls] Vitis HLS project", file=progress, flush=True)
        design = rtl.generate(graph, tmp / "rtl", folding, board_info.clock_mhz)
        if progress:
            print(f"  [rtl] SystemVerilog design, {design['cycles_per_frame']} cycles per frame", file=progress, flush=True)
            for line in fork_lines(graph, folding):
                print(f"  [fifos] {line}", file=progress, flush=True)
        deploy.generate(graph, tmp / "deploy", board_info)
        deploy.write_driver(graph, tmp / "deploy", board_info, design, np.asarray(frames), golden.predict(graph, x), labels)
        if progress:
            print(f"  [deploy] Vivado script for {board_info.part}", file=progress, flush=True)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return graph


def check_replaceable(out_dir: Path, model_path: Path) -> None:
    """--force replaces only an earlier compile output (or an empty directory), and never the
    current directory, one of its parents, or a directory holding the model."""
    resolved = out_dir.resolve()
    if not resolved.is_dir():
        raise BnnfpgaError(f"{out_dir} exists and is not a directory")
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents:
        raise BnnfpgaError(f"refusing to replace {out_dir}: it is the current directory or one of its parents")
    if resolved in model_path.resolve().parents:
        raise BnnfpgaError(f"refusing to replace {out_dir}: it holds the model {model_path}")
    if any(resolved.iterdir()) and not (resolved / "ir.json").is_file():
        raise BnnfpgaError(f"refusing to replace {out_dir}: not empty and not a bnnfpga compile output (no ir.json)")


def write_vectors(graph: Graph, x: np.ndarray, directory: Path) -> None:
    """Golden test vectors in stream format (bnnfpga/hw/streams.py) for the backends' testbenches:
    the input, every bipolar activation, the int32 accumulators and the host's logits."""
    directory.mkdir()
    values = golden.execute(graph, x, route="packed", keep_all=True)
    types = graph.types()
    acc_name = accumulator_tensor(graph)
    manifest = {"bnnfpga": __version__, "frames": int(len(x)), "format": "see bnnfpga/hw/streams.py", "tensors": []}

    def save(name: str, tensor: str, data: np.ndarray, layout: str) -> None:
        np.save(directory / f"{name}.npy", data, allow_pickle=False)
        manifest["tensors"].append({"file": f"{name}.npy", "tensor": tensor, "type": str(types[tensor]),
                                    "layout": layout, "shape": list(data.shape), "dtype": str(data.dtype)})

    save("input_nchw", graph.input_name, x.astype(np.uint16 if graph.input_type.dtype.bits > 8 else np.uint8), "N,C,H,W (ONNX layout)")
    stream_in = pack_stream(x, graph.input_type)
    save("input_stream", graph.input_name, stream_in, "N,pixel,word uint64 (stream)")
    (directory / "input_stream.hex").write_text(to_hex_lines(stream_in))
    for node in graph.nodes:
        t = types[node.output]
        if t.dtype.kind == "bipolar":
            save(f"act_{node.name}", node.output, pack_stream(values[node.output], t), "N,pixel,word uint64 (stream)")
    acc = accumulator_stream(values[acc_name].astype(np.int32))
    save("output_acc", acc_name, acc, "N,word int32 (stream order)")
    (directory / "output_acc.hex").write_text("".join(f"{int(v) & 0xFFFFFFFF:08x}\n" for v in acc.reshape(-1)))
    if acc_name != graph.output_name:
        save("output_logits", graph.output_name, values[graph.output_name].astype(np.float32), "N,class float32 (host)")
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def simulate_compiled(out_dir: str | os.PathLike, x: np.ndarray | None = None, pauses: bool = False):
    """Run OUT/rtl/ (a compile output) on frames x (default: the compile's test vectors) in
    Verilator at full rate; returns (SimResult, design summary, golden accumulators in
    stream order). With ``pauses`` the design is first also run under random idles and
    back-pressure, checked word for word against the golden model."""
    out_dir = Path(out_dir)
    rtl_out = out_dir / "rtl"
    if not (rtl_out / "design.json").is_file():
        raise BnnfpgaError(f"{out_dir} has no rtl/design.json: compile the model with `bnnfpga compile` first")
    graph = load_graph(out_dir)
    if x is None:  # the accelerator's own input (for a float-input model: the levels)
        x = np.load(out_dir / "vectors" / "input_nchw.npy").astype(np.int64)
    else:
        x = accelerator_input(graph, x)
    expected = accumulator_stream(stream_of_levels(graph, x, "golden"))
    design = json.loads((rtl_out / "design.json").read_text())
    frames = pack_stream(x, graph.input_type).reshape(len(x), -1)
    result = rtlsim.simulate(rtl_out, frames, expected if pauses else None, pauses=pauses)
    return result, design, expected.reshape(-1)
