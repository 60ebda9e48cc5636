"""BinaryConnect / BWN (Courbariaux et al. 2015; Rastegari et al. 2016): binary weights (±α per
output channel) with higher-precision activations, here 4-bit PACT levels: ±x adders on the
k-bit engines, on digits.

    python examples/schemes/bwn.py [--epochs 15] [--board pynq-z2]
"""

import functools

from common import main, mlp

from bnnfpga.nn import PACT, XNORLinear


def build():
    return mlp(XNORLinear, functools.partial(PACT, 4, 3.0))


if __name__ == "__main__":
    main("bwn", build)
