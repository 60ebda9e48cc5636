"""QONNX frontend: models exported by Brevitas ``export_qonnx`` (the FINN / BNN-PYNQ flow).

QONNX adds quantizers to plain ONNX (https://github.com/fastmachinelearning/qonnx):
``Quant`` (alias ``IntQuant``: scale, zero point, bit width; signed, narrow, rounding mode),
``BipolarQuant`` (±scale), ``Trunc`` and FINN's ``MultiThreshold``. On constants (weights)
they are evaluated here with the QONNX executor's float32 arithmetic, so the weights equal
what the reference computes; on activations they become IR ops:

    Quant(x)        = Affine(1/scale, zp) → Quantize(qmin, qmax, rounding) → Affine(scale, −zp·scale)
    1-bit signed    = Affine(1/scale, zp) → Binarize → Affine(scale, −zp·scale)   (QONNX: bipolar)
    BipolarQuant(x) = Binarize → Affine(scale)
    MultiThreshold  = FloatThresholds(T, out_bias/out_scale) → Affine(out_scale)
    (one threshold, out_bias = −out_scale/2: Affine(1, −T) → Binarize → Affine(out_scale/2))

and the passes fold them like batchnorm and sign: Quantize and FloatThresholds become
integer thresholds on the accumulators.
Everything else (Conv, Gemm, BatchNormalization, Mul/Sub/Div/Add, MaxPool, Reshape) is the
plain ONNX frontend's. The reference for these graphs is ``qonnx.core.onnx_exec``.
"""

from __future__ import annotations

import numpy as np
import onnx

from bnnfpga.errors import ModelError
from bnnfpga.frontend.common import check_input_options, node_attributes, uniform_values
from bnnfpga.frontend.onnx import SUPPORTED_DYNAMIC_OPS, Const, OnnxImporter
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.input_quantizer import InputQuantizer
from bnnfpga.ir.ops import ROUNDING_MODES, Binarize, FloatThresholds, Quantize, Truncate

QONNX_DOMAIN = "qonnx.custom_op.general"
# Older exporters: Brevitas's own domain, FINN's, or none at all.
QONNX_DOMAIN_ALIASES = ("onnx.brevitas", "finn.custom_op.general", "finn", "")
QONNX_OPS = ("Quant", "IntQuant", "BipolarQuant", "Trunc", "MultiThreshold")
# Widest activation quantizer: 2^k − 1 thresholds per channel.
MAX_ACTIVATION_BITS = 8


def is_qonnx(model: onnx.ModelProto) -> bool:
    """Whether the model uses a QONNX quantizer (in its domain, an alias, or no domain)."""
    return any(n.op_type in QONNX_OPS and n.domain in (QONNX_DOMAIN,) + QONNX_DOMAIN_ALIASES for n in model.graph.node)


