"""Shared fixtures. Tier markers: tests under tests/unit are `unit`, tests/e2e are `e2e`."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        if tier in ("unit", "csim", "rtl", "synth", "e2e"):
            item.add_marker(getattr(pytest.mark, tier))
