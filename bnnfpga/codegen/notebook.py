"""The deployment notebook (OUT/deploy/bnnfpga_demo.ipynb), written with nbformat.

It runs unchanged on the board (backend "pynq") and off it: the environment variable
BNNFPGA_BACKEND selects "golden" or "rtl" (CI runs it that way through nbclient).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import v4

from bnnfpga.boards import Board
from bnnfpga.codegen.templates import comment_text

SETUP = '''\
import os
import sys

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, "driver")
from bnnfpga_driver import Accelerator

# "pynq" on the board; "golden" (NumPy) or "rtl" (Verilator) where bnnfpga is installed.
BACKEND = os.environ.get("BNNFPGA_BACKEND", "pynq")
accel = Accelerator(backend=BACKEND)
print(f"backend {BACKEND}: model {accel.config['model']}, input {accel.input_shape}, "
      f"{accel.in_words} words in and {accel.out_words} out per frame")'''

CHECK = '''\
images = np.load("samples/images.npy")
golden_logits = np.load("samples/golden_logits.npy")
labels = np.load("samples/labels.npy") if os.path.exists("samples/labels.npy") else None
logits = accel.run(images)
assert np.array_equal(logits, golden_logits), "the accelerator disagrees with the golden model"
predicted = logits.reshape(len(images), -1).argmax(1)
summary = f"{len(images)} frames, every logit equal to the golden model's"
if labels is not None:
    summary += f"; {np.mean(predicted == labels):.1%} top-1 correct"
print(summary)'''

FIGURE = '''\
def picture(frame):
    """A frame as something imshow can draw: gray (1 channel), RGB (3), or a strip."""
    if frame.ndim == 3 and frame.shape[0] == 1:
        return frame[0]
    if frame.ndim == 3 and frame.shape[0] == 3:
        rgb = np.moveaxis(frame, 0, -1).astype(float)
        return (rgb - rgb.min()) / max(np.ptp(rgb), 1)
    return frame.reshape(1, -1) if frame.ndim == 1 else frame[0]


shown = min(8, len(images))
fig, axes = plt.subplots(1, shown, figsize=(1.8 * shown, 2.2), squeeze=False)
for i, ax in enumerate(axes[0]):
    ax.imshow(picture(images[i]), cmap="gray", aspect="auto")
    ax.set_title(f"pred {predicted[i]}" + (f"\\ntrue {labels[i]}" if labels is not None else ""), fontsize=9)
    ax.axis("off")
fig.tight_layout()
fig.savefig("samples.png", dpi=100)
plt.show()'''

SPEED = '''\
frames = int(os.environ.get("BNNFPGA_FRAMES", "1000" if BACKEND == "pynq" else "16"))
result = accel.throughput(frames)
modelled = accel.config["clock_mhz"] * 1e6 / accel.config["cycles_per_frame"]
print(f"{result['fps']:,.0f} frames/s over {frames} frames, one frame in {result['latency_s'] * 1e3:.2f} ms "
      f"({BACKEND}); the hardware's cycle model: {modelled:,.0f} frames/s at {accel.config['clock_mhz']:g} MHz")
fig, (ax_fps, ax_lat) = plt.subplots(1, 2, figsize=(8, 3))
ax_fps.bar(["measured", "hardware model"], [result["fps"], modelled], color=["tab:blue", "tab:gray"])
ax_fps.set_yscale("log")
ax_fps.set_ylabel("frames/s")
ax_lat.bar(["one frame"], [result["latency_s"] * 1e3])
ax_lat.set_ylabel("latency (ms)")
fig.suptitle(f"{accel.config['model']} on {BACKEND}")
fig.tight_layout()
fig.savefig("throughput.png", dpi=100)
plt.show()'''


def write(path: Path, model_name: str, board: Board) -> None:
    title = comment_text(model_name).replace("#", "")
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        v4.new_markdown_cell(
            f"# bnnfpga accelerator: {title} on {board.name}\n\n"
            f"Copy this folder to the board ({board.description}, PYNQ {board.pynq}) with `bitfile/` built by "
            "`bnnfpga build`, open this notebook in the board's Jupyter and run all cells. Off the board, set "
            "`BNNFPGA_BACKEND=golden` (or `rtl`) to run the same cells on bnnfpga's golden model (or the RTL "
            "in Verilator)."),
        v4.new_code_cell(SETUP),
        v4.new_markdown_cell("## The sample frames, checked against the golden model"),
        v4.new_code_cell(CHECK),
        v4.new_code_cell(FIGURE),
        v4.new_markdown_cell("## Frames per second and latency"),
        v4.new_code_cell(SPEED),
    ]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"  # deterministic (nbformat would draw random ids)
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n")
