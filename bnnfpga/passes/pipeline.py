"""The compiler's stages in order. The IR is verified after each one."""

from __future__ import annotations

from collections.abc import Callable

from bnnfpga.ir.graph import Graph
from bnnfpga.ir.verify import verify, verify_folded
from bnnfpga.passes.absorb_input_affine import AbsorbInputAffine
from bnnfpga.passes.accumulator_widths import AccumulatorWidths
from bnnfpga.passes.affine_behind_shared_pool import AffineBehindSharedPool
from bnnfpga.passes.affine_behind_sum_pool import AffineBehindSumPool
from bnnfpga.passes.affines_behind_concat import AffinesBehindConcat
from bnnfpga.passes.align_add_grids import AlignAddGrids
from bnnfpga.passes.base import Pass, Sweep
from bnnfpga.passes.bound_quantizers import BoundQuantizers
from bnnfpga.passes.extract_integer_weights import ExtractIntegerWeights
from bnnfpga.passes.fold_piecewise import FoldPiecewise
from bnnfpga.passes.fold_thresholds import FoldThresholds
from bnnfpga.passes.host_output_affine import HostOutputAffine
from bnnfpga.passes.integer_base_gains import IntegerBaseGains
from bnnfpga.passes.merge_affines import MergeAffines
from bnnfpga.passes.merge_weight_bases import MergeWeightBases
from bnnfpga.passes.name_tensors import NameTensorsAfterNodes
from bnnfpga.passes.pool_after_threshold import PoolAfterThreshold
from bnnfpga.passes.residual_gain_shift import ResidualGainShift
from bnnfpga.passes.sink_reshape import SinkReshape
from bnnfpga.passes.sum_of_signs import SumOfSignsAsThresholds
from bnnfpga.passes.unshare_affines import UnshareAffines


def stages() -> list[Pass]:
    """Frontend output (float-level IR) → folded IR (integer ops + host affine)."""
    return [
        SumOfSignsAsThresholds(),  # Σ β_j·sign(x + v_j) (ABC-Net's activation bases): one multi-threshold
        ExtractIntegerWeights(),  # W = s·Q: ±1, ternary or k-bit weights, scale s into an affine
        UnshareAffines(),  # a dequantisation read by a block and its shortcut: one copy each
        AffineBehindSumPool(),  # average pools sum the integer levels; the dequantisation follows
        MergeAffines(),  # input normalisation chains, batchnorm after scale
        BoundQuantizers(),  # Clip → Mul → Round: the levels of a PACT/DoReFa quantizer
        # joins of branches on integer levels, the dequantisations behind them: a shortcut's
        # add on one grid, a concat, a max-pool that several branches read
        Sweep("DequantiseBehindJoins", AffineBehindSumPool(), MergeAffines(), AlignAddGrids(), AffinesBehindConcat(),
              AffineBehindSharedPool()),
        SinkReshape(),  # a flatten moves down to the dense layer it feeds
        AbsorbInputAffine(),  # affines in front of a dot product move behind it
        PoolAfterThreshold(),  # max-pool moves behind affine and binarisation (OR/AND)
        MergeAffines(),
        # scaled binary dot products of one input, summed (ABC-Net's weight bases): one dot product
        Sweep("MergeWeightBases", MergeAffines(), MergeWeightBases()),
        IntegerBaseGains(),  # the bases' gains on one integer grid per layer
        MergeAffines(),
        AccumulatorWidths(),  # prove per-row accumulator ranges
        FoldPiecewise(),  # affines and PReLUs (RPReLU) + binarisation → thresholds, by evaluation
        FoldThresholds(),  # affine + binarisation → integer thresholds, flipped rows
        HostOutputAffine(),  # last layer's affine to the host
        ResidualGainShift(),  # HORQ gains in fixed point where the exact accumulator passes its bound
        NameTensorsAfterNodes(),  # tensor names follow their nodes again
    ]


def fold(graph: Graph, on_stage: Callable[[str, Graph], None] | None = None) -> Graph:
    """Run every stage, verifying the IR after each; check the result is in hardware form."""
    verify(graph)
    if on_stage:
        on_stage("frontend", graph)
    for stage in stages():
        graph = stage.apply(graph)
        verify(graph)
        if on_stage:
            on_stage(stage.name, graph)
    verify_folded(graph)
    return graph
