#!/usr/bin/env bash
# Assembles the Arduino library (1.5 format: library.properties and src/) from device/, since an
# Arduino library compiles everything under its src/ and cannot point elsewhere:
#   packaging/arduino/make-library.sh <out dir>     then zip <out dir> or copy it to ~/Arduino/libraries/otakit
# src/otakit/ gets the public headers; the sources and the internal headers keep their paths under
# device/ ("core/text.h"), which resolve because Arduino puts src/ on the include path. The source
# list is device/CMakeLists.txt's; tests/package/check_manifests.py fails when they differ.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dev=$here/../../device
out=${1:?usage: make-library.sh <out dir>}
sources=(
  agent/check.c
  agent/compat.c
  agent/json.c
  agent/precheck.c
  agent/pull.c
  boot/boot.c
  boot/swap.c
  core/buf.c
  core/bytes.c
  core/crc32.c
  core/err.c
  core/journal.c
  crypto/mbedtls.c
  flash/flash.c
  flash/layout.c
  flash/presets.c
  image/build.c
  image/format.c
  image/tlv.c
  image/tlvname.c
  image/verify.c
  image/version.c
  net/http.c
  net/push.c
  net/tls.c
  net/url.c
  ota/control.c
  ota/writer.c
)
internal_headers=(agent/json.h boot/swap.h core/buf.h core/deadline.h core/journal.h core/le.h core/text.h
                  crypto/crypto.h)
rm -rf "$out"
mkdir -p "$out/src/otakit"
cp "$here/library.properties" "$out/"
cp "$dev"/include/otakit/*.h "$out/src/otakit/"
for f in "${sources[@]}" "${internal_headers[@]}"; do
  mkdir -p "$out/src/$(dirname "$f")"
  cp "$dev/$f" "$out/src/$f"
done
