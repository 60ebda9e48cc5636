"""The package's layers point one way (docs/DESIGN.md 2): every `import`/`from` in bnnfpga/,
at any depth, goes to the module's own layer or one below it; the modules' import graph has
no cycle; and no module imports bnnfpga code inside a function (the way to dodge a cycle).

The layer order is defined here, once; docs/DESIGN.md 2 explains it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bnnfpga"

# layer → the layers it imports directly (and, through them, everything below).
LAYERS: dict[str, tuple[str, ...]] = {
    "base": (),  # errors, names, data, toolchain, verilator_runtime, boards, the package's version
    "ir": ("base",),  # types, bits, patches, ops, graph, verify: no format, no backend
    "frontend": ("ir",),  # ONNX / QONNX / QCDQ → IR
    "passes": ("ir",),  # IR → folded IR
    "golden": ("ir",),  # runs the folded IR: shares nothing with the hardware but ir
    "hw": ("ir",),  # the hardware view: engines, layout, typed module parameters, cost, folding
    "codegen": ("hw",),  # HLS, RTL and deploy text from the hardware view
    "tools": ("codegen",),  # g++, Verilator, yosys, Vitis/Vivado runners
    "report": ("hw",),  # inspect table, report.md, report.html
    "api": ("frontend", "passes", "golden", "tools", "report"),
    "cli": ("api",),  # the command line, and verify (golden vs onnxruntime/qonnx, backends vs golden)
    "nn": (),  # torch training layers: stand apart, nothing imports them
}
BASE_MODULES = {"bnnfpga", "bnnfpga.errors", "bnnfpga.names", "bnnfpga.data", "bnnfpga.toolchain", "bnnfpga.verilator_runtime",
                "bnnfpga.boards"}
TOOL_MODULES = {"bnnfpga.csim", "bnnfpga.rtlsim", "bnnfpga.synth", "bnnfpga.build"}
REPORT_MODULES = {"bnnfpga.report", "bnnfpga.report_html"}
CLI_MODULES = {"bnnfpga.cli", "bnnfpga.verify"}


def layer_of(module: str) -> str:
    if module in BASE_MODULES:
        return "base"
    if module in TOOL_MODULES:
        return "tools"
    if module in REPORT_MODULES:
        return "report"
    if module in CLI_MODULES:
        return "cli"
    if module == "bnnfpga.api":
        return "api"
    package = module.split(".")[1]
    if package in LAYERS:
        return package
    raise AssertionError(f"{module} belongs to no layer: add it to tests/unit/test_layers.py and docs/DESIGN.md 2")


def allowed(layer: str) -> set[str]:
    """The layers ``layer`` may import: itself and everything below it."""
    seen = {layer}
    todo = list(LAYERS[layer])
    while todo:
        below = todo.pop()
        if below not in seen:
            seen.add(below)
            todo.extend(LAYERS[below])
    return seen


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(module: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported bnnfpga module, line, inside a function) for every import in ``path``."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names if a.name.split(".")[0] == "bnnfpga")
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module or ""
                if source.split(".")[0] == "bnnfpga":
                    for alias in child.names:  # `from bnnfpga.hw import engines` imports a module
                        target = f"{source}.{alias.name}"
                        found.append((target if target in known else source, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, list[tuple[str, int, bool]]]:
    found = modules(root)
    return {m: [i for i in imports(m, p, set(found)) if i[0] != m] for m, p in found.items()}


def upward_imports(graph) -> list[str]:
    return [f"{m}:{line} imports {target} ({layer_of(m)} may not import {layer_of(target)})"
            for m, edges in graph.items() for target, line, _ in edges if layer_of(target) not in allowed(layer_of(m))]


def cycles(graph) -> list[list[str]]:
    """The import cycles (each found once, from its first module in a depth-first walk)."""
    edges = {m: sorted({t for t, _, _ in e if t in graph}) for m, e in graph.items()}
    state: dict[str, int] = {}
    found = []

    def walk(m: str, stack: list[str]) -> None:
        state[m] = 1
        stack.append(m)
        for t in edges[m]:
            if state.get(t) == 1:
                found.append(stack[stack.index(t):] + [t])
            elif not state.get(t):
                walk(t, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if not state.get(m):
            walk(m, [])
    return found


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_every_module_has_a_layer(graph):
    for module in graph:
        assert layer_of(module) in LAYERS


def test_no_import_goes_up_a_layer(graph):
    assert upward_imports(graph) == []


def test_the_import_graph_has_no_cycle(graph):
    assert cycles(graph) == []


def test_no_bnnfpga_import_inside_a_function(graph):
    inside = [f"{m}:{line} imports {t}" for m, edges in graph.items() for t, line, nested in edges if nested]
    assert inside == []


def test_generators_share_no_code_with_the_golden_model_or_the_api(graph):
    """What the issue names explicitly: hw/ and codegen/ never reach golden/ or api, at any
    distance."""
    edges = {m: {t for t, _, _ in e} for m, e in graph.items()}
    for start in (m for m in graph if layer_of(m) in ("hw", "codegen")):
        reached, todo = set(), [start]
        while todo:
            for t in edges.get(todo.pop(), ()):
                if t not in reached:
                    reached.add(t)
                    todo.append(t)
        assert not {t for t in reached if layer_of(t) in ("golden", "api", "frontend", "passes")}, start


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    """The checker itself, on a scratch package: a golden module importing the hardware view
    is upward, and two modules importing each other are a cycle, even inside a function."""
    root = tmp_path / "bnnfpga"
    for name, text in {"__init__.py": "", "golden/__init__.py": "", "hw/__init__.py": "",
                       "golden/kernels.py": "from bnnfpga.hw import layout\n",
                       "hw/layout.py": "from bnnfpga.hw.engines import Mvu\n",
                       "hw/engines.py": "def f():\n    from bnnfpga.hw import layout\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    scratch = import_graph(root)
    assert upward_imports(scratch) == ["bnnfpga.golden.kernels:1 imports bnnfpga.hw.layout (golden may not import hw)"]
    assert cycles(scratch) == [["bnnfpga.hw.layout", "bnnfpga.hw.engines", "bnnfpga.hw.layout"]]
    assert [(t, nested) for t, _, nested in scratch["bnnfpga.hw.engines"]] == [("bnnfpga.hw.layout", True)]
