"""rtl/bnn_fork.sv, bnn_add.sv and bnn_concat.sv (docs/DESIGN.md 3.15) under random idles on
every input and random back-pressure on every output, parametrised over their HDL parameters;
the expected words come from NumPy here, element by element."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bnnfpga.rtlsim import library_sources, run_cocotb
from tests.rtl.streams import pixel_words

pytestmark = pytest.mark.rtl

PIXELS = 200


def _run(module: str, parameters: dict, sources: dict, sinks: dict, tmp_path: Path, seed: int) -> None:
    vectors = tmp_path / "vectors.json"
    vectors.write_text(json.dumps({"sources": sources, "sinks": sinks, "seed": seed}))
    run_cocotb(module, library_sources(), parameters, "test_joins", tmp_path / "build", {"BNNFPGA_TB_VECTORS": str(vectors)})


def _elements(rng: np.random.Generator, channels: int, bits: int, signed: bool) -> np.ndarray:
    lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    return rng.integers(lo, hi, size=(PIXELS, channels))


@pytest.mark.parametrize("width", [1, 70])
def test_fork_gives_every_beat_to_both_outputs(width, tmp_path):
    rng = np.random.default_rng(width)
    words = [int(v) for v in rng.integers(0, 1 << min(width, 62), size=PIXELS)]
    _run("bnn_fork", {"WIDTH": width}, {"s_axis": words}, {"m0_axis": words, "m1_axis": words}, tmp_path, seed=width)


ADDS = [  # C, (bits, signed, shift) of a and b, OUT_BITS
    (3, (8, True, 2), (10, True, 0), 11),  # a stride-2 block: the branch on the grid of a 2x2 sum
    (5, (2, True, 0), (6, False, 3), 10),  # signed and unsigned, the second input shifted
]


@pytest.mark.parametrize("c, a, b, out_bits", ADDS)
def test_add_sums_shifted_elements(c, a, b, out_bits, tmp_path):
    rng = np.random.default_rng(c * out_bits)
    x, y = _elements(rng, c, a[0], a[1]), _elements(rng, c, b[0], b[1])
    total = x * (1 << a[2]) + y * (1 << b[2])
    params = {"C": c, "A_BITS": a[0], "A_SIGNED": int(a[1]), "SHIFT_A": a[2], "B_BITS": b[0], "B_SIGNED": int(b[1]),
              "SHIFT_B": b[2], "OUT_BITS": out_bits}
    _run("bnn_add", params, {"s0_axis": pixel_words(x, a[0]), "s1_axis": pixel_words(y, b[0])},
         {"m_axis": pixel_words(total, out_bits)}, tmp_path, seed=c)


CONCATS = [  # (C, bits, signed) of a and b, OUT_BITS, bipolar
    ((8, 1, False), (8, 1, False), 1, True),
    ((2, 4, False), (3, 6, True), 7, False),  # widened: unsigned zero-, signed sign-extended
]


@pytest.mark.parametrize("a, b, out_bits, bipolar", CONCATS)
def test_concat_joins_channels_in_order(a, b, out_bits, bipolar, tmp_path):
    rng = np.random.default_rng(a[0] * 10 + b[0])
    x, y = _elements(rng, a[0], a[1], a[2]), _elements(rng, b[0], b[1], b[2])
    params = {"C_A": a[0], "A_BITS": a[1], "A_SIGNED": int(a[2]), "C_B": b[0], "B_BITS": b[1], "B_SIGNED": int(b[2]),
              "IN_BIPOLAR": int(bipolar), "OUT_BITS": out_bits}
    _run("bnn_concat", params, {"s0_axis": pixel_words(x, a[1]), "s1_axis": pixel_words(y, b[1])},
         {"m_axis": pixel_words(np.concatenate([x, y], axis=1), out_bits)}, tmp_path, seed=a[0])
