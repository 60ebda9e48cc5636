"""`bnnfpga build OUT/`: run Vitis HLS and Vivado on a compile output, streaming their logs,
or say which tool is missing and the exact commands to run where it is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bnnfpga.codegen.deploy import build_commands
from bnnfpga.errors import BnnfpgaError
from bnnfpga.toolchain import ToolMissing


def check(out_dir: Path) -> list[tuple[str, list[str], Path]]:
    steps = build_commands(out_dir)
    for _, command, cwd in steps:
        if not (cwd / command[-1]).is_file():
            raise BnnfpgaError(f"{out_dir} has no {cwd.name}/{command[-1]}: compile the model with `bnnfpga compile` first")
    missing = [tool for tool, _, _ in steps if shutil.which(tool) is None]
    if missing:
        lines = "\n".join(f"  (cd {cwd} && {' '.join(command)})" for _, command, cwd in steps)
        raise ToolMissing(f"{' and '.join(missing)} not found on PATH. On a machine with Vitis HLS and Vivado "
                          f"(2022.2 or later) installed, run:\n{lines}\n"
                          f"then copy {out_dir / 'deploy'} to the board.")
    return steps


def run(out_dir: Path, progress=None) -> Path:
    """Run every build step, echoing the logs' progress lines to ``progress`` (default
    stderr); returns the bitfile directory. A step that fails raises with the first ERROR
    line of its log."""
    out_dir = Path(out_dir)
    progress = progress or sys.stderr
    for tool, command, cwd in check(out_dir):
        log = cwd / f"{tool}.log"
        first_error = None
        print(f"[{tool}] {' '.join(command)} (log: {log})", file=progress, flush=True)
        with open(log, "w") as f, subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                   text=True, errors="replace") as proc:
            for line in proc.stdout:
                f.write(line)
                if line.startswith(("ERROR:", "CRITICAL WARNING:")) or line.startswith("INFO: [") or "Phase" in line:
                    print(f"[{tool}] {line.rstrip()}", file=progress, flush=True)
                if first_error is None and line.startswith("ERROR:"):
                    first_error = line.strip()
        if proc.returncode != 0 or first_error:
            raise BnnfpgaError(f"{tool} failed (exit {proc.returncode}): {first_error or 'see the log'}; log: {log}")
    return out_dir / "deploy" / "bitfile"
