# Reference for the per-sample-weighted distillation loss, from its definition in PyTorch:
#   w = sample_weights / sample_weights.sum(1, keepdim=True)          [batch, teachers]
#   pairwise: KD = T^2 / B * sum_b sum_i w_bi KL(p_i,b || p_s,b)
#   ensemble: KD = T^2 / B * sum_b KL(sum_i w_bi p_i,b || p_s,b)
#   total = (1 - alpha) CE + alpha KD (convex) or CE + alpha KD (additive)
# Usage: per_sample_loss.py input.json output.json (each case: value of every term and d total / d logits).
import json
import sys

import torch
import torch.nn.functional as F


def case(c):
    batch, classes = c["batch"], c["classes"]
    logits = torch.tensor(c["logits"], dtype=torch.float64).reshape(batch, classes).requires_grad_(True)
    targets = torch.tensor(c["targets"], dtype=torch.int64)
    teachers = [torch.tensor(t, dtype=torch.float64).reshape(batch, classes) for t in c["teachers"]]
    w = torch.tensor(c["weights"], dtype=torch.float64).reshape(batch, len(teachers))
    w = w / w.sum(1, keepdim=True)
    temperature, alpha = c["temperature"], c["alpha"]
    ce = F.cross_entropy(logits, targets, label_smoothing=c["label_smoothing"])
    log_student = F.log_softmax(logits / temperature, dim=1)
    probs = [F.softmax(t / temperature, dim=1) for t in teachers]
    if c["form"] == "pairwise":
        kd = sum((F.kl_div(log_student, p, reduction="none").sum(1) * w[:, i]).sum() for i, p in enumerate(probs)) / batch
    else:
        mix = sum(p * w[:, i : i + 1] for i, p in enumerate(probs))
        kd = F.kl_div(log_student, mix, reduction="sum") / batch
    kd = kd * temperature * temperature
    total = (1 - alpha) * ce + alpha * kd if c["combine"] == "convex" else ce + alpha * kd
    total.backward()
    return {"total": total.item(), "cross_entropy": ce.item(), "distillation": kd.item(), "grad": logits.grad.reshape(-1).tolist()}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    with open(sys.argv[2], "w") as f:
        json.dump([case(c) for c in cases], f)


if __name__ == "__main__":
    main()
