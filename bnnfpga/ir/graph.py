"""The IR graph: nodes in topological order, tensor types, and (de)serialisation to ir.json."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from dataclasses import dataclass, field

import numpy as np

from bnnfpga.ir.head import Head
from bnnfpga.ir.input_quantizer import InputQuantizer
from bnnfpga.ir.ops import OP_TYPES, Op
from bnnfpga.ir.types import DType, TensorType

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(eq=False)
class Node:
    """One op applied to named tensors. ``source`` names the ONNX node(s) it came from."""

    name: str
    op: Op
    inputs: tuple[str, ...]
    output: str
    source: str = ""


@dataclass(eq=False)
class Graph:
    """A chain/DAG of nodes from ``input_name`` to ``output_name``.

    ``onnx_tensors`` maps an IR tensor to the ONNX tensor that holds exactly the same values
    (used by ``verify`` to compare hidden activations). ``notes`` are messages for the report
    (e.g. that ONNX ``Sign`` was read as binarisation with 0 → +1). The ONNX model's input
    is the integer frame times ``input_scale`` (e.g. 1/255 for a model trained on [0, 1]).
    ``onnx_scales[onnx tensor]`` = (scale, zero point) per channel says that the ONNX tensor
    holds scale·(v − zero point) of the IR tensor's integer levels v (a quantizer's output).
    ``head`` is what the model computes from the output tensor at the very end (softmax,
    argmax, ...; ir/head.py), on the host; None: the output tensor is the model's output.
    ``input_quantizer`` (ir/input_quantizer.py): the model's input is float, and the host
    turns it into the integer levels ``input_name`` holds; None: the input is integer frames
    (times ``input_scale``).
    """

    input_name: str
    input_type: TensorType
    nodes: list[Node]
    output_name: str
    model_name: str = ""
    onnx_tensors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    input_scale: float = 1.0
    onnx_scales: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    head: Head | None = None
    input_quantizer: InputQuantizer | None = None

    # -- structure -------------------------------------------------------------------------
    def types(self) -> dict[str, TensorType]:
        """Infer every tensor's type from the input type, node by node."""
        types = {self.input_name: self.input_type}
        for node in self.nodes:
            types[node.output] = node.op.output_type([types[i] for i in node.inputs])
        return types

    def producer(self, tensor: str) -> Node | None:
        for node in self.nodes:
            if node.output == tensor:
                return node
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def copy(self) -> Graph:
        """A copy whose node list and maps can be edited without touching this graph.
        Ops are shared; passes replace ops rather than mutating them."""
        return dataclasses.replace(
            self,
            nodes=[dataclasses.replace(n) for n in self.nodes],
            onnx_tensors=dict(self.onnx_tensors),
            notes=list(self.notes),
            onnx_scales=dict(self.onnx_scales),
        )

    def fresh_name(self, base: str) -> str:
        """A node/tensor name not used anywhere in the graph yet."""
        taken = {self.input_name} | {n.name for n in self.nodes} | {n.output for n in self.nodes}
        candidate, i = base, 1
        while candidate in taken:
            candidate, i = f"{base}_{i}", i + 1
        return candidate

    def only_consumer(self, tensor: str) -> Node | None:
        """The single node reading ``tensor``, or None when it has several readers or is the output."""
        readers = self.consumers(tensor)
        return readers[0] if len(readers) == 1 and tensor != self.output_name else None

    def exchange(self, first: Node, second: Node, new_first_op: Op, new_second_op: Op) -> None:
        """Exchange two adjacent nodes (``second`` reads ``first``): ``first`` keeps its place
        in the chain but takes ``new_first_op`` and the second node's name and source, and vice
        versa. The tensor between them now holds other values, so its ONNX tag is dropped."""
        first.op, second.op = new_first_op, new_second_op
        first.name, second.name = second.name, first.name
        first.source, second.source = second.source, first.source
        self.onnx_tensors.pop(first.output, None)

    def replace_tensor(self, old: str, new: str) -> None:
        """Make every consumer of ``old`` read ``new`` instead (and the graph output)."""
        for node in self.nodes:
            node.inputs = tuple(new if i == old else i for i in node.inputs)
        if self.output_name == old:
            self.output_name = new

    # -- serialisation ---------------------------------------------------------------------
    def to_json(self) -> str:
        doc = {
            "format": "bnnfpga-ir/1",
            "model_name": self.model_name,
            "input": {"name": self.input_name, **_type_to_json(self.input_type), "scale": self.input_scale},
            "output": self.output_name,
            "nodes": [
                {
                    "name": n.name,
                    "op": type(n.op).__name__,
                    "inputs": list(n.inputs),
                    "output": n.output,
                    "source": n.source,
                    "attrs": {f.name: _value_to_json(getattr(n.op, f.name)) for f in dataclasses.fields(n.op)},
                }
                for n in self.nodes
            ],
            "onnx_tensors": dict(sorted(self.onnx_tensors.items())),
            "notes": self.notes,
            "onnx_scales": {k: {"scale": v[0], "zero_point": v[1]} for k, v in sorted(self.onnx_scales.items())},
            "head": None if self.head is None else self.head.to_json(),
            "input_quantizer": None if self.input_quantizer is None else self.input_quantizer.to_json(),
        }
        return json.dumps(doc, indent=1) + "\n"

    @staticmethod
    def from_json(text: str) -> Graph:
        doc = json.loads(text)
        if doc.get("format") != "bnnfpga-ir/1":
            raise ValueError("not a bnnfpga IR file")
        nodes = []
        names = [doc["input"]["name"], doc["output"]] + [v for n in doc["nodes"] for v in (n["name"], n["output"], *n["inputs"])]
        for name in names:  # the file may have been edited: names become C++ identifiers and paths
            if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
                raise ValueError(f"invalid name {name!r}")
        for n in doc["nodes"]:
            op_cls = OP_TYPES[n["op"]]
            attrs = {k: _value_from_json(v) for k, v in n["attrs"].items()}
            nodes.append(Node(n["name"], op_cls(**attrs), tuple(n["inputs"]), n["output"], n["source"]))
        return Graph(
            input_name=doc["input"]["name"],
            input_type=TensorType(tuple(doc["input"]["shape"]), DType.parse(doc["input"]["dtype"])),
            nodes=nodes,
            output_name=doc["output"],
            model_name=doc["model_name"],
            onnx_tensors=doc["onnx_tensors"],
            notes=doc["notes"],
            input_scale=float(doc["input"].get("scale", 1.0)),
            onnx_scales={k: (list(v["scale"]), list(v["zero_point"])) for k, v in doc.get("onnx_scales", {}).items()},
            head=Head.from_json(doc.get("head")),
            input_quantizer=InputQuantizer.from_json(doc.get("input_quantizer")),
        )


def _type_to_json(t: TensorType) -> dict:
    return {"shape": list(t.shape), "dtype": str(t.dtype)}


def _value_to_json(value):
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<"), copy=False)
        return {"ndarray": str(value.dtype), "shape": list(value.shape), "base64": base64.b64encode(data.tobytes()).decode()}
    if isinstance(value, tuple):
        return {"tuple": list(value)}
    return value


def _value_from_json(value):
    if isinstance(value, dict) and "ndarray" in value:
        dtype = np.dtype(value["ndarray"]).newbyteorder("<")
        arr = np.frombuffer(base64.b64decode(value["base64"]), dtype=dtype).reshape(value["shape"])
        return arr.astype(dtype.newbyteorder("="))
    if isinstance(value, dict) and "tuple" in value:
        return tuple(value["tuple"])
    return value
