"""HWGQ (Cai et al. 2017): binary weights (±α) and 2-bit half-wave Gaussian activations (a
ReLU onto the levels of the step fitted to a unit Gaussian), on digits.

    python examples/schemes/hwgq.py [--epochs 15] [--board pynq-z2]
"""

import functools

from common import main, mlp

from bnnfpga.nn import HWGQ, XNORLinear


def build():
    return mlp(XNORLinear, functools.partial(HWGQ, 2))


if __name__ == "__main__":
    main("hwgq", build)
