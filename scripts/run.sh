#!/usr/bin/env bash
# The main job, from a fresh clone: installs missing Debian packages, builds, and runs the demo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/deps.sh --build
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DOTAKIT_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
exec bash scripts/demo.sh build/release
