#!/usr/bin/env bash
# Delta patch figures on real firmware pairs: the MPS2 AN385 application (ports/mps2-an385, Cortex-M3
# -Os, lwIP and mbedTLS from Debian's sources) built three times from copies of this tree:
#   base      as it is                                                     (signed 1.0.0)
#   code      a small code change: the agent's poll cap and one message   (signed 1.0.1)
#   library   a library upgrade: lwIP's TCP_MSS 1460 -> 1200               (signed 1.1.0)
# and for base -> code and base -> library: the signed image (what a full update downloads), the
# image compressed (gzip -9, xz -9: what a compressing full update could save), Debian's bsdiff
# (bzip2 inside), and otakit's patch (bench/delta_bench.c: bsdiff's difference, LZSS blocks with a
# 1 KB window, hash chain, signed header) with the 256-byte, 1 KB (default) and 4 KB windows;
# the device RAM for patching (sizeof(ota_delta_t) built for Cortex-M3), and the apply time on the
# simulated flash (SPI NOR model) of the delta update against the full one.
#   bench/delta.sh [BUILD_DIR]        (default build/delta-bench)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/delta-bench}
bash "$root/scripts/deps.sh" --bench
bash "$root/scripts/deps.sh"
mkdir -p "$out"
jobs=$(nproc 2>/dev/null || echo 2)
key=$root/tests/vectors/imgtool/ec256-key.pem

{ cmake -S "$root" -B "$out/host" -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$out/host" -j"$jobs" --target otakit delta_bench; } >"$out/build.log" 2>&1 ||
  { tail -20 "$out/build.log" >&2; echo "delta.sh: the host build failed" >&2; exit 1; }

# One Cortex-M3 build of the application from a copy of the tree, after an edit (sed script on a file).
variant() { # name file sed-expression
  local src=$out/src-$1
  rm -rf "$src"
  mkdir -p "$src"
  (cd "$root" && tar --exclude=./build --exclude=./.git -cf - .) | tar -xf - -C "$src"
  if [[ -n $2 ]]; then
    cp "$src/$2" "$src/$2.orig"
    sed -i "$3" "$src/$2"
    if cmp -s "$src/$2" "$src/$2.orig"; then echo "delta.sh: the $1 edit changed nothing" >&2; exit 1; fi
  fi
  { cmake -S "$src" -B "$out/m3-$1" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/arm-none-eabi-cortex-m3.cmake" \
          -DCMAKE_BUILD_TYPE=MinSizeRel &&
    cmake --build "$out/m3-$1" -j"$jobs" --target otakit_mps2_app; } >>"$out/build.log" 2>&1 ||
    { tail -20 "$out/build.log" >&2; echo "delta.sh: the $1 build failed" >&2; exit 1; }
}
variant base "" ""
variant code ports/mps2-an385/app_agent.c \
  's/ac.poll_max_ms = 2000;/ac.poll_max_ms = 5000;/; s/"installing the update"/"installing the new release"/'
variant library ports/mps2-an385/lwip/lwipopts.h 's/#define TCP_MSS 1460/#define TCP_MSS 1200/'

sign() { # variant version
  "$out/host/tools/otakit" sign -k "$key" -v "$2" -H 0x200 --product mps2-an385 \
    "$out/m3-$1/ports/mps2-an385/otakit_mps2_app.bin" "$out/$1.img" >/dev/null
}
sign base 1.0.0
sign code 1.0.1
sign library 1.1.0

# sizeof(ota_delta_t) as the Cortex-M3 build lays it out.
printf '#include "otakit/delta.h"\nota_delta_t otakit_delta_ram;\n' >"$out/ram.c"
arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -Os -std=c99 -I"$root/device/include" -c "$out/ram.c" -o "$out/ram.o"
m3_ram=$((16#$(arm-none-eabi-nm -S "$out/ram.o" | awk '/otakit_delta_ram/ {print $2}')))

printf '\n######## delta patches: MPS2 AN385 application (Cortex-M3 -Os), %s\n' "$(date -u +%Y-%m-%d)"
printf '# $ bash bench/delta.sh\n\n'
printf '| pair | image | gzip -9 | xz -9 | bsdiff (Debian, bzip2) | otakit patch (1 KB window) | 256 B window | 4 KB window | patch / image | patch / bsdiff |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
declare -A apply
for v in code library; do
  bsdiff "$out/base.img" "$out/$v.img" "$out/$v.bsdiff"
  line=$("$out/host/bench/delta_bench" "$out/base.img" "$out/$v.img" "$key")
  echo "$line" >"$out/$v.figures"
  eval "$(echo "$line" | tr ' ' '\n' | sed 's/^/f_/')"
  bs=$(stat -c %s "$out/$v.bsdiff")
  gz=$(gzip -9 -c "$out/$v.img" | wc -c)
  xzn=$(xz -9 -c "$out/$v.img" | wc -c)
  printf '| base -> %s | %s | %s | %s | %s | **%s** | %s | %s | %.1f %% | %.2fx |\n' "$v" "$f_image" "$gz" "$xzn" "$bs" \
    "$f_patch" "$f_patch_w8" "$f_patch_w12" "$(awk "BEGIN{print 100 * $f_patch / $f_image}")" \
    "$(awk "BEGIN{print $f_patch / $bs}")"
  apply[$v]="| base -> $v | $f_full_ms | $f_delta_ms | $f_full_cpu_ms | $f_delta_cpu_ms | $f_base_read | $f_ops | $f_blocks |"
done
printf '\nDevice RAM for patching: ota_delta_t = %s bytes on Cortex-M3 (block buffer 1058, window 1024,\n' "$m3_ram"
printf 'base and output buffers 2 x 128, two checkpoints, the SHA-256 context), no heap; %s bytes on this host.\n\n' "$f_ram"
printf '| apply on the simulated flash | full update: flash ms | delta: flash ms | full: host CPU ms | delta: host CPU ms | base image (hashed, then read where patched) | instructions | blocks |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for v in code library; do echo "${apply[$v]}"; done
