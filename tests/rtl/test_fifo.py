"""rtl/bnn_axis_fifo.sv passes every word through once, in order, under idles and back-pressure."""

from __future__ import annotations

import pytest

from bnnfpga.rtlsim import rtl_dir, run_cocotb


@pytest.mark.parametrize("width, depth", [(1, 2), (13, 4), (70, 16)])
def test_fifo_keeps_every_word(width, depth, tmp_path):
    run_cocotb("bnn_axis_fifo", [rtl_dir() / "bnn_axis_fifo.sv"], {"WIDTH": width, "DEPTH": depth},
               "test_passthrough", tmp_path / "build", {"BNNFPGA_TB_SEED": str(width * depth)})
