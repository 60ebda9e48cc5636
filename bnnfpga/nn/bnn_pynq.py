"""Brevitas BNN-PYNQ models (brevitas_examples.bnn_pynq) for the tests and benchmarks:
untrained weights with randomised batchnorm statistics (some γ < 0), fixed seeds, exported
as QONNX or QCDQ. Needs brevitas and onnxoptimizer (the dev extra)."""

from __future__ import annotations

from pathlib import Path

# model name in brevitas_examples.bnn_pynq → input shape
SHAPES = {"tfc_1w1a": (1, 28, 28), "tfc_2w2a": (1, 28, 28), "lfc_1w2a": (1, 28, 28),
          "cnv_1w1a": (3, 32, 32), "cnv_2w2a": (3, 32, 32), "tfc_4w2a": (1, 28, 28)}
# Not in the zoo: the TFC topology with Brevitas's 4-bit (narrow, per-tensor) weights.
FC_VARIANTS = {"tfc_4w2a": dict(weight_bit_width=4, act_bit_width=2, in_bit_width=8, in_channels=1,
                                out_features=[64, 64, 64], num_classes=10)}
# BNN-PYNQ models take images in [0, 1]: bnnfpga feeds uint8 frames times 1/255.
INPUT_SCALE = 1 / 255


def build(name: str, seed: int = 0):
    """The model in eval mode, its batchnorms drawn from ``seed`` (γ ~ N(0, 1): about half
    of the channels flipped; |μ| and σ² of the order of the accumulators)."""
    import torch
    from brevitas_examples.bnn_pynq.models import model_with_cfg
    from brevitas_examples.bnn_pynq.models.FC import FC

    torch.manual_seed(seed)
    model = FC(**FC_VARIANTS[name]) if name in FC_VARIANTS else model_with_cfg(name, pretrained=False)[0]
    generator = torch.Generator().manual_seed(seed + 1)
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            c = module.num_features
            module.running_mean.data = torch.randn(c, generator=generator) * 4
            module.running_var.data = torch.rand(c, generator=generator) * 8 + 0.5
            module.weight.data = torch.randn(c, generator=generator)
            module.bias.data = torch.randn(c, generator=generator)
    return model.eval()


def export(name: str, directory: Path, form: str = "qonnx", dynamo: bool = True) -> Path:
    """Export with ``brevitas.export.export_qonnx`` (form 'qonnx') or ``export_onnx_qcdq``
    (form 'qcdq'; legacy or dynamo torch exporter)."""
    import torch
    from brevitas.export import export_onnx_qcdq, export_qonnx

    model = build(name)
    sample = torch.rand((1,) + SHAPES[name], generator=torch.Generator().manual_seed(2))
    path = Path(directory) / f"{name}_{form}{'_dynamo' if dynamo else ''}.onnx"
    if form == "qonnx":
        export_qonnx(model, sample, str(path), dynamo=dynamo)
    else:
        export_onnx_qcdq(model, sample, str(path), dynamo=dynamo)
    return path
