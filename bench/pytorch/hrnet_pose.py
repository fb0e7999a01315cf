"""PyTorch 1.13 CPU side of bench/hrnet.ts: DeepLabCut's hrnet_w32 bottom-up pose model (timm's HRNet-W32 branch 0,
heatmap + locref deconv heads, Gaussian targets, weighted MSE + Huber, AdamW lr 1e-4, BatchNorm statistics frozen as
the default config sets) at one input size, from the fixture script's model definition. Prints one JSON line:
the figures of step_bench.py plus the forward FLOPs per image (2 x multiply-adds of every convolution and
transposed convolution).

Usage: /usr/bin/python3 bench/pytorch/hrnet_pose.py --size 256 --batch 8 --steps 2 --warmup 1
"""
import torch
import torch.nn as nn

import step_bench

hf = step_bench.fixture_module("make_hrnet_fixtures")
args = step_bench.parse_args([("--width", int, 32)])


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


step_bench.run(
    args, lambda: hf.PoseModel(args.width, False), hf.losses, hf.K, lambda m: hf.pm.train_mode(m, True),
    lambda model, images: {"width": args.width, "forward_gflop_per_image": conv_flops(model, images) / 1e9},
)
