#!/usr/bin/env bash
# Assembles the Arduino library (1.5 format: library.properties and src/) from device/ and ports/w5500/
# (the W5500 transport: its headers in src/otakit/, its source in src/ports/w5500/), since an
# Arduino library compiles everything under its src/ and cannot point elsewhere:
#   packaging/arduino/make-library.sh <out dir>     then zip <out dir> or copy it to ~/Arduino/libraries/otakit
# src/otakit/ gets the public headers; the sources and the internal headers keep their paths under
# device/ ("core/text.h"), which resolve because Arduino puts src/ on the include path. Every .c
# under device/ is copied; tests/package/check_manifests.py fails when that differs from
# device/CMakeLists.txt's source list.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dev=$here/../../device
out=${1:?usage: make-library.sh <out dir>}
rm -rf "$out"
mkdir -p "$out/src/otakit"
cp "$here/library.properties" "$out/"
cp "$dev"/include/otakit/*.h "$here"/../../ports/w5500/include/otakit/*.h "$out/src/otakit/"
mkdir -p "$out/src/ports/w5500"
cp "$here"/../../ports/w5500/*.c "$out/src/ports/w5500/"
# Every source and internal header of the library, wherever it sits under device/ (no list to keep).
(cd "$dev" && find . -path ./include -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print) |
  while read -r f; do
    mkdir -p "$out/src/$(dirname "$f")"
    cp "$dev/$f" "$out/src/$f"
  done
