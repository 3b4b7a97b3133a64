#!/usr/bin/env bash
# otakit demo: make a signing key, sign a firmware image, inspect it, verify it, and watch a
# tampered copy and an image signed by someone else get refused. Files land in ./demo/.
#   scripts/demo.sh [path/to/otakit]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
otakit=$(realpath "${1:-$root/build/release/tools/otakit}")
dir=$root/demo
mkdir -p "$dir" && cd "$dir" || exit 1

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "1. A signing key (kept in demo/keys/; reused on later runs)"
mkdir -p keys
if [[ ! -f keys/signing.pem ]]; then
  show "$otakit" keygen -k keys/signing.pem --pub keys/signing.pub.pem || exit 1
else
  echo "keys/signing.pem exists; key hash: $("$otakit" getpub -k keys/signing.pem -e hash)"
fi

step "2. A firmware binary (48 KiB of sample code) signed for product 'demo-thermostat'"
head -c 49152 /dev/urandom > firmware.bin
show "$otakit" sign -k keys/signing.pem -v 1.1.0+7 --security-counter 3 --product demo-thermostat \
  --hw-rev revA --hw-rev revB --slot-size 0x40000 --align 8 firmware.bin firmware.signed.bin || exit 1

step "3. What the image holds"
show "$otakit" inspect -k keys/signing.pub.pem firmware.signed.bin || exit 1

step "4. Verify with the public key, as a device would (product, hardware, anti-rollback)"
show "$otakit" verify -k keys/signing.pub.pem --product demo-thermostat --hw-rev revB \
  --min-security-counter 3 firmware.signed.bin || exit 1

step "5. One flipped bit in the payload: refused (exit code 1)"
cp firmware.signed.bin tampered.bin
b=$(xxd -s 1000 -l 1 -p firmware.signed.bin); printf -v nb '%02x' $((0x$b ^ 1))
printf "\\x$nb" | dd of=tampered.bin bs=1 seek=1000 conv=notrunc status=none
show "$otakit" verify -k keys/signing.pub.pem tampered.bin; echo "exit code: $?"

step "6. The same firmware signed with another key: refused"
"$otakit" keygen -k keys/intruder.pem --force >/dev/null
"$otakit" sign -k keys/intruder.pem -v 9.9.9 firmware.bin intruder.bin >/dev/null
show "$otakit" verify -k keys/signing.pub.pem intruder.bin; echo "exit code: $?"

step "7. A downgrade below the device's security counter: refused"
"$otakit" sign -k keys/signing.pem -v 1.0.0 --security-counter 2 --product demo-thermostat firmware.bin old.bin >/dev/null
show "$otakit" verify -k keys/signing.pub.pem --min-security-counter 3 old.bin; echo "exit code: $?"

vectors=$root/../shared/vectors/imgtool
if [[ -d $vectors ]]; then
  vectors=$(realpath --relative-to=. "$vectors")
  step "8. Images signed by MCUboot's imgtool verify here too"
  show "$otakit" verify -k "$vectors/ec256-pub.pem" "$vectors/fw-1000.seccnt7.bin" "$vectors/fw-4096.padded-confirmed.bin"
fi

step "Done. Files are in $dir; try: $otakit --help"
