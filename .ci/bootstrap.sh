#!/usr/bin/env bash
# One-step set-up for packlife on Debian 12: installs missing system packages, configures and
# builds (Release), then runs either the main job (`run`) or the whole test suite (`test`).
# Used by both README quick-start commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"
pkgs=(build-essential cmake git pkg-config libsundials-dev libsuitesparse-dev libeigen3-dev libhdf5-dev
      libfmt-dev catch2 nlohmann-json3-dev libcli11-dev libyaml-cpp-dev python3-h5py python3-pandas)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j "$jobs" >> build.log 2>&1 || { tail -50 build.log; exit 1; }
case "$mode" in
  run)  ./build/cli/packlife fleet --out build/fleet.h5 --force ;;
  test) ctest --test-dir build --output-on-failure -j "$jobs" ;;
  *)    echo "usage: $0 run|test" >&2; exit 2 ;;
esac
