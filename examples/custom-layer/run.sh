#!/usr/bin/env bash
# Trains a DeepLabCut project's new shuffle with the CoordConv head plugin, through the real CLI:
#   examples/custom-layer/run.sh <project>/config.yaml [shuffle, default 2]
# 1. create-dataset makes the shuffle (resnet_18, a small backbone that trains quickly on any adapter);
# 2. config set lists the plugin under plugins: and switches the bodypart head to CoordConvHeatmapHead;
# 3. train runs STEPS steps (default 10) of one epoch on CROP x CROP crops (default 256), batch BATCH (default 4);
# 4. evaluate reloads the snapshot (the plugin comes from the config's plugins:) on EVAL_IMAGES images (default 2).
# DLC_GPU overrides the CLI (default: this checkout's bin/dlc-gpu.js; `npx dlc-gpu` where dlc-gpu is installed).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 <project>/config.yaml [shuffle]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
config="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shuffle="${2:-2}"
steps="${STEPS:-10}"
crop="${CROP:-256}"
batch="${BATCH:-4}"
eval_images="${EVAL_IMAGES:-2}"
read -r -a dlc <<< "${DLC_GPU:-node $here/../../bin/dlc-gpu.js}"

echo "== create-dataset (shuffle $shuffle, resnet_18)"
out="$("${dlc[@]}" create-dataset "$config" --shuffle "$shuffle" --net-type resnet_18 --overwrite)"
echo "$out"
pose="$(sed -n 's/^  config: //p' <<< "$out")"

echo "== config set: the plugin and its head"
"${dlc[@]}" config set "$pose" \
  "plugins=[$here/coord-conv.ts]" \
  model.heads.bodypart.type=CoordConvHeatmapHead \
  model.heads.bodypart.with_radius=true \
  "data.train.crop_sampling.width=$crop" \
  "data.train.crop_sampling.height=$crop"

echo "== train ($steps steps)"
"${dlc[@]}" train "$config" --shuffle "$shuffle" --epochs 1 --steps-per-epoch "$steps" --batch-size "$batch" --eval-images 1

echo "== evaluate"
"${dlc[@]}" evaluate "$config" --shuffle "$shuffle" --max-images "$eval_images"
