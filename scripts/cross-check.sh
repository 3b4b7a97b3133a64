#!/usr/bin/env bash
# Compiles the portable device library for Cortex-M3 at -Os with arm-none-eabi-gcc and checks
# that it calls nothing outside the allow-list: no heap, no stdio, no POSIX. Prints code size.
#   scripts/cross-check.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/cross}/cortex-m3
cc=arm-none-eabi-gcc
command -v $cc >/dev/null || { echo "cross-check: $cc not found (run scripts/deps.sh)" >&2; exit 1; }

# mbedTLS headers only (the library itself is linked per port); copied so the host's libc
# headers never leak into the cross build.
rm -rf "$out" && mkdir -p "$out/include"
cp -r /usr/include/mbedtls "$out/include/"

# Every source of the device library.
mapfile -t srcs < <(cd "$root/device" && find . -name '*.c' | sed 's|^\./||' | sort)
objs=()
for s in "${srcs[@]}"; do
  o="$out/$(echo "$s" | tr / _).o"
  $cc -mcpu=cortex-m3 -mthumb -Os -std=c99 -pedantic -Wall -Wextra -Werror -Wshadow \
      -ffunction-sections -fdata-sections -I"$root/device/include" -I"$root/device" -I"$out/include" \
      -c "$root/device/$s" -o "$o"
  objs+=("$o")
done

# Everything the device code needs from outside must be mbedTLS or freestanding string functions.
allowed='^(mbedtls_[a-z0-9_]+|memcpy|memset|memcmp|memmove|strlen|strchr|strcmp|strstr|strcspn)$'
arm-none-eabi-ld -r -o "$out/otakit_device.o" "${objs[@]}"
bad=$(arm-none-eabi-nm -u "$out/otakit_device.o" | awk 'NF==2{print $2}' | sort -u | grep -vE "$allowed" || true)
if [[ -n $bad ]]; then
  echo "cross-check: device code calls outside the allow-list (no heap/stdio/POSIX allowed):" >&2
  echo "$bad" >&2
  exit 1
fi
arm-none-eabi-size -t "${objs[@]}" | tail -1 | awk '{printf "cross-check: device library for cortex-m3 -Os: text %d B, data %d B, bss %d B\n", $1, $2, $3}'
echo "cross-check: OK (${#objs[@]} objects, only mbedTLS and string.h symbols referenced)"
