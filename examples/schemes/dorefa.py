"""DoReFa-Net (Zhou et al. 2016): 2-bit weights 2·quantize(tanh(w)/2max|tanh w| + ½) − 1 and
2-bit activations on [0, 1], on digits.

    python examples/schemes/dorefa.py [--epochs 15] [--board pynq-z2]
"""

import functools

from common import main, mlp

from bnnfpga.nn import DoReFaActivation, DoReFaLinear


def build():
    return mlp(functools.partial(DoReFaLinear, bits=2), functools.partial(DoReFaActivation, 2))


if __name__ == "__main__":
    main("dorefa", build)
