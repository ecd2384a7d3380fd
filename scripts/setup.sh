#!/usr/bin/env bash
# Install what fedsim needs from Debian's archive (if missing) and build it
# with meson into build/. Safe to run again: it installs and configures only
# what is not there yet. Usage: scripts/setup.sh [extra meson options]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential pkg-config meson ninja-build
          libopenmpi-dev openmpi-bin libopenblas-dev liblapacke-dev libsodium-dev
          libyaml-dev libcjson-dev zlib1g-dev check
          dataset-fashion-mnist python3-matplotlib clang-format git
          clang libclang-rt-14-dev procps)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
  meson setup build "$@" >/dev/null
elif [ $# -gt 0 ]; then
  meson configure build "$@" >/dev/null
fi
ninja -C build >/dev/null
echo "setup: built build/fedsim"
