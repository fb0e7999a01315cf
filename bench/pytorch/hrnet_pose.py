"""PyTorch 1.13 CPU side of bench/hrnet.ts: DeepLabCut's hrnet_w32 bottom-up pose model (timm's HRNet-W32 branch 0,
heatmap + locref deconv heads, Gaussian targets, weighted MSE + Huber, AdamW lr 1e-4, BatchNorm statistics frozen as
the default config sets) at one input size, from the fixture script's model definition. Prints one JSON line:
forward and train-step images/s, the process's peak RSS above its start, and the forward FLOPs per image
(2 x multiply-adds of every convolution and transposed convolution).

Usage: /usr/bin/python3 bench/pytorch/hrnet_pose.py --size 256 --batch 8 --steps 2 --warmup 1
"""
import argparse
import importlib.util
import json
import os
import resource
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(__file__)
spec = importlib.util.spec_from_file_location("hf", os.path.join(HERE, "..", "..", "scripts", "fixtures", "make_hrnet_fixtures.py"))
hf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hf)

ap = argparse.ArgumentParser()
ap.add_argument("--size", type=int, default=256)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--steps", type=int, default=2)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--width", type=int, default=32)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

rss_start_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
model = hf.PoseModel(args.width, False)
opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
rng = np.random.default_rng(0)
images = torch.tensor(rng.standard_normal((args.batch, 3, args.size, args.size)), dtype=torch.float32)
kpts = np.concatenate([rng.uniform(8, args.size - 8, (args.batch, hf.K, 2)), np.ones((args.batch, hf.K, 1))], axis=2)


def conv_flops(net, x):
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.ConvTranspose2d):  # each input pixel meets every tap
            total[0] += 2 * inp[0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
        else:
            total[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    hs = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        net(x[:1])
    for h in hs:
        h.remove()
    return total[0]


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
    *_, total = hf.losses(model, images, kpts)
    total.backward()
    opt.step()
    float(total)


model.eval()
flops = conv_flops(model, images)
fwd_first = timed(forward, 1)[0]
fwd = timed(forward, args.steps)
hf.pm.train_mode(model, True)
first = timed(train_step, args.warmup)
train = timed(train_step, args.steps)
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "torch": torch.__version__, "threads": args.threads, "size": args.size, "batch": args.batch, "width": args.width,
    "forward_gflop_per_image": flops / 1e9,
    "forward_images_per_s": args.batch * len(fwd) / sum(fwd), "forward_first_s": fwd_first,
    "train_images_per_s": args.batch * len(train) / sum(train), "train_step_s": sum(train) / len(train),
    "train_first_step_s": first[0] if first else None,
    "peak_rss_mib": peak_kb / 1024, "peak_rss_above_start_mib": (peak_kb - rss_start_kb) / 1024,
}))
