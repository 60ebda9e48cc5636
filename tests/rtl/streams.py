"""Helpers for the rtl tier: pack elements into stream words, write ``.mem`` files, write the
vectors file the cocotb stream test reads, and run it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bnnfpga.rtlsim import library_sources, run_cocotb


def hex_file(path, values, bits: int) -> str:
    path.write_text("".join(f"{int(v) & ((1 << bits) - 1):x}\n" for v in values))
    return f'"{path}"'


def pixel_words(values: np.ndarray, bits: int) -> list[int]:
    """(pixels, C) elements → one integer per pixel, channel c at bits [c·bits, (c+1)·bits)."""
    mask = (1 << bits) - 1
    return [sum((int(v) & mask) << (c * bits) for c, v in enumerate(pixel)) for pixel in values]


def run_stream_test(module: str, parameters: dict, inputs: list[int], expected: list[int], tmp_path: Path, seed: int,
                    frame_words: int | None = None, frames_per_last: int = 0) -> None:
    """Stream ``inputs`` through rtl/<module>.sv (random idles and back-pressure) and require
    exactly ``expected`` out (and TLAST every ``frame_words`` words); ``frames_per_last``
    drives the output stage's port of that name."""
    vectors = tmp_path / "vectors.json"
    vectors.write_text(json.dumps({"inputs": inputs, "expected": expected, "output_words": len(expected), "seed": seed,
                                   "frame_words": frame_words, "frames_per_last": frames_per_last}))
    run_cocotb(module, library_sources(), parameters, "test_stream", tmp_path / "build",
               {"BNNFPGA_TB_VECTORS": str(vectors)})
