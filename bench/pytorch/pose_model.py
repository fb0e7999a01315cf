"""PyTorch 1.13 CPU side of bench/pose-model.ts: DeepLabCut's default resnet_50 pose model (ResNet-50-GN, OS16,
heatmap + locref deconv heads, Gaussian targets, weighted MSE + Huber, AdamW lr 1e-4) at one input size.
Prints one JSON line: forward and train-step images/s and the process's peak RSS above its start.

Usage: /usr/bin/python3 bench/pytorch/pose_model.py --size 256 --batch 8 --steps 3 --warmup 1
"""
import argparse
import importlib.util
import json
import os
import resource
import time

import numpy as np
import torch

HERE = os.path.dirname(__file__)
spec = importlib.util.spec_from_file_location("pm", os.path.join(HERE, "..", "..", "scripts", "fixtures", "make_pose_model_fixtures.py"))
pm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pm)

ap = argparse.ArgumentParser()
ap.add_argument("--size", type=int, default=256)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

rss_start_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
model = pm.PoseModel("groupnorm")
opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
rng = np.random.default_rng(0)
images = torch.tensor(rng.standard_normal((args.batch, 3, args.size, args.size)), dtype=torch.float32)
kpts = np.concatenate([rng.uniform(8, args.size - 8, (args.batch, pm.K, 2)), np.ones((args.batch, pm.K, 1))], axis=2)


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def forward():
    with torch.no_grad():
        model(images)


def train_step():
    opt.zero_grad()
    _, _, _, _, total = pm.losses(model, images, kpts)
    total.backward()
    opt.step()
    float(total)


model.eval()
fwd_first = timed(forward, 1)[0]
fwd = timed(forward, args.steps)
model.train()
first = timed(train_step, args.warmup)
train = timed(train_step, args.steps)
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "torch": torch.__version__, "threads": args.threads, "size": args.size, "batch": args.batch,
    "forward_images_per_s": args.batch * len(fwd) / sum(fwd), "forward_first_s": fwd_first,
    "train_images_per_s": args.batch * len(train) / sum(train), "train_step_s": sum(train) / len(train),
    "train_first_step_s": first[0] if first else None,
    "peak_rss_mib": peak_kb / 1024, "peak_rss_above_start_mib": (peak_kb - rss_start_kb) / 1024,
}))
