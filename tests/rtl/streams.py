"""Helpers for the rtl tier: write the vectors file the cocotb stream test reads, and run it."""

from __future__ import annotations

import json
from pathlib import Path

from bnnfpga.rtlsim import rtl_dir, run_cocotb


def run_stream_test(module: str, parameters: dict, inputs: list[int], expected: list[int], tmp_path: Path, seed: int) -> None:
    """Stream ``inputs`` through rtl/<module>.sv (random idles and back-pressure) and require
    exactly ``expected`` out."""
    vectors = tmp_path / "vectors.json"
    vectors.write_text(json.dumps({"inputs": inputs, "expected": expected, "seed": seed}))
    run_cocotb(module, [rtl_dir() / f"{module}.sv"], parameters, "test_stream", tmp_path / "build",
               {"BNNFPGA_TB_VECTORS": str(vectors)})
