"""PyTorch 1.13 CPU side of bench/learning-curve.ts: DeepLabCut's resnet_50 pose model (the replica in
scripts/fixtures/make_pose_model_fixtures.py: torchvision ResNet-50 with GroupNorm(32) under timm's names, OS16,
deconv heads, DeepLabCut's Gaussian targets with the int grid, weighted MSE + Huber, mean aggregation) trained
from the initial weights dlc-gpu wrote (<work>/init.pt, read with torch.load) on the batches it dumped
(<work>/images.f32, keypoints.f32, meta.json), with the config's optimizer (torch.optim.<type>(**params)).
Writes <work>/torch.json: total_loss, heatmap and locref terms and the wall time of every step.

Usage: /usr/bin/python3 bench/pytorch/learning_curve.py <work> [--threads 2] [--grads] [--float64]
  --grads also writes <work>/torch_grads.json: per-parameter gradient norms after the first backward pass.
"""
import argparse
import importlib.util
import json
import os
import time

import numpy as np
import torch

HERE = os.path.dirname(__file__)
spec = importlib.util.spec_from_file_location("pm", os.path.join(HERE, "..", "..", "scripts", "fixtures", "make_pose_model_fixtures.py"))
pm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pm)

ap = argparse.ArgumentParser()
ap.add_argument("work")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--grads", action="store_true")
ap.add_argument("--float64", action="store_true", help="train in float64 (a control: how far float32 itself drifts); writes torch_float64.json")
args = ap.parse_args()
torch.set_num_threads(args.threads)

meta = json.load(open(os.path.join(args.work, "meta.json")))
S, K = meta["size"], meta["keypoints"]
assert K == pm.K and meta["stride"] == pm.STRIDE, (K, meta["stride"])
images = np.fromfile(os.path.join(args.work, "images.f32"), dtype=np.float32).reshape(meta["images"], 3, S, S)
keypoints = np.fromfile(os.path.join(args.work, "keypoints.f32"), dtype=np.float32).reshape(meta["images"], K, 3)

model = pm.PoseModel("groupnorm")
state = torch.load(os.path.join(args.work, "init.pt"))["model"]
model.load_state_dict(state, strict=True)
dtype = torch.float64 if args.float64 else torch.float32
model.to(dtype)
model.train()
o = meta["optimizer"]
params = dict(o.get("params") or {})
if "betas" in params:
    params["betas"] = tuple(params["betas"])
opt = getattr(torch.optim, o["type"])(model.parameters(), **params)
print("optimizer", opt)

out_name = "torch_float64.json" if args.float64 else "torch.json"
curve = {"side": "pytorch" + (" float64" if args.float64 else ""), "device": f"torch {torch.__version__} CPU, {args.threads} threads", "total_loss": [], "heatmap": [], "locref": [], "stepSeconds": []}
for step, ids in enumerate(meta["order"][: meta["steps"]]):
    x = torch.from_numpy(images[ids].copy()).to(dtype)
    kp = keypoints[ids].astype(np.float64)
    t0 = time.perf_counter()
    opt.zero_grad()
    _, _, l_hm, l_loc, total = pm.losses(model, x, kp, dtype)
    total.backward()
    if step == 0 and args.grads:
        g = {n: float(p.grad.double().norm()) for n, p in model.named_parameters()}
        json.dump({"loss": [float(total), float(l_hm), float(l_loc)], "grad_norms": g}, open(os.path.join(args.work, "torch_grads.json"), "w"))
    opt.step()
    v = [float(total), float(l_hm), float(l_loc)]
    dt = time.perf_counter() - t0
    curve["total_loss"].append(v[0])
    curve["heatmap"].append(v[1])
    curve["locref"].append(v[2])
    curve["stepSeconds"].append(dt)
    print(f"torch step {step + 1}: total {v[0]:.7g} heatmap {v[1]:.7g} locref {v[2]:.7g} ({dt:.2f} s)", flush=True)
    json.dump(curve, open(os.path.join(args.work, out_name), "w"))
