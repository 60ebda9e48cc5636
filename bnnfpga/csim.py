"""C simulation of a generated HLS project with g++ (ap_types from the hls4ml wheel).

Binaries are cached by a hash of every source file and the compiler command, so running
the same project twice compiles once. The cache lives in $BNNFPGA_CACHE, or in
~/.cache/bnnfpga.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bnnfpga.codegen import hls
from bnnfpga.errors import BnnfpgaError
from bnnfpga.toolchain import ap_types_dir, cache_root, gxx

# HLS pragmas are for Vitis HLS; g++ would warn about each of them. -O1 rather than -O2: a
# project builds 20% faster (8.3 → 6.6 s for the digits CNN) and simulates 1.2× slower, and
# C simulations are built more often than they run long.
CXXFLAGS = ("-O1", "-std=c++14", "-Wall", "-Wextra", "-Wno-unknown-pragmas")


def cache_dir() -> Path:
    return cache_root() / "csim"


def compile_command(hls_dir: Path, output: Path) -> list[str]:
    return [gxx(), *CXXFLAGS, "-isystem", str(ap_types_dir()), "-I", str(hls_dir),
            str(hls_dir / "testbench.cpp"), str(hls_dir / "top.cpp"), "-o", str(output)]


def source_hash(hls_dir: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in hls_dir.rglob("*") if p.suffix in (".cpp", ".hpp", ".h")):
        h.update(str(path.relative_to(hls_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(" ".join(CXXFLAGS).encode())
    h.update(str(ap_types_dir()).encode())  # a different ap_types install is a different build
    h.update(subprocess.run([gxx(), "--version"], capture_output=True, text=True).stdout.encode())
    return h.hexdigest()[:24]


def build(hls_dir: Path) -> tuple[Path, str]:
    """Compile the project's testbench (or reuse the cached binary); returns (binary, compiler output)."""
    binary = cache_dir() / source_hash(hls_dir) / "testbench"
    if binary.is_file():
        return binary, ""
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(f".testbench.{os.getpid()}")
    proc = subprocess.run(compile_command(hls_dir, tmp), capture_output=True, text=True)
    if proc.returncode != 0:
        raise BnnfpgaError(f"g++ failed to compile the HLS project in {hls_dir}:\n{proc.stderr[-4000:]}")
    os.replace(tmp, binary)  # atomic: a concurrent build never sees half a binary
    return binary, proc.stderr


def run(binary: Path, input_words: np.ndarray, expected: np.ndarray | None = None, frames_per_last: int = 1) -> np.ndarray:
    """Stream ``input_words`` (uint64, whole frames) through the testbench; returns the
    int32 output words. With ``expected``, the testbench compares every word itself; TLAST
    must end every ``frames_per_last`` frames (the top's register of that name)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in.hex").write_text("".join(f"{int(w):016x}\n" for w in input_words.reshape(-1)))
        args = [str(binary), str(tmp / "in.hex"), str(tmp / "out.hex")]
        if expected is not None:
            (tmp / "expected.hex").write_text("".join(f"{int(v) & 0xFFFFFFFF:08x}\n" for v in expected.reshape(-1)))
            args.append(str(tmp / "expected.hex"))
        proc = subprocess.run(args, capture_output=True, text=True,
                              env={**os.environ, "BNNFPGA_FRAMES_PER_LAST": str(frames_per_last)})
        if proc.returncode != 0:
            raise BnnfpgaError(f"C simulation failed: {proc.stdout.strip()} {proc.stderr.strip()[-2000:]}")
        text = (tmp / "out.hex").read_text().split()
    return np.array([int(v, 16) for v in text], dtype=np.uint32).view(np.int32)


def run_generated(graph, words: np.ndarray, folding, board) -> np.ndarray:
    """Generate the HLS project for ``graph``, build it (cached) and stream the input
    ``words`` (N, words per frame) through it; returns the int32 output words."""
    with tempfile.TemporaryDirectory() as tmp:
        hls.generate(graph, Path(tmp) / "hls", board, folding)
        binary, _ = build(Path(tmp) / "hls")
    return run(binary, words)
