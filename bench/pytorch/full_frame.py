"""PyTorch CPU side of bench/full-frame.ts: DeepLabCut's default resnet_50 pose model (ResNet-50-GN, OS16, heatmap +
locref heads; the fixture script's definition) in eval mode without gradients, on full frames at batch 1 (the
first call of the process at that size timed apart as "cold"), or on a batch of square inputs (--batch 8
--sizes 256x256, the reference the per-pixel cost is compared with). Inputs are random: the speed does not depend
on the values. Prints one JSON line.

Usage: /usr/bin/python3 bench/pytorch/full_frame.py --sizes 480x640,747x832 --frames 3 [--batch 1] [--threads 2]
"""
import argparse
import json
import time

import numpy as np
import torch

import step_bench
import timing

ap = argparse.ArgumentParser()
ap.add_argument("--sizes", default="480x640")
ap.add_argument("--frames", type=int, default=3)
ap.add_argument("--batch", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

pm = step_bench.fixture_module("make_pose_model_fixtures")
model = pm.PoseModel("groupnorm").eval()
rng = np.random.default_rng(0)
out = []
for size in args.sizes.split(","):
    h, w = (int(v) for v in size.split("x"))
    x = torch.tensor(rng.standard_normal((args.batch, 3, h, w)), dtype=torch.float32)

    def forward():
        with torch.no_grad():
            model(x)

    t0 = time.perf_counter()
    forward()
    cold_s = time.perf_counter() - t0
    median_ms, min_ms = timing.times_ms(forward, 0, args.frames)
    out.append({"height": h, "width": w, "batch": args.batch, "cold_s": cold_s, "warm_s": median_ms / 1e3, "warm_min_s": min_ms / 1e3,
                "us_per_pixel": median_ms * 1e3 / (args.batch * h * w)})
print(json.dumps({"torch": torch.__version__, "threads": args.threads, "results": out}))
