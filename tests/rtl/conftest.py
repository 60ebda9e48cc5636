"""rtl tier: Verilator + cocotb. Skipped, with the reason, when either is missing."""

from __future__ import annotations

import pytest

from bnnfpga.toolchain import ToolMissing, cocotb_available, verilator_environment


def _missing() -> str | None:
    try:
        verilator_environment()
        cocotb_available()
    except ToolMissing as exc:
        return str(exc)
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    if reason is None:
        return
    for item in items:
        if "tests/rtl" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.skip(reason=f"rtl tier skipped: {reason}"))
