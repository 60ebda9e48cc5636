"""INQ (Zhou et al. 2017): 5-bit power-of-two weights {0, ±2^n} (8 powers per layer), reached
by the paper's schedule (quantize and freeze 50%, 75%, 87.5%, 100% of the weights, largest
first, retraining the rest), with 4-bit PACT activations, on digits. bnnfpga builds
shift-and-add MVUs: no multiplier, no DSP slice.

    python examples/schemes/inq.py [--bits 5] [--epochs 15] [--board pynq-z2]
"""

import argparse
import functools

from common import main, mlp, train_inq

from bnnfpga.nn import PACT, INQLinear


def build(bits: int = 5):
    return mlp(functools.partial(INQLinear, bits=bits), functools.partial(PACT, 4, 3.0))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--bits", type=int, default=5, choices=(3, 4, 5))
    known, rest = parser.parse_known_args()
    main(f"inq{known.bits}", functools.partial(build, known.bits), train_inq, argv=rest)
