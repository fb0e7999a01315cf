"""PyTorch CPU side of bench/video.ts: DeepLabCut's video loop on the same frames: cv2.VideoCapture reads
frames one at a time (BGR -> RGB), batches (--batch) are normalised (ImageNet mean/std, as data.inference
normalize_images) and run through the resnet_50 pose model (eval, no grad), then DeepLabCut's heatmap
predictor (sigmoid, argmax, locref * 7.2801, stride 8) gives the keypoints. Times decode alone, inference
alone (on decoded frames in memory) and end to end; prints one JSON line.

Usage: /usr/bin/python3 bench/pytorch/video_bench.py --video V --frames 64 --batch 8 [--threads 2]
"""
import argparse
import json
import time

import cv2
import numpy as np
import torch

import step_bench

ap = argparse.ArgumentParser()
ap.add_argument("--video", required=True)
ap.add_argument("--frames", type=int, default=64)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
cv2.setNumThreads(1)
torch.manual_seed(0)

pm = step_bench.fixture_module("make_pose_model_fixtures")
model = pm.PoseModel("groupnorm").eval()
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def read_frames(n):
    cap = cv2.VideoCapture(args.video)
    out = []
    while len(out) < n:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame[..., ::-1].copy())
    cap.release()
    return out


def predict(frames):
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div_(255)
    x = (x - MEAN) / STD
    with torch.no_grad():
        heat, loc = model(x)
        heat = torch.sigmoid(heat)
        B, K, H, W = heat.shape
        flat = heat.view(B, K, -1)
        score, idx = flat.max(dim=2)
        ys, xs = idx // W, idx % W
        loc = loc.view(B, K, 2, H * W)
        g = idx.unsqueeze(2).expand(B, K, 2).unsqueeze(3)
        off = loc.gather(3, g).squeeze(3) * 7.2801
        kx = xs.float() * 8 + 4 + off[..., 0]
        ky = ys.float() * 8 + 4 + off[..., 1]
    return torch.stack([kx, ky, score], dim=2).numpy()


def run_batches(source):
    batch, n = [], 0
    for f in source:
        batch.append(f)
        if len(batch) == args.batch:
            predict(batch)
            n += len(batch)
            batch = []
    if batch:
        predict(batch)
        n += len(batch)
    return n


def stream():
    cap = cv2.VideoCapture(args.video)
    for _ in range(args.frames):
        ok, frame = cap.read()
        if not ok:
            break
        yield frame[..., ::-1].copy()
    cap.release()


t0 = time.perf_counter()
frames = read_frames(args.frames)
decode_s = time.perf_counter() - t0
predict(frames[: args.batch])  # warm-up
t0 = time.perf_counter()
run_batches(frames)
infer_s = time.perf_counter() - t0
t0 = time.perf_counter()
n = run_batches(stream())
e2e_s = time.perf_counter() - t0
print(json.dumps({
    "torch": torch.__version__, "threads": args.threads, "frames": len(frames), "batch": args.batch,
    "decode_fps": len(frames) / decode_s, "inference_fps": len(frames) / infer_s, "end_to_end_fps": n / e2e_s,
}))
