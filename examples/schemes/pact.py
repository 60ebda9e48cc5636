"""PACT (Choi et al. 2018): 4-bit activations with a learned clipping level α, on 4-bit
symmetric weights per output channel, on digits.

    python examples/schemes/pact.py [--epochs 15] [--board pynq-z2]
"""

import functools

from common import main, mlp

from bnnfpga.nn import PACT, IntLinear


def build():
    return mlp(functools.partial(IntLinear, bits=4), functools.partial(PACT, 4, 3.0))


if __name__ == "__main__":
    main("pact", build)
