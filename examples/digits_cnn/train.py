"""Train the shipped example: a binary CNN on scikit-learn's 8×8 digits, exported to ONNX.

    python examples/digits_cnn/train.py

Writes model.onnx (legacy torch exporter, opset 13) and test_images.npy / test_labels.npy
(the first 64 held-out images, uint8 0..16) beside this script. Deterministic: fixed seeds,
one thread.
"""

from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from bnnfpga.nn import BinaryConv2d, BinaryLinear, BinarySign
from bnnfpga.nn.train import accuracy, train_classifier

HERE = Path(__file__).parent


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            BinaryConv2d(1, 32, 3), nn.BatchNorm2d(32), BinarySign(),             # 8×8 → 6×6
            BinaryConv2d(32, 32, 3, padding=1), nn.MaxPool2d(2), nn.BatchNorm2d(32), BinarySign(),  # → 3×3
            nn.Flatten(),
            BinaryLinear(32 * 3 * 3, 64), nn.BatchNorm1d(64), BinarySign(),
            BinaryLinear(64, 10), nn.BatchNorm1d(10),
        )

    def forward(self, x):
        return self.net(x)


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    digits = load_digits()
    x = digits.images.astype(np.uint8)[:, None]  # (N, 1, 8, 8), values 0..16
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, random_state=0)
    model = train_classifier(DigitsCNN(), x_train, y_train, epochs=40)
    with torch.no_grad():
        acc = accuracy(model(torch.as_tensor(x_test, dtype=torch.float32)).numpy(), y_test)
    print(f"test accuracy (torch): {acc:.4f} on {len(y_test)} images")
    torch.onnx.export(model, (torch.as_tensor(x_test[:1], dtype=torch.float32),), str(HERE / "model.onnx"),
                      dynamo=False, opset_version=13, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    np.save(HERE / "test_images.npy", x_test[:64])
    np.save(HERE / "test_labels.npy", y_test[:64])


if __name__ == "__main__":
    main()
