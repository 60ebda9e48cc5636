"""BNN (Courbariaux et al. 2016; FINN): ±1 weights and sign activations, on digits.

    python examples/schemes/bnn.py [--epochs 15] [--board pynq-z2]
"""

from common import main, mlp

from bnnfpga.nn import BinaryLinear, BinarySign


def build():
    return mlp(BinaryLinear, BinarySign)


if __name__ == "__main__":
    main("bnn", build)