def normalise_domains(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy in which every QONNX op is in the qonnx.custom_op.general domain, declared in
    the opset imports, so that the ONNX checker accepts models that forgot the domain."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for node in out.graph.node:
        if node.op_type in QONNX_OPS and node.domain in QONNX_DOMAIN_ALIASES:
            node.domain = QONNX_DOMAIN
    if not any(imp.domain == QONNX_DOMAIN for imp in out.opset_import):
        out.opset_import.append(onnx.helper.make_opsetid(QONNX_DOMAIN, 1))
    return out


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def quant_range(signed: bool, narrow: bool, bits: int) -> tuple[int, int]:
    """[qmin, qmax] of a QONNX Quant."""
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def int_quant(x: np.ndarray, scale, zeropt, bits: int, signed: bool, narrow: bool, rounding: str) -> np.ndarray:
    """QONNX ``Quant`` on constants, in the dtype of x (float32 from the model), in the QONNX
    executor's order: x/scale + zp, clip, round, − zp, · scale (1-bit signed: bipolar)."""
    y = x / scale + zeropt
    if bits == 1 and signed:
        y = np.where(y >= 0, 1, -1).astype(y.dtype)
    else:
        qmin, qmax = quant_range(signed, narrow, bits)
        y = ROUNDING_MODES[rounding](np.clip(y, qmin, qmax))
    return ((y - zeropt) * scale).astype(x.dtype)


class QonnxImporter(OnnxImporter):
    DOMAINS = ("", "ai.onnx", QONNX_DOMAIN)
    SUPPORTED = SUPPORTED_DYNAMIC_OPS + "; QONNX Quant/IntQuant (1-8 bits), BipolarQuant, MultiThreshold, Trunc"

    # -- parameters --------------------------------------------------------------------------
    def _quant_params(self, node, ins) -> dict:
        attrs = node_attributes(node)
        if node.op_type in ("Quant", "IntQuant"):
            if len(ins) < 4 or not all(isinstance(v, Const) for v in ins[1:4]):
                raise ModelError("Quant needs constant scale, zero point and bit width", node.name, node.op_type)
            bits_value = np.asarray(ins[3].value, np.float64)
            if bits_value.size != 1 or bits_value.reshape(-1)[0] != round(bits_value.reshape(-1)[0]):
                raise ModelError(f"bit width must be one integer, got {bits_value.reshape(-1)[:4]}", node.name, node.op_type)
            rounding = _text(attrs.get("rounding_mode", "ROUND")).upper()
            if rounding not in ROUNDING_MODES:
                raise ModelError(f"rounding mode {rounding!r} is not supported; supported: {', '.join(ROUNDING_MODES)}",
                                 node.name, node.op_type)
            return dict(scale=np.asarray(ins[1].value), zeropt=np.asarray(ins[2].value), bits=int(bits_value.reshape(-1)[0]),
                        signed=bool(attrs.get("signed", 1)), narrow=bool(attrs.get("narrow", 0)), rounding=rounding)
        if not isinstance(ins[1], Const):
            raise ModelError("BipolarQuant needs a constant scale", node.name, node.op_type)
        return dict(scale=np.asarray(ins[1].value))

    # -- constants ---------------------------------------------------------------------------
    def fold_constant(self, onnx_node, inputs):
        op = onnx_node.op_type
        if onnx_node.domain != QONNX_DOMAIN:
            return super().fold_constant(onnx_node, inputs)
        x = np.asarray(inputs[0])
        if op in ("Quant", "IntQuant"):
            p = self._quant_params(onnx_node, [Const(v) for v in inputs])
            return [int_quant(x, p["scale"], p["zeropt"], p["bits"], p["signed"], p["narrow"], p["rounding"])]
        if op == "BipolarQuant":
            return [(np.where(x >= 0, 1, -1) * np.asarray(inputs[1])).astype(x.dtype)]
        raise ModelError(f"{op} on constants is not supported", onnx_node.name, op)

    # -- activations -------------------------------------------------------------------------
    def op_BipolarQuant(self, node, ins):
        x = ins[0]
        if self.float_input_view(x) is not None:
            return self._quantize_float_input(node, self.float_input_view(x), self._quant_params(node, ins))
        scale = self.per_channel(node, x, self._quant_params(node, ins)["scale"])
        if np.any(scale <= 0):
            raise ModelError("BipolarQuant needs a positive scale", node.name, node.op_type)
        v = self.emit(node, Binarize(strict=False), x, suffix="_sign")
        if np.all(scale == 1):
            return v
        self.tag_levels(v, node.output[0], scale, np.zeros_like(scale))
        return self._affine(node, v, scale, 0.0)

    def op_Quant(self, node, ins):
        x = ins[0]
        p = self._quant_params(node, ins)
        if self.float_input_view(x) is not None:
            return self._quantize_float_input(node, self.float_input_view(x), p)
        scale, zeropt = self._checked_quant(node, x, p)
        bits = p["bits"]
        # QONNX divides by the scale in float32; the affine multiplies by 1/scale in float64.
        # Both round only within one step of a level boundary, which trained models do not hit.
        y = self._affine(node, x, 1.0 / scale, zeropt) if np.any(scale != 1) or np.any(zeropt != 0) else x
        if bits == 1:
            q = self.emit(node, Binarize(strict=False), y, suffix="_sign")
        else:
            qmin, qmax = quant_range(p["signed"], p["narrow"], bits)
            q = self.emit(node, Quantize(qmin=qmin, qmax=qmax, rounding=p["rounding"]), y, suffix="_levels")
        if np.all(scale == 1) and np.all(zeropt == 0) and bits == 1:
            return q
        self.tag_levels(q, node.output[0], scale, zeropt)
        if np.all(scale == 1) and np.all(zeropt == 0):
            return q
        return self._affine(node, q, scale, -zeropt * scale)

    op_IntQuant = op_Quant

    def _checked_quant(self, node, x, p: dict) -> tuple[np.ndarray, np.ndarray]:
        """A Quant's per-channel scale and zero point against ``x``'s shape, with what the
        IR takes checked: a positive scale, 1 to 8 bits (1-bit signed: bipolar), an integer
        zero point."""
        scale = self.per_channel(node, x, p["scale"])
        zeropt = self.per_channel(node, x, p["zeropt"])
        bits = p["bits"]
        if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
            raise ModelError("Quant needs a positive scale", node.name, node.op_type)
        if not 1 <= bits <= MAX_ACTIVATION_BITS:
            raise ModelError(f"a {bits}-bit quantizer on activations is not supported; supported: 1 to "
                             f"{MAX_ACTIVATION_BITS} bits (2^k − 1 thresholds per channel)", node.name, node.op_type)
        if bits == 1 and not p["signed"]:
            raise ModelError("a 1-bit unsigned quantizer is not supported; supported: 1-bit signed (bipolar)",
                             node.name, node.op_type)
        if np.any(zeropt != np.round(zeropt)):
            raise ModelError("a non-integer zero point is not supported", node.name, node.op_type)
        return scale, zeropt

    def _quantize_float_input(self, node, holder, p: dict):
        """A QONNX quantizer on the model's float input (``holder``: its shape, for per-channel
        constants): the host quantizes (QONNX order: x/scale + zp, clip, round; 1-bit signed:
        the sign), the IR input holds the levels and the dequantisation (q − zp)·scale follows."""
        if node.op_type == "BipolarQuant":
            scale = self.per_channel(node, holder, p["scale"])
            if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
                raise ModelError("BipolarQuant needs a positive scale", node.name, node.op_type)
            zeropt, bipolar, (qmin, qmax), rounding = np.zeros_like(scale), True, (-1, 1), "ROUND"
        else:
            scale, zeropt = self._checked_quant(node, holder, p)
            bipolar, rounding = p["bits"] == 1, p["rounding"]
            qmin, qmax = (-1, 1) if bipolar else quant_range(p["signed"], p["narrow"], p["bits"])
        quantizer = InputQuantizer(uniform_values(scale), uniform_values(zeropt), qmin, qmax, rounding, "qonnx", bipolar,
                                   source=node.name or node.op_type)
        q = self.quantize_input(node, quantizer)
        if bipolar:
            return q if np.all(scale == 1) else self._affine(node, q, scale, 0.0)
        self.tag_levels(q, node.output[0], scale, zeropt)
        if np.all(scale == 1) and np.all(zeropt == 0):
            return q
        return self._affine(node, q, scale, -zeropt * scale)

    def op_Trunc(self, node, ins):
        """QONNX Trunc v2 (x, scale, zeropt, input_bit_width, output_scale, output_bit_width): the
        requantisation Brevitas writes behind an average pool."""
        x = ins[0]
        if len(ins) != 6 or not all(isinstance(v, Const) for v in ins[1:]):
            raise ModelError("Trunc needs six inputs with constant scales, zero point and bit widths (QONNX Trunc v2, "
                             "as Brevitas ≥ 0.11 writes it); supported: Trunc v2", node.name, node.op_type)
        scale, zeropt, _, output_scale, out_bits = (np.asarray(v.value, np.float64).reshape(-1) for v in ins[1:])
        if any(v.size != 1 for v in (scale, zeropt, output_scale, out_bits)):
            raise ModelError("Trunc with per-channel scales is not supported; supported: one scale, zero point and "
                             "bit width per tensor", node.name, node.op_type)
        scale, zeropt, output_scale, out_bits = float(scale[0]), float(zeropt[0]), float(output_scale[0]), out_bits[0]
        if not (scale > 0 and output_scale > 0) or out_bits != round(out_bits) or not 1 <= out_bits <= MAX_ACTIVATION_BITS:
            raise ModelError(f"Trunc needs positive scales and an output of 1 to {MAX_ACTIVATION_BITS} bits",
                             node.name, node.op_type)
        attrs = node_attributes(node)
        rounding = _text(attrs.get("rounding_mode", "FLOOR")).upper()
        if rounding not in ROUNDING_MODES:
            raise ModelError(f"rounding mode {rounding!r} is not supported; supported: {', '.join(ROUNDING_MODES)}",
                             node.name, node.op_type)
        shift = int(np.round(np.log2(output_scale / scale)))  # as the qonnx executor rounds it
        qmin, qmax = quant_range(bool(attrs.get("signed", 1)), bool(attrs.get("narrow", 0)), int(out_bits))
        q = self.emit(node, Truncate(scale=scale, zeropt=zeropt, shift=shift, qmin=qmin, qmax=qmax, rounding=rounding),
                      x, suffix="_levels")
        out_zeropt = zeropt / 2.0**shift
        self.tag_levels(q, node.output[0], np.full(q.type.shape[0], output_scale), np.full(q.type.shape[0], out_zeropt))
        return self._affine(node, q, output_scale, -out_zeropt * output_scale)

    def op_MultiThreshold(self, node, ins):
        """FINN's streamlined activation: out = out_scale·#{j : x ≥ T[c, j]} + out_bias."""
        x = ins[0]
        attrs = node_attributes(node)
        if len(ins) < 2 or not isinstance(ins[1], Const):
            raise ModelError("MultiThreshold needs constant thresholds", node.name, node.op_type)
        rank = len(x.type.shape) + 1
        layout = _text(attrs.get("data_layout", "")).upper() or {2: "NC", 4: "NCHW"}.get(rank, "")
        if layout.find("C") != 1:
            raise ModelError(f"MultiThreshold on a rank-{rank} tensor with data_layout {layout or 'unknown'!r} is not "
                             "supported; supported: channels on axis 1 (NC, NCHW)", node.name, node.op_type)
        channels = x.type.shape[0]
        t = np.asarray(ins[1].value, np.float64)
        if t.ndim != 2 or t.shape[0] not in (1, channels) or not 1 <= t.shape[1] <= (1 << MAX_ACTIVATION_BITS) - 1:
            raise ModelError(f"thresholds of shape {t.shape} are not supported; supported: ({channels} or 1, n) with "
                             f"1 ≤ n ≤ {(1 << MAX_ACTIVATION_BITS) - 1}", node.name, node.op_type)
        if np.any(np.isnan(t)):
            raise ModelError("thresholds must be numbers, not NaN", node.name, node.op_type)
        t = np.sort(np.broadcast_to(t, (channels, t.shape[1])), axis=1)  # a count does not depend on the order
        out_scale, out_bias = float(attrs.get("out_scale", 1.0)), float(attrs.get("out_bias", 0.0))
        if not out_scale > 0:
            raise ModelError(f"out_scale {out_scale} is not supported; supported: a positive out_scale", node.name, node.op_type)
        if t.shape[1] == 1 and out_bias == -out_scale / 2:  # ±out_scale/2: bipolar
            v = self.emit(node, Binarize(strict=False), self._affine(node, x, 1.0, -t[:, 0]), suffix="_sign")
            half = np.full(channels, out_scale / 2)
            if out_scale == 2:
                return v
            self.tag_levels(v, node.output[0], half, np.zeros(channels))
            return self._affine(node, v, half, 0.0)
        base = out_bias / out_scale
        if base != round(base):
            raise ModelError(f"out_bias / out_scale = {base:g} is not an integer: the levels would not be integers; "
                             "supported: out_bias a multiple of out_scale, or one threshold with out_bias = −out_scale/2 "
                             "(bipolar)", node.name, node.op_type)
        q = self.emit(node, FloatThresholds(thresholds=t, base=int(base)), x, suffix="_levels")
        self.tag_levels(q, node.output[0], np.full(channels, out_scale), np.zeros(channels))
        return q if out_scale == 1 else self._affine(node, q, out_scale, 0.0)


def import_qonnx(model: onnx.ModelProto, input_bits: int = 8, input_scale: float = 1.0,
                 float_input: bool = False) -> Graph:
    """Translate a checked QONNX model into a float-level IR graph."""
    check_input_options(input_bits, input_scale, float_input)
    return QonnxImporter(normalise_domains(model), input_bits, input_scale, float_input).run()
