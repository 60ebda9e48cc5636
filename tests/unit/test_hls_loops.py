"""The generated HLS MVU pipelines one flat loop (docs/DESIGN.md 4.4): a pipelined loop inside
a loop that is neither unrolled nor pipelined drains at every outer iteration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bnnfpga import api
from bnnfpga.boards import load_board
from bnnfpga.codegen import hls
from bnnfpga.hw.fold import choose_folding

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn" / "model.onnx"


def draining_loops(source: str) -> list[tuple[int, int]]:
    """(line of a pipelined loop, line of an enclosing loop that is neither unrolled nor
    pipelined) for C++ ``source`` whose loop pragmas follow the loop's opening line."""
    open_loops: list[dict] = []  # {"line", "depth", "pragma"}, innermost last
    depth = 0
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        code = line.split("//")[0]
        if re.match(r"\s*for\s*\(", code):
            open_loops.append({"line": number, "depth": depth, "pragma": None})
        pragma = re.match(r"\s*#pragma HLS (PIPELINE|UNROLL)\b", line)
        if pragma and open_loops and open_loops[-1]["pragma"] is None:
            open_loops[-1]["pragma"] = pragma.group(1)
            if pragma.group(1) == "PIPELINE":
                found += [(number, outer["line"]) for outer in open_loops[:-1] if outer["pragma"] is None]
        depth += code.count("{") - code.count("}")
        while open_loops and depth <= open_loops[-1]["depth"] and open_loops[-1]["line"] != number:
            open_loops.pop()
    return found


def test_parser_finds_a_nested_pipelined_loop():
    nested = "for (a) {\n    for (b) {\n#pragma HLS PIPELINE II = 1\n    }\n}\n"
    flat = "for (a) {\n#pragma HLS PIPELINE II = 1\n    for (b) {\n#pragma HLS UNROLL\n    }\n}\n"
    assert draining_loops(nested) == [(3, 1)]
    assert draining_loops(flat) == []


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    graph = api.load(EXAMPLE)
    out = tmp_path_factory.mktemp("design") / "hls"
    hls.generate(graph, out, load_board("pynq-z2"), choose_folding(graph))
    return out


def test_generated_mvu_is_one_pipelined_loop(generated):
    source = (generated / "bnnfpga_mvu.hpp").read_text()
    body = source[source.index("void mvu(") :]
    assert draining_loops(body) == []
    assert len(re.findall(r"#pragma HLS PIPELINE II = 1", body)) == 1
