# Reference values for SparseLogitsTests, from python3-torch (run with /usr/bin/python3).
# argv: cases ("k:rest,k:rest,...", rest uniform|drop), classes, then the row-major logits.
# Prints, case after case, the dense log-probabilities the receiver of a top-k frame
# reconstructs, one per line.
import sys
import torch

cases, classes = sys.argv[1].split(","), int(sys.argv[2])
z = torch.tensor([float(x) for x in sys.argv[3:]], dtype=torch.float32).reshape(-1, classes)
logp = torch.log_softmax(z.double(), dim=1)
floor = -1e4
for case in cases:
    k, rest = int(case.split(":")[0]), case.split(":")[1]
    top, idx = torch.topk(logp, k, dim=1)
    top = top.float().double()  # the wire carries fp32 log-probabilities
    if rest == "uniform":
        left = 1 - top.exp().sum(dim=1, keepdim=True)
        filler = torch.where(left > 0, torch.log(left.clamp_min(1e-300) / (classes - k)).clamp_min(floor), torch.full_like(left, floor))
        dense = filler.expand(-1, classes).clone()
        dense.scatter_(1, idx, top)
    else:
        dense = torch.full((z.shape[0], classes), floor, dtype=torch.float64)
        dense.scatter_(1, idx, (top - torch.logsumexp(top, dim=1, keepdim=True)).clamp_min(floor))
    for v in dense.float().reshape(-1).tolist():
        print(repr(v))
