"""TWN (Li & Liu 2016): ternary weights {−α, 0, +α} per output channel with 2-bit PACT
activations, on digits.

    python examples/schemes/twn.py [--epochs 15] [--board pynq-z2]
"""

import functools

from common import main, mlp

from bnnfpga.nn import PACT, TernaryLinear


def build():
    return mlp(TernaryLinear, functools.partial(PACT, 2, 3.0))


if __name__ == "__main__":
    main("twn", build)
