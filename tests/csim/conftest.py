"""csim tier: g++ C simulation of generated HLS projects. Skipped, with the reason, when g++
or the ap_types headers (pip install hls4ml) are missing."""

from __future__ import annotations

import pytest

from bnnfpga.toolchain import ToolMissing, ap_types_dir, gxx


def _missing() -> str | None:
    try:
        gxx()
        ap_types_dir()
    except ToolMissing as exc:
        return str(exc)
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    if reason is None:
        return
    for item in items:
        if "tests/csim" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.skip(reason=f"csim tier skipped: {reason}"))
