"""PyTorch 1.13 CPU side of bench/mobilenet-v3.ts: torchvision 0.14's mobilenet_v3_large().features (the detection
backbone), eval mode, no grad, on random [batch, 3, size, size] inputs. Prints one JSON line: per batch the median
and min ms of `runs` forwards after `warmup`, and the first forward's ms.

Usage: /usr/bin/python3 bench/pytorch/mobilenet_bench.py --batches 1,8 --size 320 --runs 5 --warmup 2 [--reduced-tail]
"""
import argparse
import json
import statistics
import time

import torch
import torchvision
from torchvision.models import mobilenet_v3_large

ap = argparse.ArgumentParser()
ap.add_argument("--batches", default="1,8")
ap.add_argument("--size", type=int, default=320)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--reduced-tail", action="store_true")
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

features = mobilenet_v3_large(reduced_tail=args.reduced_tail).features.eval()
results = {}
with torch.no_grad():
    for batch in [int(b) for b in args.batches.split(",")]:
        x = torch.randn(batch, 3, args.size, args.size)
        t0 = time.perf_counter()
        features(x)
        first = time.perf_counter() - t0
        for _ in range(max(0, args.warmup - 1)):
            features(x)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            features(x)
            times.append(time.perf_counter() - t0)
        results[str(batch)] = {"median_ms": 1000 * statistics.median(times), "min_ms": 1000 * min(times), "first_ms": 1000 * first}
print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": args.threads, "results": results}))
