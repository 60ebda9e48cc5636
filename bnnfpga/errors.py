"""Errors that are the user's to fix: the CLI prints them in one line and exits 2."""


class BnnfpgaError(Exception):
    """A problem with the user's input (model, options, files), not a bug in bnnfpga."""


class ModelError(BnnfpgaError):
    """The ONNX model cannot be read, or holds something bnnfpga does not support.

    The message names the node, its op type and what is supported instead.
    """

    def __init__(self, message: str, node: str | None = None, op: str | None = None):
        where = ""
        if node is not None or op is not None:
            where = f"node {node!r} ({op}): " if node is not None else f"{op}: "
        super().__init__(where + message)
        self.node = node
        self.op = op
