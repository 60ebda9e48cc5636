"""HORQ (Li et al. 2017): each input vector of a layer binarized at run time in K = 2 residual
steps (x ≈ β_1·H_1 + β_2·H_2, β_k = mean |R_(k−1)|), ±α weights, on signed 2-bit activations;
the first layer, on pixels, keeps plain ±α weights (as XNOR-Net and HORQ do). bnnfpga computes
the binarization exactly (docs/DESIGN.md 5.3): a residual binarizer in front of an MVU with
two ternary input planes per lane.

    python examples/schemes/horq.py [--epochs 15] [--board pynq-z2]
"""

import functools

from common import Scaled, main
from torch import nn

from bnnfpga.nn import FakeQuant, HORQLinear, XNORLinear

ORDER = 2


def build():
    activation = functools.partial(FakeQuant, 2, 0.5)
    return nn.Sequential(Scaled(), XNORLinear(64, 128), nn.BatchNorm1d(128), activation(),
                         HORQLinear(128, 64, order=ORDER), nn.BatchNorm1d(64), activation(),
                         HORQLinear(64, 10, order=ORDER), nn.BatchNorm1d(10))


if __name__ == "__main__":
    main("horq", build)
