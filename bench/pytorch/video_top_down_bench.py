"""PyTorch CPU side of bench/video-top-down.ts: DeepLabCut's top-down video flow (apis/videos.py video_inference)
on the same frames: cv2.VideoCapture reads frames one at a time (BGR -> RGB); the detector pass runs torchvision's
ssdlite320_mobilenet_v3_large(num_classes=2, weights_backbone=None) (eval, no grad) over the whole video in
batches of --detector-batch on ImageNet-normalised frames (DeepLabCut's detector.data.inference) and keeps each
frame's first --individuals boxes; then the video is read again and each box is cropped as DeepLabCut's
top_down_crop does (context grown to a square, zero padding, cv2.resize INTER_LINEAR to --crop), crops of
successive frames batched by --batch through top_down_resnet_50 (ResNet-50 GroupNorm, output stride 16, 1x1
heatmap / locref heads) and decoded (argmax, locref * 7.2801). Times decode alone, the detector alone, inference
alone (both passes on decoded frames in memory) and end to end (both passes reading the video); one JSON line.

Usage: /usr/bin/python3 bench/pytorch/video_top_down_bench.py --video V --frames 8 --individuals 2 --batch 4
       --detector-batch 4 --crop 256 [--threads 2]
"""
import argparse
import json
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
from torchvision.models.detection import ssdlite320_mobilenet_v3_large

import step_bench

ap = argparse.ArgumentParser()
ap.add_argument("--video", required=True)
ap.add_argument("--frames", type=int, default=8)
ap.add_argument("--individuals", type=int, default=2)
ap.add_argument("--batch", type=int, default=4)
ap.add_argument("--detector-batch", type=int, default=4)
ap.add_argument("--crop", type=int, default=256)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
cv2.setNumThreads(1)
torch.manual_seed(0)
K = 4

pm = step_bench.fixture_module("make_pose_model_fixtures")


class TopDownModel(nn.Module):
    """top_down_resnet_50: DeepLabCut's ResNet-50 (GroupNorm, stride 16) with head_topdown's 1x1 convs."""

    def __init__(self):
        super().__init__()
        self.backbone = pm.Backbone("groupnorm")
        self.heatmap = nn.Conv2d(2048, K, 1)
        self.locref = nn.Conv2d(2048, 2 * K, 1)

    def forward(self, x):
        f = self.backbone(x)
        return self.heatmap(f), self.locref(f)


pose = TopDownModel().eval()
detector = ssdlite320_mobilenet_v3_large(num_classes=2, weights_backbone=None).eval()
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def normalised(frame):
    return (torch.from_numpy(frame).permute(2, 0, 1).float().div_(255) - MEAN) / STD


def detect(frames):
    with torch.no_grad():
        out = detector([normalised(f) for f in frames])
    boxes = []
    for d in out:
        b = d["boxes"][: args.individuals].numpy().copy()
        b[:, 2:] -= b[:, :2]  # xyxy -> xywh
        boxes.append(b)
    return boxes


def top_down_crop(image, box):
    h_img, w_img = image.shape[:2]
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    w, h = max(w, h), max(w, h)  # with context, square output
    x1, x2 = int(round(cx - w / 2)), int(round(cx + w / 2))
    y1, y2 = int(round(cy - h / 2)), int(round(cy + h / 2))
    out = np.zeros((max(1, y2 - y1), max(1, x2 - x1), 3), dtype=image.dtype)
    sx1, sy1, sx2, sy2 = max(0, x1), max(0, y1), min(w_img, x2), min(h_img, y2)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = image[sy1:sy2, sx1:sx2]
    return cv2.resize(out, (args.crop, args.crop), interpolation=cv2.INTER_LINEAR)


def pose_batch(crops):
    x = torch.stack([normalised(c) for c in crops])
    with torch.no_grad():
        heat, loc = pose(x)
        B, _, H, W = heat.shape
        score, idx = heat.view(B, K, -1).max(dim=2)
        g = idx.unsqueeze(2).expand(B, K, 2).unsqueeze(3)
        off = loc.view(B, K, 2, H * W).gather(3, g).squeeze(3) * 7.2801
        kx = (idx % W).float() * 16 + 8 + off[..., 0]
        ky = (idx // W).float() * 16 + 8 + off[..., 1]
    return torch.stack([kx, ky, score], dim=2).numpy()


def detector_pass(source):
    boxes, batch = [], []
    for f in source:
        batch.append(f)
        if len(batch) == args.detector_batch:
            boxes += detect(batch)
            batch = []
    if batch:
        boxes += detect(batch)
    return boxes


def pose_pass(source, boxes):
    crops, n = [], 0
    for f, b in zip(source, boxes):
        n += 1
        for box in b:
            crops.append(top_down_crop(f, box))
            if len(crops) == args.batch:
                pose_batch(crops)
                crops = []
    if crops:
        pose_batch(crops)
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
frames = list(stream())
decode_s = time.perf_counter() - t0
pose_pass(frames[: args.detector_batch], detector_pass(frames[: args.detector_batch]))  # warm-up
t0 = time.perf_counter()
boxes = detector_pass(frames)
detector_s = time.perf_counter() - t0
t0 = time.perf_counter()
pose_pass(frames, detector_pass(frames))
infer_s = time.perf_counter() - t0
t0 = time.perf_counter()
n = pose_pass(stream(), detector_pass(stream()))
e2e_s = time.perf_counter() - t0
print(json.dumps({
    "torch": torch.__version__, "threads": args.threads, "frames": len(frames), "crops": int(sum(len(b) for b in boxes)),
    "decode_fps": len(frames) / decode_s, "detector_fps": len(frames) / detector_s, "inference_fps": len(frames) / infer_s,
    "end_to_end_fps": n / e2e_s,
}))
