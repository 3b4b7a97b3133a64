#!/usr/bin/env bash
# The installed package as a firmware project sees it: `cmake --install` the build tree into a
# scratch prefix, then build tests/package/consumer once with find_package(otakit) and once with
# pkg-config alone, and run both against an imgtool-signed vector.
#   test_package.sh <build dir> <vectors dir> <C compiler> "<extra C flags>"
# The extra flags are the build's sanitizer flags: the installed static libraries carry them.
set -euo pipefail
build=$1 vectors=$2 cc=$3 cflags=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$build/package-test
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/otakit/image.h include/otakit/sign.h include/otakit/flash_sim.h include/otakit/w5500.h \
         include/otakit/w5500_regs.h lib/libotakit_device.a lib/libotakit_host.a lib/libotakit_port_host.a \
         lib/libotakit_port_w5500.a lib/pkgconfig/otakit-w5500.pc \
         lib/cmake/otakit/otakitConfig.cmake lib/cmake/otakit/otakitConfigVersion.cmake \
         lib/cmake/otakit/otakitTargets.cmake lib/pkgconfig/otakit.pc lib/pkgconfig/otakit-device.pc; do
  [[ -f $prefix/$f ]] || { echo "FAIL: not installed: $f" >&2; exit 1; }
done
# Nothing installed may point back into the source or build tree.
if grep -rl -e "$(cd "$here/../.." && pwd)" -e "$build" "$prefix/lib/cmake" "$prefix/lib/pkgconfig"; then
  echo "FAIL: installed package files name the source or build tree" >&2; exit 1
fi
expect="verified 1.2.3+4 signature=1 port=linked"
check() { # <how> <consumer binary>
  local out
  out=$("$2" "$vectors/ec256-pub.pem" "$vectors/fw-1.signed.bin")
  [[ $out == "$expect" ]] || { echo "FAIL ($1): got '$out', want '$expect'" >&2; exit 1; }
  "$2" "$vectors/ec256-pub.pem" "$vectors/fw-1.bin" >/dev/null 2>&1 &&
    { echo "FAIL ($1): an unsigned image verified" >&2; exit 1; }
  echo "ok: $1"
}

# 1. find_package(otakit) with its exported targets.
cmake -S "$here/consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
      -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$cflags" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
check find_package "$work/cmake-build/consumer"

# 2. pkg-config, moved prefix and all: the .pc files locate the prefix from where they are.
mv "$prefix" "$work/moved"
export PKG_CONFIG_PATH=$work/moved/lib/pkgconfig
pkg-config --exists --print-errors "otakit >= 0.1" otakit-device otakit-w5500
# shellcheck disable=SC2046,SC2086
"$cc" -std=gnu11 -Wall -Wextra -Werror $cflags -o "$work/consumer-pc" "$here/consumer/main.c" \
      $(pkg-config --cflags --libs otakit otakit-w5500)
check pkg-config "$work/consumer-pc"
