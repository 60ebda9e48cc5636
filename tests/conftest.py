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


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """exported(network, mode) → path of the ONNX file (mode: 'legacy' or 'dynamo'), once per session."""
    from tests.models import export_network

    cache = {}

    def get(network: str, mode: str):
        if (network, mode) not in cache:
            cache[network, mode] = export_network(network, mode, tmp_path_factory.mktemp(f"{network}_{mode}"))
        return cache[network, mode]

    return get
