#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine with Node 20: a WebGPU driver when none is usable, then npm deps.
# With no GPU, Dawn runs on Mesa's lavapipe (a CPU Vulkan driver); it needs Mesa 25 from
# bookworm-backports because Debian 12's own Mesa 22 lavapipe is rejected by Dawn.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

mesa_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null) || return 1
  dpkg --compare-versions "$v" ge 25
}

if command -v dpkg-query >/dev/null && ! mesa_ok; then
  echo "setup: installing Mesa lavapipe (Vulkan on the CPU) from bookworm-backports"
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      as_root tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
  fi
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi

# ffmpeg decodes and encodes videos (analyze-videos, create-labeled-video); Debian's pandas and PyTables let
# the tests check that pandas.read_hdf reads the .h5 files as DeepLabCut's users would. Installed only
# when missing.
missing=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
if command -v dpkg-query >/dev/null; then
  for p in python3-pandas python3-tables; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
