"""Errors that are the user's to fix: the CLI prints them in one line and exits 2."""

from __future__ import annotations


class BnnfpgaError(Exception):
    """A problem with the user's input (model, options, files), not a bug in bnnfpga."""


class ModelError(BnnfpgaError):
    """The ONNX model cannot be read, or holds something bnnfpga does not support.

    The message names the node, its op type and what is supported instead.
    """

    def __init__(self, message: str, node: str | None = None, op: str | None = None, opset: int | None = None):
        what = op if opset is None else f"{op}, opset {opset}"
        where = ""
        if node is not None or op is not None:
            where = f"node {node!r} ({what}): " if node is not None else f"{what}: "
        super().__init__(where + message)
        self.message = message
        self.node = node
        self.op = op
        self.opset = opset

    def at_opset(self, opset: int | None) -> ModelError:
        """The same error, naming the opset the node was read at."""
        if opset is None or self.opset is not None or self.op is None:
            return self
        return ModelError(self.message, self.node, self.op, opset)
