"""Shared by bench/pytorch/pose_model.py and hrnet_pose.py: times a pose model's forward (eval, no grad) and its
AdamW training step on random images and keypoints with PyTorch 1.13 on the CPU, and prints one JSON line with
images/s, first-step time and the process's peak RSS above its start (what bench/lib/pose-step.ts reads).
"""
import argparse
import importlib.util
import json
import os
import resource
import time

import numpy as np
import torch

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "fixtures")


def fixture_module(name):
    """One of scripts/fixtures/*.py (they build the models and losses with DeepLabCut's/timm's names)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(FIXTURES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parse_args(extra=()):
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    for name, kind, default in extra:
        ap.add_argument(name, type=kind, default=default)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    return args


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def run(args, make_model, losses, keypoints, train_mode, extra_fields=lambda model, images: {}):
    """make_model() -> model; losses(model, images, kpts) -> (..., total); train_mode(model) sets training mode."""
    rss_start_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = make_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)
    images = torch.tensor(rng.standard_normal((args.batch, 3, args.size, args.size)), dtype=torch.float32)
    kpts = np.concatenate([rng.uniform(8, args.size - 8, (args.batch, keypoints, 2)), np.ones((args.batch, keypoints, 1))], axis=2)

    def forward():
        with torch.no_grad():
            model(images)

    def train_step():
        opt.zero_grad()
        *_, total = losses(model, images, kpts)
        total.backward()
        opt.step()
        float(total)

    model.eval()
    extra = extra_fields(model, images)
    fwd_first = timed(forward, 1)[0]
    fwd = timed(forward, args.steps)
    train_mode(model)
    first = timed(train_step, args.warmup)
    train = timed(train_step, args.steps)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "torch": torch.__version__, "threads": args.threads, "size": args.size, "batch": args.batch, **extra,
        "forward_images_per_s": args.batch * len(fwd) / sum(fwd), "forward_first_s": fwd_first,
        "train_images_per_s": args.batch * len(train) / sum(train), "train_step_s": sum(train) / len(train),
        "train_first_step_s": first[0] if first else None,
        "peak_rss_mib": peak_kb / 1024, "peak_rss_above_start_mib": (peak_kb - rss_start_kb) / 1024,
    }))
