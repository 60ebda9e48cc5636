"""The test suite's own layout: no test module imports another test module (shared builders
live in the helper modules tests/graphs.py, models.py, onnx_graphs.py, tcl.py, rtl/streams.py
or in a conftest fixture), so each test file stands alone and can be moved or deleted."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def all_test_modules() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def _module_path(dotted: str) -> Path:
    return ROOT.joinpath(*dotted.split(".")).with_suffix(".py")


def _package(path: Path) -> list[str]:
    return list(path.relative_to(ROOT).with_suffix("").parts[:-1])


def imported_modules(source: str, path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every module an ``import`` or ``from … import`` statement
    anywhere in ``source`` (module level, functions, classes, conditionals) may load: for
    ``from a.b import c`` both ``a.b`` and ``a.b.c``; relative imports resolved against
    ``path``'s package."""
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package(path)
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names if alias.name != "*"]
    return found


def imports_of_test_modules(path: Path, source: str | None = None) -> list[str]:
    """'file:line imports module' for every test module ``path`` imports (``source``
    defaults to the file's text)."""
    source = path.read_text() if source is None else source
    bad = []
    for line, module in imported_modules(source, path):
        target = _module_path(module)
        if target.name.startswith("test_") and target.is_relative_to(TESTS) and target.exists():
            bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


def test_no_test_module_imports_another_test_module():
    modules = all_test_modules()
    assert len(modules) > 30, f"only {len(modules)} test modules found under {TESTS}: is the walk broken?"
    bad = [b for path in modules for b in imports_of_test_modules(path)]
    assert not bad, ("test modules import other test modules; move the shared code into a helper module "
                     "(tests/graphs.py, models.py, onnx_graphs.py, tcl.py, rtl/streams.py) or a conftest fixture:\n"
                     + "\n".join(bad))


@pytest.mark.parametrize("source, found", [
    ("from tests.e2e.test_sign import SignNet", True),
    ("def f():\n    if True:\n        from tests.csim.test_hls import conv_net", True),
    ("class A:\n    def f(self):\n        import tests.unit.test_hls_script as t", True),
    ("from tests.rtl import test_stages", True),
    ("from .test_stages import pixel_words", True),
    ("from . import test_stages", True),
    ("from ..e2e.test_deploy import out", True),
    ("from tests.rtl.streams import pixel_words", False),
    ("from tests.graphs import conv_net\nimport tests.models", False),
    ("from tests.rtl.test_nonexistent import x", False),  # not a file: not a test module
    ("import numpy as np\nfrom bnnfpga.ir import ops", False),
])
def test_the_check_sees_imports_at_any_depth(source, found):
    """The detector itself, on sources written as if they were tests/rtl/test_example.py."""
    assert bool(imports_of_test_modules(TESTS / "rtl" / "test_example.py", source)) == found
