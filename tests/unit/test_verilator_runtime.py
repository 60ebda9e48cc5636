"""Verilator's run-time objects are shared between builds only where the build would compile
them with the same command (bnnfpga/verilator_runtime.py), on a stand-in makefile."""

from __future__ import annotations

import os
import shutil

import pytest

from bnnfpga import verilator_runtime

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not found: apt install make")


def build_dir(path, flags: str):
    path.mkdir(parents=True)
    (path / verilator_runtime.MAKEFILE).write_text(
        f"verilated.o verilated_vpi.o: %.o:\n\tc++ {flags} -c -o $@ $*.cpp\n")
    return path


def compiled(path, names=("verilated", "verilated_vpi")):
    for name in names:
        (path / f"{name}.o").write_bytes(name.encode())
        (path / f"{name}.d").write_text(f"{name}.o:\n")


def shared_by_a_first_build(tmp_path):
    """The shared directory a first build (compiled at -Os) leaves."""
    shared = tmp_path / "cache" / "runtime"
    first = build_dir(tmp_path / "first", "-Os")
    compiled(first)
    verilator_runtime.keep(first, shared)
    return shared


def test_objects_shared_and_adopted_when_the_command_is_the_same(tmp_path):
    shared = shared_by_a_first_build(tmp_path)
    assert (shared / "verilated.cmd").read_text() == "c++ -Os -c -o verilated.o verilated.cpp"

    second = build_dir(tmp_path / "second", "-Os")
    assert verilator_runtime.seed(second, shared) == ["verilated", "verilated_vpi"]
    old = (second / "verilated.o").stat().st_mtime
    os.utime(second / verilator_runtime.MAKEFILE)  # verilation rewrites the makefile
    verilator_runtime.adopt(second, ["verilated", "verilated_vpi"])
    assert (second / "verilated.o").read_bytes() == b"verilated"
    assert (second / "verilated.o").stat().st_mtime >= (second / verilator_runtime.MAKEFILE).stat().st_mtime > old - 1
    assert not (second / "verilated.cmd").exists()


def test_objects_dropped_when_the_build_compiles_them_otherwise(tmp_path):
    shared = shared_by_a_first_build(tmp_path)
    other = build_dir(tmp_path / "other", "-O0 -DVM_TRACE=1")
    names = verilator_runtime.seed(other, shared)
    verilator_runtime.adopt(other, names)
    assert not any(other.glob("verilated*.o")) and not any(other.glob("verilated*.d"))


def test_no_seed_into_a_build_that_has_objects_and_no_second_share(tmp_path):
    shared = shared_by_a_first_build(tmp_path)
    again = build_dir(tmp_path / "again", "-O2")
    compiled(again, ["verilated"])
    assert verilator_runtime.seed(again, shared) == []
    verilator_runtime.keep(again, shared)  # already shared: the first build's stay
    assert (shared / "verilated.cmd").read_text().startswith("c++ -Os")
