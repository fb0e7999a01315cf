"""torchvision 0.14 CPU side of bench/roi-align.ts: times roi_align forward and forward+backward (the
upstream gradient given, as the TypeScript side does) on the same ROIs, read from the JSON file the
benchmark writes. Prints one JSON line: {"cases": [{"name", "fwd_ms", "fwd_min_ms", "fwd_bwd_ms", "fwd_bwd_min_ms"}, ...]}
(medians and minimums).

Usage: /usr/bin/python3 bench/pytorch/roi_align_bench.py CASES.json [--runs 5] [--warmup 1] [--threads 2]
"""
import argparse
import json
import statistics
import time

from timing import times_ms as shared_times_ms

import torch
from torchvision.ops import MultiScaleRoIAlign, roi_align

ap = argparse.ArgumentParser()
ap.add_argument("cases")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


def times_ms(fn):
    return shared_times_ms(fn, args.warmup, args.runs)


results = []
for case in json.load(open(args.cases)):
    out_size, sampling = case["outputSize"], case["samplingRatio"]
    features = [torch.randn(s) for s in case["features"]]
    if case["op"] == "roiAlign":
        rois = torch.tensor(case["rois"], dtype=torch.float32).reshape(-1, 5)
        run = lambda fs: roi_align(fs[0], rois, out_size, case["spatialScale"], sampling, False)
    else:
        boxes = [torch.tensor(b, dtype=torch.float32).reshape(-1, 4) for b in case["boxes"]]
        pool = MultiScaleRoIAlign([str(i) for i in range(len(features))], out_size, sampling)
        sizes = [tuple(s) for s in case["imageSizes"]]
        run = lambda fs: pool(dict((str(i), f) for i, f in enumerate(fs)), boxes, sizes)
    with torch.no_grad():
        fwd, fwd_min = times_ms(lambda: run(features))
    leaves = [f.clone().requires_grad_() for f in features]
    upstream = torch.randn(run(features).shape)

    def fwd_bwd():
        for f in leaves:
            f.grad = None
        run(leaves).backward(upstream)

    both, both_min = times_ms(fwd_bwd)
    results.append({"name": case["name"], "fwd_ms": fwd, "fwd_min_ms": fwd_min, "fwd_bwd_ms": both, "fwd_bwd_min_ms": both_min})
print(json.dumps({"torch": torch.__version__, "threads": args.threads, "cases": results}))
