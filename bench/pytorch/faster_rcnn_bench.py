"""PyTorch 1.13 CPU side of bench/faster-rcnn.ts: torchvision 0.14's fasterrcnn_mobilenet_v3_large_fpn as DeepLabCut
builds it with weights (torchvision's is_trained structure: FrozenBatchNorm2d backbone, 3 trainable stages,
box_score_thresh 0.01, a 2-class FastRCNNPredictor), built here without downloading weights. One phase per call,
so that bench/faster-rcnn.ts can alternate it with its own:
- eval: model([frame]) on one random 480x640 frame under no_grad (transform to 800x1066, backbone, RPN, RoI heads,
  postprocess);
- train: one step on `batch` random 480x640 frames with 2 boxes each (the TypeScript side's boxes): losses,
  backward, AdamW(lr 1e-4), DeepLabCut's detector optimizer.
Prints one JSON line: median and min ms of `runs` after `warmup`, and the first call's ms.

--variant builds another of DeepLabCut's variants with the same trained structure (fasterrcnn_resnet50_fpn:
FrozenBatchNorm2d; v2: BatchNorm2d, as torchvision builds it with weights; 3 trainable stages).

Usage: /usr/bin/python3 bench/pytorch/faster_rcnn_bench.py --phase eval|train --runs 3 --warmup 1 [--batch 1] [--variant V]
"""
import argparse
import json
import os
import sys
import time

import torch
import torchvision
from torchvision.models import mobilenet_v3_large, resnet50
from torchvision.models.detection import fasterrcnn_resnet50_fpn_v2
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import _mobilenet_extractor, _resnet_fpn_extractor
from torchvision.models.detection.faster_rcnn import FasterRCNN, FastRCNNPredictor
from torchvision.ops import misc as misc_nn_ops

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import times_ms  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--phase", choices=["eval", "train"], required=True)
ap.add_argument("--variant", default="fasterrcnn_mobilenet_v3_large_fpn")
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--batch", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


def timed(fn, runs, warmup):
    """The first call's ms (allocations, lazy init), then timing.times_ms over the rest."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    median, least = times_ms(fn, max(0, warmup - 1), runs)
    return {"median_ms": median, "min_ms": least, "first_ms": 1000 * first}


if args.variant.startswith("fasterrcnn_mobilenet"):
    backbone = _mobilenet_extractor(mobilenet_v3_large(weights=None, norm_layer=misc_nn_ops.FrozenBatchNorm2d), True, 3)
    anchors = AnchorGenerator(((32, 64, 128, 256, 512),) * 3, ((0.5, 1.0, 2.0),) * 3)
    low = dict(min_size=320, max_size=640, rpn_pre_nms_top_n_test=150, rpn_post_nms_top_n_test=150) if "320" in args.variant else {}
    model = FasterRCNN(backbone, 91, rpn_anchor_generator=anchors, rpn_score_thresh=0.05, box_score_thresh=0.01, **low)
elif args.variant == "fasterrcnn_resnet50_fpn":
    backbone = _resnet_fpn_extractor(resnet50(weights=None, norm_layer=misc_nn_ops.FrozenBatchNorm2d), 3)
    model = FasterRCNN(backbone, 91, box_score_thresh=0.01)
elif args.variant == "fasterrcnn_resnet50_fpn_v2":
    model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, box_score_thresh=0.01)
    # Without weights torchvision trains all 5 stages; with them (the structure benchmarked) layer2-4 only.
    for name, p in model.backbone.body.named_parameters():
        p.requires_grad_(name.startswith(("layer2", "layer3", "layer4")))
else:
    raise SystemExit(f"unknown variant {args.variant}")
model.roi_heads.box_predictor = FastRCNNPredictor(1024, 2)

if args.phase == "eval":
    model.eval()
    frame = torch.rand(3, 480, 640)
    count = [0]

    def detect():
        with torch.no_grad():
            count[0] = len(model([frame])[0]["scores"])

    result = {**timed(detect, args.runs, args.warmup), "detections": count[0]}
else:
    model.train()
    images = [torch.rand(3, 480, 640) for _ in range(args.batch)]
    targets = []
    for i in range(args.batch):
        boxes = [[100 + 20 * i, 80, 260 + 20 * i, 240], [330, 200 + 10 * i, 480, 400 + 10 * i]]
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.ones(2, dtype=torch.int64)})
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    losses = []

    def step():
        opt.zero_grad()
        loss = model(images, targets)
        total = sum(loss.values())
        total.backward()
        opt.step()
        losses.append(float(total))

    result = {"batch": args.batch, **timed(step, args.runs, args.warmup), "losses": losses}

print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": args.threads, "phase": args.phase, **result}))
