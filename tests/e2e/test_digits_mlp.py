"""A binary MLP trained here on scikit-learn's digits: golden and onnxruntime agree sample by sample."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from bnnfpga import api
from bnnfpga.nn.train import accuracy, train_classifier
from bnnfpga.verify import run_onnxruntime
from tests.models import MLP


def test_trained_digits_mlp_accuracy_is_identical(tmp_path):
    torch.set_num_threads(1)
    digits = load_digits()
    x = digits.data.astype(np.int64)  # (N, 64), 0..16
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.3, random_state=0)
    torch.manual_seed(0)
    model = train_classifier(MLP(hidden=128), x_train, y_train, epochs=15)
    path = tmp_path / "mlp.onnx"
    torch.onnx.export(model, (torch.zeros(1, 64),), str(path), dynamo=False, opset_version=13,
                      input_names=["x"], dynamic_axes={"x": {0: "n"}})

    graph = api.load(path)
    ours = api.predict(graph, x_test)
    onnx_model = __import__("onnx").load(str(path))
    ref = run_onnxruntime(onnx_model, x_test, [])[onnx_model.graph.output[0].name]

    assert accuracy(ref, y_test) > 0.8, "the model did learn (else agreement means little)"
    assert np.array_equal(ours.argmax(1), ref.argmax(1)), "predictions differ sample by sample"
    assert accuracy(ours, y_test) == accuracy(ref, y_test)
