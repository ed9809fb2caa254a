#!/usr/bin/python3
"""Writes a small model exported by torch.onnx.export (opset 13) for
test-onnx-file: a 3x3 convolution, BatchNorm, ReLU, global pooling and
fc = Linear(8, 3) whose weight is arange(24) / 8, so the test can check
the values it reads.  Usage: torch_onnx_model.py OUT.onnx"""
import sys

import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def main():
    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():
        net.fc.weight.copy_(torch.arange(24, dtype=torch.float32).reshape(3, 8) / 8)
    torch.onnx.export(net, torch.zeros(1, 3, 8, 8), sys.argv[1], opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                      input_names=["input"], output_names=["logits"])


if __name__ == "__main__":
    main()
