#!/usr/bin/env bash
# Flash wear and flash time of one update and one rollback per layout (see bench/wear.c).
#   bench/wear.sh [IMAGE_KB]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release -DOTAKIT_TESTS=OFF >/dev/null
cmake --build "$root/build/release" -j"$(nproc)" --target wear >/dev/null
exec "$root/build/release/bench/wear" "$@"
