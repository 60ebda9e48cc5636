"""The golden model: the NumPy reference every backend is compared with."""

from bnnfpga.golden.executor import execute, predict

__all__ = ["execute", "predict"]
