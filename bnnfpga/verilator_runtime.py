"""Verilator's run-time library, compiled once and shared by every build.

Each Verilator build compiles the same run-time sources (verilated.cpp, verilated_vpi.cpp,
verilated_threads.cpp, verilated_dpi.cpp) with the same flags: about 15 s of g++ per design,
more than most designs' own code. The first build leaves its objects, with make's dependency
files and the exact command that compiled each, in a shared directory; later builds start
from copies. verilated.mk makes the objects depend on the generated makefile, which every
verilation rewrites, so a step between verilation and make (``adopt``) keeps a copy only where
this build would compile it with the same command, and dates it after the makefile.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

# The run-time library's objects as verilated.mk names them (VM_GLOBAL_FAST/SLOW); a design that
# does not use one simply has no such file.
OBJECTS = ("verilated", "verilated_vpi", "verilated_threads", "verilated_dpi", "verilated_timing")
MAKEFILE = "Vtop.mk"  # the cocotb runner verilates with --prefix Vtop


def shared_dir(cache: Path, environment: Mapping[str, str]) -> Path:
    """The shared objects of one Verilator installation: its verilated.mk and the make and
    compiler variables of the environment (the commands are compared per build as well)."""
    root = environment.get("VERILATOR_ROOT", "")
    makefile = Path(root) / "include" / "verilated.mk"
    digest = hashlib.sha256(makefile.read_bytes() if makefile.is_file() else b"")
    for name in ("VERILATOR_ROOT", "MAKEFLAGS", "CXX", "CXXFLAGS", "CPPFLAGS"):
        digest.update(f"{name}={environment.get(name, os.environ.get(name, ''))}\n".encode())
    return cache / "verilator-runtime" / digest.hexdigest()[:24]


def compile_command(build_dir: Path, name: str) -> str:
    """The command with which this build's makefile compiles run-time object ``name``."""
    proc = subprocess.run(["make", "-n", "-B", "-s", "-f", MAKEFILE, f"{name}.o"], cwd=build_dir,
                          capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def seed(build_dir: Path, shared: Path) -> list[str]:
    """Copy the shared objects into a build directory that has none; returns their names."""
    if not shared.is_dir() or any((build_dir / f"{name}.o").exists() for name in OBJECTS):
        return []
    names = [name for name in OBJECTS if (shared / f"{name}.o").is_file() and (shared / f"{name}.cmd").is_file()]
    for name in names:
        for suffix in (".o", ".d", ".cmd"):
            if (shared / f"{name}{suffix}").is_file():
                shutil.copy2(shared / f"{name}{suffix}", build_dir / f"{name}{suffix}")
    return names


def adopt(build_dir: Path, names: Sequence[str]) -> None:
    """After verilation, before make: keep a seeded object (dated now, after the makefile) only
    if this build compiles it with the command that made it; remove it otherwise."""
    for name in names:
        recorded = build_dir / f"{name}.cmd"
        same = recorded.is_file() and recorded.read_text() == compile_command(build_dir, name)
        for suffix in (".o", ".d"):
            path = build_dir / f"{name}{suffix}"
            if same and path.exists():
                os.utime(path)
            else:
                path.unlink(missing_ok=True)
        recorded.unlink(missing_ok=True)


def adopt_command(build_dir: Path, names: Sequence[str]) -> list[str]:
    """``adopt`` as a command, for the build's command list between verilation and make."""
    return [sys.executable, str(Path(__file__).resolve()), str(build_dir), *names]  # stdlib only: runs as a script


def keep(build_dir: Path, shared: Path) -> None:
    """After a successful build, share its run-time objects and their commands unless they are
    shared already (staged in a temporary directory and renamed: all or nothing)."""
    names = [name for name in OBJECTS if (build_dir / f"{name}.o").is_file()]
    if shared.is_dir() or not names:
        return
    shared.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=shared.parent))
    for name in names:
        command = compile_command(build_dir, name)
        if not command:
            shutil.rmtree(staging, ignore_errors=True)
            return
        (staging / f"{name}.cmd").write_text(command)
        for suffix in (".o", ".d"):
            if (build_dir / f"{name}{suffix}").is_file():
                shutil.copy2(build_dir / f"{name}{suffix}", staging / f"{name}{suffix}")
    try:
        staging.rename(shared)
    except OSError:  # another build shared them first
        shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    adopt(Path(sys.argv[1]), sys.argv[2:])
