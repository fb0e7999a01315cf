"""torchvision 0.14 CPU side of bench/nms.ts: times nms / batched_nms (and torch.topk) on the same boxes, scores and classes the
benchmark writes (a JSON index of cases and a binary file of little-endian float32 boxes, float32 scores and
int32 classes per case), and returns the kept indices so the benchmark can check they are identical.
Prints one JSON line: {"cases": [{"name", "ms", "keep"}, ...]} (median ms).

Usage: /usr/bin/python3 bench/pytorch/nms_bench.py CASES.json DATA.bin [--runs 5] [--warmup 1] [--threads 2]
"""
import argparse
import json
import statistics
import time

from timing import times_ms

import numpy as np
import torch
from torchvision.ops import batched_nms, nms

ap = argparse.ArgumentParser()
ap.add_argument("cases")
ap.add_argument("data")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
raw = open(args.data, "rb").read()


def median_ms(fn):
    return times_ms(fn, args.warmup, args.runs)[0]


results = []
for case in json.load(open(args.cases)):
    n, at = case["n"], case["offset"]
    boxes = torch.from_numpy(np.frombuffer(raw, "<f4", 4 * n, at).reshape(n, 4).copy())
    scores = torch.from_numpy(np.frombuffer(raw, "<f4", n, at + 16 * n).copy())
    classes = torch.from_numpy(np.frombuffer(raw, "<i4", n, at + 20 * n).astype(np.int64))
    t = case["threshold"]
    if case["op"] == "topk":
        run = lambda: scores.topk(case["k"])[1]
    elif case["op"] == "nms":
        run = lambda: nms(boxes, scores, t)
    else:
        run = lambda: batched_nms(boxes, scores, classes, t)
    results.append({"name": case["name"], "ms": median_ms(run), "keep": run().tolist()})
print(json.dumps({"cases": results}))
