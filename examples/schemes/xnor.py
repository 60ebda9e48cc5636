"""XNOR-Net (Rastegari et al. 2016): ±α weights, α = mean |w| per output channel (it folds
into the thresholds behind), and sign activations, on digits.

    python examples/schemes/xnor.py [--epochs 15] [--board pynq-z2]
"""

from common import main, mlp

from bnnfpga.nn import BinarySign, XNORLinear


def build():
    return mlp(XNORLinear, BinarySign)


if __name__ == "__main__":
    main("xnor", build)
