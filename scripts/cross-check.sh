#!/usr/bin/env bash
# Builds the device library and mbedTLS for Cortex-M3 at -Os through the project's own CMake
# (cmake/arm-none-eabi-cortex-m3.cmake, cmake/target.cmake: Debian's mbedTLS source with
# cmake/mbedtls-config-otakit.h), links a bootloader and an HTTPS update agent against them with
# no syscall stubs (tests/target/: an unresolved symbol fails), checks that the device library
# calls nothing outside the allow-list (no heap, no stdio, no POSIX) and prints the sizes. The W5500
# transport (ports/w5500) and an HTTP agent on it are built, checked and measured the same way.
#   scripts/cross-check.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/cross}/cortex-m3
command -v arm-none-eabi-gcc >/dev/null || { echo "cross-check: arm-none-eabi-gcc not found (run scripts/deps.sh)" >&2; exit 1; }

mkdir -p "$out"
if ! { cmake -S "$root" -B "$out" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi-cortex-m3.cmake" \
         -DCMAKE_BUILD_TYPE=MinSizeRel &&
       cmake --build "$out" -j"$(nproc 2>/dev/null || echo 2)"; } >"$out/build.log" 2>&1; then
  grep -E 'error|undefined reference|Error' "$out/build.log" | head -40 >&2
  echo "cross-check: the Cortex-M3 build or link failed (log: $out/build.log)" >&2
  exit 1
fi
lib=$out/device/libotakit_device.a
w5500=$out/ports/w5500/libotakit_port_w5500.a

# Everything the device code needs from outside must be mbedTLS or freestanding string functions.
allowed='^(mbedtls_[a-z0-9_]+|memcpy|memset|memcmp|memmove|strlen|strchr|strcmp|strstr|strcspn)$'
# The W5500 port is held to the same rule (its own symbols and the device library's are defined).
arm-none-eabi-ld -r -o "$out/otakit_device.o" --whole-archive "$lib" "$w5500"
bad=$(arm-none-eabi-nm -u "$out/otakit_device.o" | awk 'NF==2{print $2}' | sort -u | grep -vE "$allowed" || true)
if [[ -n $bad ]]; then
  echo "cross-check: device code calls outside the allow-list (no heap/stdio/POSIX allowed):" >&2
  echo "$bad" >&2
  exit 1
fi
# The linked programs: no allocator, stdio or exit came along with mbedTLS either.
for elf in "$out"/otakit_link_boot.elf "$out"/otakit_link_boot_enc.elf "$out"/otakit_link_agent.elf "$out"/otakit_link_w5500.elf "$out"/ports/mps2-an385/otakit_mps2_*.elf; do
  bad=$(arm-none-eabi-nm "$elf" | awk '{print $NF}' |
        grep -E '^_?(malloc|calloc|realloc|free|_malloc_r|_sbrk|printf|fprintf|snprintf|vfprintf|puts|exit|_exit|abort)$' || true)
  if [[ -n $bad ]]; then
    echo "cross-check: $(basename "$elf") pulls in:" $bad >&2
    exit 1
  fi
done
n=$(arm-none-eabi-ar t "$lib" | wc -l)
ver=$(sed -n 's/^#define MBEDTLS_VERSION_STRING *"\(.*\)"/\1/p' \
        "$(sed -n 's/^OTAKIT_MBEDTLS_SOURCE_DIR:PATH=//p' "$out/CMakeCache.txt")/include/mbedtls/version.h")
sz() { arm-none-eabi-size "$1" | awk -v what="$2" 'NR==2 {printf "cross-check: %s: text %d B, data %d B, bss %d B\n", what, $1, $2, $3}'; }
arm-none-eabi-size -t "$lib" | tail -1 |
  awk '{printf "cross-check: device library for cortex-m3 -Os: text %d B, data %d B, bss %d B (mbedTLS not included)\n", $1, $2, $3}'
sz "$out/otakit_link_boot.elf" "linked bootloader (ota_boot, ECDSA-P256, mbedTLS $ver; bss: 4 KB mbedTLS heap)"
sz "$out/otakit_link_boot_enc.elf" "the same bootloader with encrypted images (ENC_EC256: ECDH, AES-CTR, swap/in-place decryption)"
sz "$out/otakit_link_agent.elf" "linked HTTPS agent (ota_agent_step: the whole protocol, TLS 1.2 client; bss: 32 KB mbedTLS heap)"
arm-none-eabi-size "$w5500" | awk 'NR>1 {t+=$1; d+=$2; b+=$3} END {printf "cross-check: W5500 transport (ports/w5500) for cortex-m3 -Os: text %d B, data %d B, bss %d B\n", t, d, b}'
sz "$out/otakit_link_w5500.elf" "linked HTTP agent on a W5500 over SPI1 (check + pull, no TCP/IP stack, no TLS)"
sz "$out/ports/mps2-an385/otakit_mps2_boot.elf" "MPS2 AN385 bootloader (ports/mps2-an385, runs under QEMU)"
sz "$out/ports/mps2-an385/otakit_mps2_app.elf" "MPS2 AN385 application (agent + lwIP + LAN9118 driver)"
sz "$out/ports/mps2-an385/otakit_mps2_app_w5500.elf" "MPS2 AN385 application, W5500 build (agent + W5500 driver, no lwIP)"
echo "cross-check: OK ($n objects, only mbedTLS and string.h symbols referenced; every program links with no syscall stubs)"
