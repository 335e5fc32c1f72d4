#!/usr/bin/env python3
"""Golden values for PeerDistill's distillation losses, computed with PyTorch.

Writes losses.json: for each case, the inputs (student logits, targets, teacher logits, weights,
temperature, alpha, teacher form, combination, label smoothing) and what PyTorch computes for the
total loss, its cross-entropy and distillation terms, and the gradient of the total with respect to
the student logits. The reference below is written from the definitions (Hinton et al. 2015;
Zhang et al. 2018), with torch.nn.functional only.

Usage: /usr/bin/python3 make_goldens.py [output.json]
"""
import json
import sys

import torch
import torch.nn.functional as F


def reference(student, targets, teachers, weights, temperature, alpha, form, combine, smoothing):
    s = student.clone().requires_grad_(True)
    ce = F.cross_entropy(s, targets, label_smoothing=smoothing)
    if not teachers:
        total, kd = ce, torch.zeros(())
    else:
        w = torch.tensor(weights if weights else [1.0] * len(teachers), dtype=torch.float64)
        w = (w / w.sum()).tolist()
        log_ps = F.log_softmax(s / temperature, dim=1)
        if form == "pairwise":
            kd = sum(wi * F.kl_div(log_ps, F.softmax(t / temperature, dim=1), reduction="batchmean")
                     for wi, t in zip(w, teachers))
        else:
            mix = sum(wi * F.softmax(t / temperature, dim=1) for wi, t in zip(w, teachers))
            kd = F.kl_div(log_ps, mix, reduction="batchmean")
        kd = kd * temperature * temperature
        total = (1 - alpha) * ce + alpha * kd if combine == "convex" else ce + alpha * kd
    total.backward()
    return total.item(), ce.item(), float(kd), s.grad.flatten().tolist()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "losses.json"
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(20181)
    batch, classes = 8, 10

    def logits(scale):
        return (torch.randn(batch, classes, generator=gen) * scale).float()

    cases = [
        ("ce", 0, [], "pairwise", "convex", 1.0, 0.0, 0.0),
        ("ce_label_smoothing", 0, [], "pairwise", "convex", 1.0, 0.0, 0.1),
        ("one_teacher_T4_convex", 1, [], "pairwise", "convex", 4.0, 0.7, 0.0),
        ("pairwise_weighted_T2_additive", 3, [1.0, 2.0, 1.0], "pairwise", "additive", 2.0, 1.0, 0.0),
        ("ensemble_weighted_T3_convex_ls", 3, [0.5, 0.3, 0.2], "ensemble", "convex", 3.0, 0.5, 0.05),
        ("ensemble_equal_T1_additive", 2, [], "ensemble", "additive", 1.0, 0.8, 0.0),
        ("pairwise_sharp_teachers_T1", 2, [], "pairwise", "additive", 1.0, 1.0, 0.0),
    ]
    result = []
    for name, n_teachers, weights, form, combine, temperature, alpha, smoothing in cases:
        student = logits(2.0)
        targets = torch.randint(0, classes, (batch,), generator=gen)
        scale = 8.0 if "sharp" in name else 3.0
        teachers = [logits(scale) for _ in range(n_teachers)]
        total, ce, kd, grad = reference(student, targets, teachers, weights, temperature, alpha, form, combine, smoothing)
        result.append({
            "name": name, "batch": batch, "classes": classes,
            "student": student.flatten().tolist(), "targets": targets.tolist(),
            "teachers": [t.flatten().tolist() for t in teachers], "weights": weights,
            "temperature": temperature, "alpha": alpha, "form": form, "combine": combine,
            "label_smoothing": smoothing,
            "expected": {"total": total, "cross_entropy": ce, "distillation": kd, "grad": grad},
        })
    with open(out, "w") as f:
        json.dump({"torch_version": torch.__version__, "cases": result}, f, indent=1)


if __name__ == "__main__":
    main()
