"""PyTorch 1.13 CPU side of bench/pose-model.ts: DeepLabCut's default resnet_50 pose model (ResNet-50-GN, OS16,
heatmap + locref deconv heads, Gaussian targets, weighted MSE + Huber, AdamW lr 1e-4) at one input size, from the
fixture script's model definition. Prints one JSON line (see step_bench.py).

Usage: /usr/bin/python3 bench/pytorch/pose_model.py --size 256 --batch 8 --steps 2 --warmup 1
"""
import step_bench

pm = step_bench.fixture_module("make_pose_model_fixtures")
args = step_bench.parse_args()
step_bench.run(args, lambda: pm.PoseModel("groupnorm"), pm.losses, pm.K, lambda m: m.train())
