"""TTQ (Zhu et al. 2017): trained ternary weights {−Wn, 0, +Wp} (two scales per layer; the
MVU computes A·P − B·N with integer gains) with 2-bit PACT activations, on digits. The last
layer is TWN: an asymmetric last layer has no integer output (docs/DESIGN.md 3.12).

    python examples/schemes/ttq.py [--epochs 15] [--board pynq-z2]
"""

import functools

from common import main, mlp
from torch import nn

from bnnfpga.nn import PACT, TernaryLinear, TTQLinear


def build():
    model = mlp(TTQLinear, functools.partial(PACT, 2, 3.0))
    last = [i for i, m in enumerate(model) if isinstance(m, TTQLinear)][-1]
    model[last] = TernaryLinear(model[last].in_features, model[last].out_features)
    return nn.Sequential(*model)


if __name__ == "__main__":
    main("ttq", build)
