"""OUT/deploy/build_vivado.tcl runs to completion in a real Tcl interpreter (tkinter.Tcl) with
the Vivado commands as recording stubs, for every shipped board; `bnnfpga build` without
the vendor tools exits 2 with the commands to run, and with (fake) tools streams and checks
their logs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bnnfpga import api
from bnnfpga.boards import available, load_board
from bnnfpga.cli import main
from bnnfpga.codegen import deploy, hls
from bnnfpga.hw import engines
from bnnfpga.hw.fold import choose_folding
from tests.tcl import run_tcl

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn" / "model.onnx"
GETTERS = ("get_bd_cells", "get_bd_intf_pins", "get_bd_pins", "get_files", "get_runs", "current_project",
           "current_fileset", "get_board_parts")
ACTIONS = ("create_project", "set_property", "update_ip_catalog", "create_bd_design", "create_bd_cell",
           "apply_bd_automation", "connect_bd_intf_net", "validate_bd_design", "save_bd_design", "generate_target",
           "add_files", "launch_runs", "wait_on_run")


def run_vivado_script(script: Path) -> list[list[str]]:
    """Getters return their last argument; get_property says the run finished; make_wrapper
    names a wrapper file."""
    stubs = [f"proc {name} {{args}} {{ lappend ::calls [list {name} {{*}}$args]; return [lindex $args end] }}"
             for name in GETTERS]
    stubs += [f"proc {name} {{args}} {{ lappend ::calls [list {name} {{*}}$args]; return {{}} }}" for name in ACTIONS]
    stubs.append("proc get_property {args} { lappend ::calls [list get_property {*}$args]; return 100% }")
    stubs.append("proc make_wrapper {args} { lappend ::calls [list make_wrapper {*}$args]; return wrapper.v }")
    stubs.append("proc get_board_parts {args} { lappend ::calls [list get_board_parts {*}$args]; return {} }")
    return run_tcl(script, stubs)


@pytest.fixture(scope="module")
def graph():
    return api.load(EXAMPLE)


@pytest.mark.parametrize("name", available())
def test_vivado_script_builds_the_block_design_and_copies_the_overlay(tmp_path, graph, name):
    board = load_board(name)
    hls.generate(graph, tmp_path / "hls", board, choose_folding(graph))
    deploy.generate(graph, tmp_path / "deploy", board)
    overlay = hls.project_name(graph)
    # What an implementation run leaves behind, for the script to copy.
    runs = tmp_path / "deploy" / "vivado" / f"{overlay}.runs" / "impl_1"
    handoff = tmp_path / "deploy" / "vivado" / f"{overlay}.gen" / "sources_1" / "bd" / overlay / "hw_handoff"
    runs.mkdir(parents=True)
    handoff.mkdir(parents=True)
    (runs / f"{overlay}_wrapper.bit").write_bytes(b"bit")
    (handoff / f"{overlay}.hwh").write_text("<hwh/>")

    calls = run_vivado_script(tmp_path / "deploy" / deploy.VIVADO_SCRIPT)
    names = [c[0] for c in calls]
    assert names[0] == "create_project" and calls[-1] == ["exit"]
    project = calls[0]
    assert project[project.index("-part") + 1] == board.part
    cells = {c[c.index("-vlnv") + 1]: c[-1] for c in calls if c[0] == "create_bd_cell"}
    assert cells[f"xilinx.com:ip:{board.ps_ip}"] == "ps" and cells["xilinx.com:ip:axi_dma"] == "dma"
    # The accelerator is the IP run_hls.tcl exports.
    hls_calls = run_tcl(tmp_path / "hls" / "run_hls.tcl")
    export = next(c for c in hls_calls if c[0] == "export_design")
    assert cells[f"bnnfpga:hls:{export[export.index('-ipname') + 1]}:1.0"] == "accelerator"
    settings = " ".join(" ".join(c) for c in calls if c[0] == "set_property")
    # DMA stream widths match the accelerator's ports (HLS top: ap_axiu<64> in, ap_axiu<32> out).
    top = (tmp_path / "hls" / "top.cpp").read_text()
    assert f"ap_axiu<{engines.WORD_BITS}, 0, 0, 0> > &s_axis" in top and f"ap_axiu<{engines.OUTPUT_BITS}, 0, 0, 0> > &m_axis" in top
    assert f"CONFIG.c_m_axis_mm2s_tdata_width {engines.WORD_BITS}" in settings
    assert f"CONFIG.c_s_axis_s2mm_tdata_width {engines.OUTPUT_BITS}" in settings
    clock = "PCW_FPGA0_PERIPHERAL_FREQMHZ" if board.ps == "zynq7000" else "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ"
    assert f"CONFIG.{clock} {board.clock_mhz:g}" in settings
    streams = [c[1:] for c in calls if c[0] == "connect_bd_intf_net"]
    assert ["dma/M_AXIS_MM2S", "accelerator/s_axis"] in streams and ["accelerator/m_axis", "dma/S_AXIS_S2MM"] in streams
    memory = [c for c in calls if c[0] == "apply_bd_automation" and c[-1] in ("dma/M_AXI_MM2S", "dma/M_AXI_S2MM")]
    assert len(memory) == 2 and all(f"Slave /ps/{board.hp_port}" in c[c.index("-config") + 1] for c in memory)
    # The control ports (the DMA's, and the accelerator's frames_per_last register) on the GP master.
    control = [c for c in calls if c[0] == "apply_bd_automation" and c[-1] in ("dma/S_AXI_LITE", "accelerator/s_axi_control")]
    assert len(control) == 2 and all("Master /ps/" in c[c.index("-config") + 1] for c in control)
    assert "#pragma HLS INTERFACE s_axilite port = frames_per_last" in top
    assert "validate_bd_design" in names and names.index("validate_bd_design") < names.index("launch_runs")
    launch = next(c for c in calls if c[0] == "launch_runs")
    assert launch[1] == "impl_1" and "write_bitstream" in launch
    assert (tmp_path / "deploy" / "bitfile" / f"{overlay}.bit").read_bytes() == b"bit"
    assert (tmp_path / "deploy" / "bitfile" / f"{overlay}.hwh").read_text() == "<hwh/>"


def compiled(tmp_path) -> Path:
    out = tmp_path / "out"
    assert main(["compile", str(EXAMPLE), "-o", str(out), "--vectors", "2"]) == 0
    return out


def test_build_without_vendor_tools_exits_2_with_the_commands(tmp_path, capsys, monkeypatch):
    out = compiled(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    capsys.readouterr()
    assert main(["build", str(out)]) == 2
    err = capsys.readouterr().err
    assert "vitis_hls and vivado not found" in err
    assert f"(cd {out / 'hls'} && vitis_hls -f run_hls.tcl)" in err
    assert f"(cd {out / 'deploy'} && vivado -mode batch -source build_vivado.tcl)" in err


def fake_tool(directory: Path, name: str, body: str) -> None:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_build_runs_the_tools_and_reports_the_first_error(tmp_path, capsys, monkeypatch):
    out = compiled(tmp_path)
    tools = tmp_path / "tools"
    fake_tool(tools, "vitis_hls", "echo 'INFO: [HLS 200-10] Running'; echo \"args: $*\"")
    fake_tool(tools, "vivado", "echo 'Phase 1 Placer'; echo 'ERROR: [Place 30-640] design does not fit'; exit 1")
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    capsys.readouterr()
    assert main(["build", str(out)]) == 2
    captured = capsys.readouterr()
    assert "[vitis_hls] INFO: [HLS 200-10] Running" in captured.err and "[vivado] Phase 1 Placer" in captured.err
    assert "vivado failed (exit 1): ERROR: [Place 30-640] design does not fit" in captured.err
    assert "args: -f run_hls.tcl" in (out / "hls" / "vitis_hls.log").read_text()
    fake_tool(tools, "vivado", "echo 'write_bitstream completed'")
    assert main(["build", str(out)]) == 0
