"""ABC-Net (Lin et al. 2017): weights as M = 3 scaled binary bases (least-squares α per
layer), activations as N = 2 shifted binary bases with fixed β = 1 : ½ (trained shifts), on
digits. The activation bases become a 3-threshold quantizer of the layer in front; the weight
bases one MVU with three ±1 planes per lane and integer gains per row (docs/DESIGN.md 5.2).

    python examples/schemes/abc_net.py [--epochs 15] [--board pynq-z2]
"""

import functools

from common import main, mlp

from bnnfpga.nn import ABCActivation, ABCLinear


def build():
    return mlp(functools.partial(ABCLinear, bases=3), functools.partial(ABCActivation, (1.0, 0.5)))


if __name__ == "__main__":
    main("abc", build)
