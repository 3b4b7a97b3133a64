#!/usr/bin/env bash
# Code size of each signature algorithm on the target: the bootloader of tests/target/link_boot.c
# (ota_boot with the signature checked, ota_image_verify) built for Cortex-M3 -Os like every
# target build (cmake/arm-none-eabi-cortex-m3.cmake, newlib-nano, --gc-sections, Debian's mbedTLS
# 2.28 with cmake/mbedtls-config-otakit.h), once per OTAKIT_SIG_ALGS selection. Prints the flash
# (text) of each, split into otakit's code and mbedTLS's, and the cost over ECDSA-P256 alone.
#   bench/sigalgs.sh [BUILD_DIR]        (default build/sigalgs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/sigalgs}
command -v arm-none-eabi-gcc >/dev/null || bash "$root/scripts/deps.sh"
configs=("ecdsa-p256" "ecdsa-p384" "rsa" "ed25519" "ecdsa-p256;ecdsa-p384;rsa;ed25519")
printf '# $ bash bench/sigalgs.sh   (Cortex-M3 -Os, arm-none-eabi-gcc %s; tests/target/link_boot.c)\n' \
  "$(arm-none-eabi-gcc -dumpversion)"
printf '%-36s %8s %8s %8s %10s\n' "OTAKIT_SIG_ALGS" "text" "otakit" "mbedTLS" "vs P-256"
base=""
mkdir -p "$out"
for c in "${configs[@]}"; do
  dir=$out/${c//;/+}
  if ! { cmake -S "$root" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi-cortex-m3.cmake" \
           -DCMAKE_BUILD_TYPE=MinSizeRel -DOTAKIT_TARGET_TLS=OFF -DOTAKIT_TARGET_MPS2=OFF \
           "-DOTAKIT_SIG_ALGS=$c" &&
         cmake --build "$dir" --target otakit_link_boot -j"$(nproc 2>/dev/null || echo 2)"; } >"$dir.log" 2>&1; then
    tail -20 "$dir.log" >&2
    echo "sigalgs.sh: the target build for '$c' failed (log: $dir.log)" >&2
    exit 1
  fi
  read -r text otakit mbed < <(python3 - "$dir/otakit_link_boot.elf" "$dir/otakit_link_boot.map" <<'PY'
import re, subprocess, sys
elf, mp = sys.argv[1:3]
text = int(subprocess.run(["arm-none-eabi-size", elf], capture_output=True, text=True).stdout.splitlines()[1].split()[0])
acc = {"otakit": 0, "mbedtls": 0}
body = open(mp).read().split("Linker script and memory map", 1)[1]
sec = None
pend = None
for ln in body.splitlines():
    m = re.match(r'^(\.\S+)', ln)
    if m:
        sec = m.group(1); pend = None
        continue
    if sec not in (".text", ".rodata", ".isr_vector", ".vectors"):
        if not (sec or "").startswith((".text", ".rodata")):
            continue
    m = re.match(r'^ (\S+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s*(.*)$', ln)
    if m and not m.group(1).startswith("0x"):
        size, obj = int(m.group(2), 16), m.group(3)
    else:
        m2 = re.match(r'^ (\S+)$', ln)
        if m2:
            pend = m2.group(1); continue
        m3 = re.match(r'^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$', ln)
        if not (m3 and pend):
            continue
        size, obj = int(m3.group(1), 16), m3.group(2); pend = None
    if "libotakit_device.a" in obj: acc["otakit"] += size
    elif "libotakit_mbedcrypto.a" in obj: acc["mbedtls"] += size
print(text, acc["otakit"], acc["mbedtls"])
PY
)
  [[ -z $base ]] && base=$text
  printf '%-36s %8d %8d %8d %+10d\n' "$c" "$text" "$otakit" "$mbed" "$((text - base))"
done
printf '(text: the whole bootloader, arm-none-eabi-size; otakit: libotakit_device.a (boot, verifier, crypto glue,\n'
printf ' Ed25519); mbedTLS: libotakit_mbedcrypto.a; the rest is newlib-nano, libgcc and the stub program)\n'
