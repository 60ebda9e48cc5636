"""Run a generated Tcl script (run_hls.tcl, build_vivado.tcl) in a real Tcl interpreter
(Python's tkinter.Tcl) with the vendor commands as recording stubs (a helper, not tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

VITIS_COMMANDS = ("open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock",
                  "csim_design", "csynth_design", "cosim_design", "export_design")


def run_tcl(script: Path, stubs: list[str] | None = None) -> list[list[str]]:
    """Source ``script`` in a real Tcl interpreter whose vendor commands are ``stubs`` (Tcl
    procs that append their call to ::calls; by default the Vitis HLS commands)."""
    tkinter = pytest.importorskip("tkinter", reason="Tcl validation needs Python's tkinter")
    tcl = tkinter.Tcl()
    tcl.eval("set ::calls {}")
    for stub in stubs or [f"proc {name} {{args}} {{ lappend ::calls [list {name} {{*}}$args] }}" for name in VITIS_COMMANDS]:
        tcl.eval(stub)
    tcl.eval("catch {rename exit {}}; proc exit {args} { lappend ::calls [list exit] }")
    tcl.eval(f"cd {{{script.parent}}}; source {{{script.name}}}")
    return [list(tcl.splitlist(call)) for call in tcl.splitlist(tcl.eval("set ::calls"))]
