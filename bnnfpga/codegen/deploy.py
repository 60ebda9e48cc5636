"""OUT/deploy/: build_vivado.tcl, the Vivado batch script that turns the HLS accelerator IP
into a bitstream for the board (block design with the processing system, an AXI DMA and the
accelerator); the commands `bnnfpga build` runs; the PYNQ driver (driver/), sample frames
with the golden model's answers (samples/) and the demo notebook.

The processing-system configuration names below are Vivado's (processing_system7 and
zynq_ultra_ps_e IP); which PS and HP port a board uses comes from boards/*.toml.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bnnfpga.boards import Board
from bnnfpga.codegen import notebook
from bnnfpga.codegen.hls import project_name
from bnnfpga.codegen.templates import environment, header
from bnnfpga.data import data_dir
from bnnfpga.hw import engines
from bnnfpga.hw.host import accumulator_tensor, host_nodes
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import OutputAffine

VIVADO_SCRIPT = "build_vivado.tcl"
NOTEBOOK = "bnnfpga_demo.ipynb"
HLS_SCRIPT = "run_hls.tcl"


@dataclass(frozen=True)
class _PsConfig:
    gp_port: str  # the general-purpose master that reaches the DMA's control registers
    fabric_clock: str  # the PS clock output that drives the fabric

    def config(self, board: Board) -> list[str]:
        raise NotImplementedError


class _Zynq7000(_PsConfig):
    def config(self, board: Board) -> list[str]:
        port = board.hp_port.removeprefix("S_AXI_")  # HP0
        return [f"CONFIG.PCW_USE_S_AXI_{port} {{1}}", f"CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {{{board.clock_mhz:g}}}"]


class _ZynqUltraScalePlus(_PsConfig):
    # zynq_ultra_ps_e names its slave ports S_AXI_GPn in configuration: HPC0/1 are GP0/1, HP0-3 are GP2-5.
    SLAVE_GP = {"S_AXI_HPC0_FPD": 0, "S_AXI_HPC1_FPD": 1, "S_AXI_HP0_FPD": 2, "S_AXI_HP1_FPD": 3,
                "S_AXI_HP2_FPD": 4, "S_AXI_HP3_FPD": 5}

    def config(self, board: Board) -> list[str]:
        return ["CONFIG.PSU__USE__M_AXI_GP0 {1}", f"CONFIG.PSU__USE__S_AXI_GP{self.SLAVE_GP[board.hp_port]} {{1}}",
                f"CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ {{{board.clock_mhz:g}}}"]


PS_CONFIGS = {"zynq7000": _Zynq7000("M_AXI_GP0", "FCLK_CLK0"),
              "zynq_ultrascale_plus": _ZynqUltraScalePlus("M_AXI_HPM0_FPD", "pl_clk0")}


def generate(graph: Graph, out_dir: Path, board: Board) -> None:
    """Write OUT/deploy/ (created): build_vivado.tcl."""
    ps = PS_CONFIGS[board.ps]
    out_dir.mkdir(parents=True)
    (out_dir / "bitfile").mkdir()
    env = environment(data_dir("deploy_templates"))
    (out_dir / VIVADO_SCRIPT).write_text(env.get_template("build_vivado.tcl.j2").render(
        header=header(graph.model_name), board=board.name, part=board.part, board_part=board.board_part,
        ps_ip=board.ps_ip, ps_config=ps.config(board), gp_port=ps.gp_port, fabric_clock=ps.fabric_clock,
        hp_port=board.hp_port, clock_mhz=f"{board.clock_mhz:g}", hls_project=project_name(graph),
        overlay=project_name(graph), in_width=engines.WORD_BITS, out_width=engines.OUTPUT_BITS))


def build_commands(out_dir: Path) -> list[tuple[str, list[str], Path]]:
    """(tool, command, working directory) of each build step, in order."""
    return [("vitis_hls", ["vitis_hls", "-f", HLS_SCRIPT], out_dir / "hls"),
            ("vivado", ["vivado", "-mode", "batch", "-source", VIVADO_SCRIPT], out_dir / "deploy")]


def driver_config(graph: Graph, board: Board, design: dict) -> dict:
    """accelerator.json: what the driver needs to pack, unpack and finish the computation;
    ``design`` is the RTL design summary (words per frame, cycle model)."""
    t = graph.input_type
    acc_shape = graph.types()[accumulator_tensor(graph)].shape
    host = []
    for node in host_nodes(graph):
        if isinstance(node.op, OutputAffine):
            host.append({"op": "affine", "scale": [float(v) for v in node.op.scale], "bias": [float(v) for v in node.op.bias]})
        else:
            host.append({"op": "reshape", "shape": list(node.op.shape)})
    if graph.head is not None:
        host.append({"op": "head", **graph.head.to_json()})
    return {"model": graph.model_name, "board": board.name, "overlay": project_name(graph),
            "input": {"shape": list(t.shape), "kind": t.dtype.kind, "bits": t.dtype.bits, "min": t.dtype.min, "max": t.dtype.max},
            "in_words": design["in_words"], "out_words": design["out_words"],
            "output": {"shape": list(acc_shape)}, "host": host,
            "input_quantizer": None if graph.input_quantizer is None else graph.input_quantizer.to_json(),
            "clock_mhz": board.clock_mhz, "cycles_per_frame": design["cycles_per_frame"]}


def write_driver(graph: Graph, out_dir: Path, board: Board, design: dict, samples: np.ndarray,
                 golden_logits: np.ndarray, labels: np.ndarray | None) -> None:
    """OUT/deploy/driver/ (the driver, accelerator.json, ir.json for the golden backend),
    samples/ (frames, the golden model's logits, labels when known) and the notebook."""
    driver = out_dir / "driver"
    driver.mkdir()
    shutil.copyfile(data_dir("deploy_templates") / "bnnfpga_driver.py", driver / "bnnfpga_driver.py")
    (driver / "accelerator.json").write_text(json.dumps(driver_config(graph, board, design), indent=1) + "\n")
    (driver / "ir.json").write_text(graph.to_json())
    arrays = {"images": samples, "golden_logits": golden_logits}
    if labels is not None:
        arrays["labels"] = labels
    (out_dir / "samples").mkdir()
    for name, values in arrays.items():  # .npy files: byte-identical from run to run (a .npz is not)
        np.save(out_dir / "samples" / f"{name}.npy", values, allow_pickle=False)
    notebook.write(out_dir / NOTEBOOK, graph.model_name, board)
