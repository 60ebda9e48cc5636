"""Board descriptions: boards/*.toml is the only place board facts live."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bnnfpga.data import data_dir
from bnnfpga.errors import BnnfpgaError

RESOURCE_KEYS = ("lut", "ff", "bram36", "dsp")
# The processing systems bnnfpga deploys to, with the Vivado IP of each and its HP slave ports.
PROCESSING_SYSTEMS = {
    "zynq7000": ("processing_system7", ("S_AXI_HP0", "S_AXI_HP1", "S_AXI_HP2", "S_AXI_HP3")),
    "zynq_ultrascale_plus": ("zynq_ultra_ps_e", ("S_AXI_HP0_FPD", "S_AXI_HP1_FPD", "S_AXI_HP2_FPD", "S_AXI_HP3_FPD",
                                                 "S_AXI_HPC0_FPD", "S_AXI_HPC1_FPD")),
}
# Board names and parts end up in Tcl scripts and file names: letters, digits, '.', '_', '-'.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def boards_dir() -> Path:
    return data_dir("boards")


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    part: str
    clock_mhz: float
    resources: dict[str, int]
    ps: str  # a key of PROCESSING_SYSTEMS
    hp_port: str  # the processing system's slave port the DMA writes and reads through
    dma: str  # "axi_dma": MM2S feeds s_axis, S2MM takes m_axis
    pynq: str  # the PYNQ image release that supports the board
    board_part: str = ""  # Vivado board part (board files), when the board has one

    @property
    def ps_ip(self) -> str:
        return PROCESSING_SYSTEMS[self.ps][0]


def available() -> list[str]:
    return sorted(p.stem for p in boards_dir().glob("*.toml"))


def load_board(name_or_path: str) -> Board:
    """A board by name (boards/NAME.toml) or from a path to a custom .toml file."""
    path = Path(name_or_path)
    if not (name_or_path.endswith(".toml") or path.is_file()):
        path = boards_dir() / f"{name_or_path}.toml"
        if not path.is_file():
            raise BnnfpgaError(f"unknown board {name_or_path!r}; available: {', '.join(available())} (or a path to a .toml file)")
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BnnfpgaError(f"board file {path}: {exc}") from None
    return _validate(doc, path)


def _validate(doc: dict, path: Path) -> Board:
    def need(key, kind, table=doc, prefix=""):
        if key not in table:
            raise BnnfpgaError(f"board file {path}: missing key {prefix}{key}")
        value = table[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise BnnfpgaError(f"board file {path}: {prefix}{key} must be {kind.__name__ if isinstance(kind, type) else 'a number'}")
        return value

    resources = need("resources", dict)
    counts = {k: need(k, int, resources, "resources.") for k in RESOURCE_KEYS}
    if any(v < 0 for v in counts.values()):
        raise BnnfpgaError(f"board file {path}: resource counts must be non-negative")
    clock = float(need("clock_mhz", (int, float)))
    if not 1 <= clock <= 1000:
        raise BnnfpgaError(f"board file {path}: clock_mhz must be between 1 and 1000")
    part = need("part", str)
    if not _PLAIN_NAME.fullmatch(part):
        raise BnnfpgaError(f"board file {path}: part {part!r} is not a valid FPGA part name")
    name = need("name", str)
    if not _PLAIN_NAME.fullmatch(name):
        raise BnnfpgaError(f"board file {path}: name {name!r} may hold letters, digits, '.', '_' and '-' only")
    deploy = need("deploy", dict)
    ps = need("ps", str, deploy, "deploy.")
    if ps not in PROCESSING_SYSTEMS:
        raise BnnfpgaError(f"board file {path}: deploy.ps {ps!r} is not one of {', '.join(PROCESSING_SYSTEMS)}")
    hp_port = need("hp_port", str, deploy, "deploy.")
    if hp_port not in PROCESSING_SYSTEMS[ps][1]:
        raise BnnfpgaError(f"board file {path}: deploy.hp_port {hp_port!r} is not an HP port of {ps}: "
                           f"{', '.join(PROCESSING_SYSTEMS[ps][1])}")
    dma = need("dma", str, deploy, "deploy.")
    if dma != "axi_dma":
        raise BnnfpgaError(f"board file {path}: deploy.dma {dma!r}: only 'axi_dma' is supported")
    pynq = need("pynq", str, deploy, "deploy.")
    if not re.fullmatch(r"\d+(\.\d+)*", pynq):
        raise BnnfpgaError(f"board file {path}: deploy.pynq {pynq!r} must be a release number such as 3.0.1")
    board_part = deploy.get("board_part", "")
    if not isinstance(board_part, str) or (board_part and not re.fullmatch(r"[A-Za-z0-9_.:\-]+", board_part)):
        raise BnnfpgaError(f"board file {path}: deploy.board_part {board_part!r} is not a Vivado board part name")
    return Board(
        name=name,
        description=doc.get("description", ""),
        part=part,
        clock_mhz=clock,
        resources=counts,
        ps=ps,
        hp_port=hp_port,
        dma=dma,
        pynq=pynq,
        board_part=board_part,
    )
