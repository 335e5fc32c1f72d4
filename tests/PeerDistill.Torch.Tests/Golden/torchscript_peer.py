#!/usr/bin/env python3
"""TorchScript interop with PyTorch for PeerDistill's engine tests.

  export PATH   script a small PyTorch model (conv + batch norm + dropout + linear) and save it
  run PATH N    load a TorchScript file, run it in eval mode on a fixed input of N images
                (1x28x28, values linspace(-1, 1)), print the logits as JSON
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 14 * 14, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(self.drop(torch.flatten(x, 1)))


def main():
    torch.set_num_threads(1)
    if sys.argv[1] == "export":
        torch.manual_seed(0)
        torch.jit.script(SmallNet()).save(sys.argv[2])
    elif sys.argv[1] == "run":
        model = torch.jit.load(sys.argv[2])
        model.eval()
        n = int(sys.argv[3])
        x = torch.linspace(-1, 1, n * 784).reshape(n, 1, 28, 28)
        with torch.no_grad():
            print(json.dumps(model(x).flatten().tolist()))
    else:
        raise SystemExit("usage: torchscript_peer.py export PATH | run PATH N")


if __name__ == "__main__":
    main()
