"""PyTorch 1.13 CPU side of bench/ssdlite.ts: torchvision 0.14's ssdlite320_mobilenet_v3_large(num_classes=2,
weights_backbone=None) as DeepLabCut builds it. Eval: model([frame]) on one random 480x640 frame under no_grad
(transform, backbone, heads, postprocess). Train: one step on `train_batch` random 320x320 images with 1-3 boxes
each (the same boxes as the TypeScript side): losses, backward, AdamW(lr 1e-4). Prints one JSON line: median and min
ms of `runs` after `warmup`, and the first call's ms.

Usage: /usr/bin/python3 bench/pytorch/ssdlite_bench.py --runs 5 --warmup 2 --train-batch 16 --train-runs 3
"""
import argparse
import json
import os
import sys
import time

import torch
import torchvision
from torchvision.models.detection import ssdlite320_mobilenet_v3_large

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import times_ms  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--train-batch", type=int, default=16)
ap.add_argument("--train-runs", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


def timed(fn, runs, warmup):
    """The first call's ms (pipeline warm-up, allocations), then timing.times_ms over the rest."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    median, least = times_ms(fn, max(0, warmup - 1), runs)
    return {"median_ms": median, "min_ms": least, "first_ms": 1000 * first}


model = ssdlite320_mobilenet_v3_large(num_classes=2, weights_backbone=None)

model.eval()
frame = torch.rand(3, 480, 640)
count = [0]


def detect():
    with torch.no_grad():
        count[0] = len(model([frame])[0]["scores"])


result = {"eval": {**timed(detect, args.runs, args.warmup), "detections": count[0]}, "train": None}

if args.train_batch > 0:
    model.train()
    B = args.train_batch
    images = [torch.rand(3, 320, 320) for _ in range(B)]
    targets = []
    for i in range(B):
        n = 1 + i % 3
        boxes = []
        for k in range(n):
            x = 20 + (37 * i + 53 * k) % 180
            y = 15 + (61 * i + 29 * k) % 170
            boxes.append([x, y, x + 40 + ((i + k) % 5) * 20, y + 50 + ((2 * i + k) % 4) * 20])
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.ones(n, dtype=torch.int64)})
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    losses = []

    def step():
        opt.zero_grad()
        loss = model(images, targets)
        total = loss["bbox_regression"] + loss["classification"]
        total.backward()
        opt.step()
        losses.append(float(total))

    result["train"] = {"batch": B, **timed(step, args.train_runs, 1), "losses": losses}

print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": args.threads, **result}))
