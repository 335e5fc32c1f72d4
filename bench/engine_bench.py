#!/usr/bin/env python3
"""The python3-torch side of PeerDistill's engine benchmark (bench/PeerDistill.Bench, `engine`).

Trains the same `cnn` (conv 32 -> conv 64 -> fc 128 -> 10, 3x3 convs, 2x2 max pooling) with the
same optimizer, batch size and thread count on the same libtorch, and prints one JSON line with
the measured samples/s. Batches are gathered from the data set held in memory as one normalized
tensor, in a seeded random order, as the engine's batch builder does.

Usage: /usr/bin/python3 engine_bench.py --steps N --warmup W --batch B --threads T [--data DIR]
"""
import argparse
import gzip
import json
import os
import resource
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Cnn(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def load(directory, count):
    images = os.path.join(directory, "train-images-idx3-ubyte.gz")
    labels = os.path.join(directory, "train-labels-idx1-ubyte.gz")
    if os.path.exists(images):
        x = read_idx(images).float().div_(255).unsqueeze(1)
        y = read_idx(labels).long()
    else:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(count, 1, 28, 28, generator=g)
        y = torch.randint(0, 10, (count,), generator=g)
    return (x - 0.2860) / 0.3530, y


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x, y = load(a.data, 60000)
    model = Cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(1))

    def step(i):
        start = (i * a.batch) % (x.shape[0] - a.batch)
        idx = order[start:start + a.batch]
        xb, yb = x[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    for i in range(a.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(a.steps):
        loss = step(a.warmup + i)
    elapsed = time.perf_counter() - t0
    print(json.dumps({
        "engine": "python3-torch " + torch.__version__,
        "steps": a.steps, "batch": a.batch, "threads": a.threads,
        "seconds": elapsed, "samples_per_s": a.steps * a.batch / elapsed,
        "final_loss": float(loss), "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
