"""PyTorch 1.13 CPU side of bench/top-down.ts: DeepLabCut's top-down inference on the same frames, stage by stage.

- detector: torchvision 0.14's ssdlite320_mobilenet_v3_large(num_classes=2) as DeepLabCut builds it, one frame at a
  time (DeepLabCut's detector_batch_size 1), on the ImageNet-normalised frame (DeepLabCut normalises, then
  torchvision's transform normalises again); its first `max_individuals` boxes.
- crops: DeepLabCut's top_down_crop (data/image.py: box widened to the output aspect ratio, cut out, zero-padded where
  it leaves the frame, resized to 256x256) for every box, then normalised and stacked. DeepLabCut resizes with
  cv2.resize (bilinear); cv2 is not installed here, so F.interpolate(bilinear, align_corners=False) does it.
- pose: DeepLabCut's top_down_resnet_50 (timm resnet50_gn at output stride 16 with 1x1 heatmap and locref heads, no
  deconvolution) on `pose_batch` crops at a time, then the heatmap peak and locref decoding (HeatmapPredictor).

Weights are seeded, not trained: the timing does not depend on them (a fixed number of boxes per frame).
Frames: raw uint8 RGB, n x H x W x 3, in the file the TypeScript side writes.
Prints one JSON line: per stage, median and min ms over `runs` passes after `warmup`, and the first pass.

Usage: /usr/bin/python3 bench/pytorch/top_down_bench.py --frames F.bin --n 8 --width 1280 --height 480 \
         --max-individuals 2 --pose-batch 8 --runs 3 --warmup 1
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.detection import ssdlite320_mobilenet_v3_large

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import step_bench  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--frames", required=True)
ap.add_argument("--n", type=int, required=True)
ap.add_argument("--width", type=int, required=True)
ap.add_argument("--height", type=int, required=True)
ap.add_argument("--max-individuals", type=int, default=2)
ap.add_argument("--pose-batch", type=int, default=8)
ap.add_argument("--crop", type=int, default=256)
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

raw = np.fromfile(args.frames, dtype=np.uint8).reshape(args.n, args.height, args.width, 3)
frames = [torch.from_numpy(raw[i].copy()) for i in range(args.n)]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)

detector = ssdlite320_mobilenet_v3_large(num_classes=2, weights_backbone=None).eval()

pm = step_bench.fixture_module("make_pose_model_fixtures")


class TopDownResnet50(torch.nn.Module):
    """resnet50_gn, output stride 16, 1x1 heatmap (K) and locref (2K) convolutions."""

    def __init__(self, k):
        super().__init__()
        self.backbone = pm.Backbone("groupnorm")
        self.heatmap = torch.nn.Conv2d(2048, k, 1)
        self.locref = torch.nn.Conv2d(2048, 2 * k, 1)

    def forward(self, x):
        f = self.backbone(x)
        return self.heatmap(f), self.locref(f)


K = 4
pose = TopDownResnet50(K).eval()


def normalised(frame):
    return (frame.permute(2, 0, 1).float() / 255 - MEAN) / STD


def detect_all():
    boxes = []
    with torch.no_grad():
        for frame in frames:
            out = detector([normalised(frame)])[0]
            b = out["boxes"][: args.max_individuals]
            boxes.append(torch.cat([b[:, :2], b[:, 2:] - b[:, :2]], 1))  # xywh
    return boxes


def crop(frame, box):
    """top_down_crop with crop_with_context, margin 0: the widened box cut out, padded with zeros, resized."""
    x, y, w, h = [float(v) for v in box]
    cx, cy = x + w / 2, y + h / 2
    if w / h > 1:
        h = w
    elif w / h < 1:
        w = h
    x1, y1, x2, y2 = round(cx - w / 2), round(cy - h / 2), round(cx + w / 2), round(cy + h / 2)
    H, W = frame.shape[:2]
    pl, pt, pr, pb = max(0, -x1), max(0, -y1), max(0, x2 - W), max(0, y2 - H)
    patch = frame[max(0, y1) : min(H, y2), max(0, x1) : min(W, x2)].permute(2, 0, 1).float()
    patch = F.pad(patch, (pl, pr, pt, pb))
    patch = F.interpolate(patch[None], size=(args.crop, args.crop), mode="bilinear", align_corners=False)[0]
    return (patch / 255 - MEAN) / STD


def crops_all(boxes):
    return [crop(frames[f], b) for f in range(args.n) for b in boxes[f]]


def decode(heatmaps, locref, stride=16.0, locref_std=7.2801):
    """HeatmapPredictor: argmax per heatmap, locref offset, (x, y, score) in crop pixels."""
    B, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(B, k, -1)
    score, idx = flat.max(2)
    yy, xx = idx // w, idx % w
    lr = locref.reshape(B, k, 2, h * w).gather(3, idx[:, :, None, None].expand(B, k, 2, 1))[..., 0] * locref_std
    x = xx.float() * stride + 0.5 * stride + lr[:, :, 0]
    y = yy.float() * stride + 0.5 * stride + lr[:, :, 1]
    return torch.stack([x, y, score], 2)


def pose_all(crops):
    out = []
    with torch.no_grad():
        for s in range(0, len(crops), args.pose_batch):
            h, l = pose(torch.stack(crops[s : s + args.pose_batch]))
            out.append(decode(h, l))
    return torch.cat(out) if out else torch.zeros(0, K, 3)


def stages():
    t0 = time.perf_counter()
    boxes = detect_all()
    t1 = time.perf_counter()
    crops = crops_all(boxes)
    t2 = time.perf_counter()
    poses = pose_all(crops)
    t3 = time.perf_counter()
    return {"detector": t1 - t0, "crops": t2 - t1, "pose": t3 - t2, "total": t3 - t0, "crops_n": len(crops), "poses": poses.shape[0]}


first = stages()
for _ in range(max(0, args.warmup - 1)):
    stages()
runs = [stages() for _ in range(args.runs)]
result = {"torch": torch.__version__, "threads": args.threads, "crops_per_pass": first["crops_n"], "first_ms": {}, "median_ms": {}, "min_ms": {}}
for key in ("detector", "crops", "pose", "total"):
    result["first_ms"][key] = 1000 * first[key]
    result["median_ms"][key] = 1000 * statistics.median(r[key] for r in runs)
    result["min_ms"][key] = 1000 * min(r[key] for r in runs)
print(json.dumps(result))
