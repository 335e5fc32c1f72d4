#!/usr/bin/env python3
"""PyTorch anchor of PeerDistill's device benchmark (bench/PeerDistill.Bench `gpu`, bench/gpu/run.sh).

The same DML step in plain PyTorch on the same device: two models (cnn and resnet20, the
architectures of the engine's model zoo), each trained with CE + T^2 * KL(softmax(other/T) ||
softmax(self/T)) to the other's detached logits of the same batch, SGD (lr 0.05, momentum 0.9,
weight decay 5e-4), on synthetic CIFAR-10-shaped data (3x32x32 float in [0, 1], 10 classes) held on
the device. Both peers step one after the other in one process (what single-process DML does).
Timing brackets the timed steps with torch.cuda.synchronize on CUDA; the loss is read back every
step (.item()), as the engine does. Peak memory is torch.cuda.max_memory_allocated (and _reserved) per batch size.

Usage: python3 torch_anchor.py --device cuda:0 --batches 128,512 --warmup 20 --steps 100 --report FILE
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Cnn(nn.Module):
    def __init__(self, channels=3, size=32, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * (size // 4) * (size // 4), 128)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    """CIFAR ResNet (He et al. 2016, 4.2): 6n+2 layers, stages of 16/32/64 channels."""

    def __init__(self, depth=20, channels=3, classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for s, cout in enumerate((16, 32, 64)):
            blocks = []
            for i in range(n):
                blocks.append(BasicBlock(cin, cout, 2 if s > 0 and i == 0 else 1))
                cin = cout
            layers.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


MODELS = {"cnn": lambda: Cnn(), "resnet20": lambda: ResNet(20)}


def dml_loss(logits, labels, teacher, temperature):
    ce = F.cross_entropy(logits, labels)
    kd = F.kl_div(F.log_softmax(logits / temperature, 1), F.softmax(teacher / temperature, 1), reduction="batchmean")
    return ce + kd * temperature * temperature


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_batch(names, device, batch, warmup, steps, temperature):
    torch.manual_seed(0)
    models = [MODELS[n]().to(device) for n in names]
    opts = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4) for m in models]
    total = warmup + steps
    # A pool of distinct batches on the device (synthetic, shaped like CIFAR-10), cycled through.
    pool = min(total, 16)
    images = torch.rand(pool, batch, 3, 32, 32, device=device)
    labels = torch.randint(0, 10, (pool, batch), device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = None
    for step in range(total):
        if step == warmup:
            sync(device)
            start = time.perf_counter()
        x, y = images[step % pool], labels[step % pool]
        logits = [m(x) for m in models]
        losses = []
        for i, (opt, out) in enumerate(zip(opts, logits)):
            opt.zero_grad(set_to_none=True)
            losses.append(dml_loss(out, y, logits[1 - i].detach(), temperature))
        for loss in losses:
            loss.backward()
        for opt in opts:
            opt.step()
        _ = sum(loss.item() for loss in losses)
    sync(device)
    ms = (time.perf_counter() - start) * 1000 / steps
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    reserved = torch.cuda.max_memory_reserved(device) if device.type == "cuda" else None
    return {
        "batch": batch,
        "ms_per_cohort_step": ms,
        "cohort_samples_per_second": 2 * batch / (ms / 1000),
        "max_memory_allocated_bytes": peak,
        "max_memory_reserved_bytes": reserved,
        "final_losses": [float(loss) for loss in losses],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--models", default="cnn,resnet20")
    p.add_argument("--batches", default="128,512")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--temperature", type=float, default=4.0)
    p.add_argument("--report", required=True)
    a = p.parse_args()
    names = a.models.split(",")
    if len(names) != 2 or any(n not in MODELS for n in names):
        sys.exit(f"torch_anchor.py: --models takes two of {sorted(MODELS)}, got '{a.models}'")
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit(f"torch_anchor.py: device {a.device} asked, but this torch ({torch.__version__}) has no CUDA device "
                 f"(built with CUDA {torch.version.cuda})")
    torch.set_num_threads(a.threads)
    torch.backends.cudnn.benchmark = False
    results = []
    for batch in [int(b) for b in a.batches.split(",")]:
        r = run_batch(names, device, batch, a.warmup, a.steps, a.temperature)
        mem = "" if r["max_memory_allocated_bytes"] is None else f", max allocated {r['max_memory_allocated_bytes'] / 2**20:.0f} MiB"
        print(f"torch batch {batch:4} {r['ms_per_cohort_step']:8.2f} ms/step {r['cohort_samples_per_second']:9.0f} samples/s (both peers){mem}", flush=True)
        results.append(r)
    report = {
        "benchmark": "gpu-torch-anchor", "engine": "pytorch", "torch": torch.__version__, "cuda": torch.version.cuda,
        "device": a.device, "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "models": names, "shape": "3x32x32", "classes": 10, "warmup": a.warmup, "steps": a.steps,
        "threads": a.threads, "temperature": a.temperature, "results": results,
    }
    with open(a.report, "w") as f:
        json.dump(report, f, indent=2)
    print(f"report: {a.report}")


if __name__ == "__main__":
    main()
