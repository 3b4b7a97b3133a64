#!/usr/bin/env bash
# Verification speed: `otakit verify` (header, TLVs, SHA-256, ECDSA-P256 over a signed image, reading
# it in 256-byte chunks as a device would) against `openssl dgst -sha256 -verify` doing only the
# hash and signature over the same signed bytes, measured in the same run. Prints medians and ratios.
#   bench/verify.sh [path/to/otakit]      (build first: make build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
otakit=$(realpath "${1:-$root/build/release/tools/otakit}")
[[ -x $otakit ]] || { echo "build first: make build" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; cd "$work"
runs=7

"$otakit" keygen -k k.pem --pub k.pub.pem >/dev/null
median_ms() { # runs a command $runs times, prints the median wall time in ms
  local t=() s e
  for ((i = 0; i < runs; i++)); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    t+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n "$((runs / 2 + 1))p" | awk '{printf "%.2f", $1 / 1000}'
}

printf '%-10s %14s %14s %8s %14s\n' size "otakit verify" "openssl" ratio "otakit MB/s"
for mib in 1 16 64; do
  head -c $((mib * 1048576)) /dev/urandom > fw.bin
  "$otakit" sign -k k.pem -v 1.0.0 fw.bin fw.img >/dev/null
  python3 - fw.img <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
hs, ps, n = struct.unpack_from("<HHI", b, 8); off = hs + n + ps
open("signed.dat", "wb").write(b[:off])
m, tot = struct.unpack_from("<HH", b, off); p = off + 4
while p < off + tot:
    t, l = struct.unpack_from("<HH", b, p)
    if t == 0x22: open("sig.der", "wb").write(b[p + 4:p + 4 + l])
    p += 4 + l
PY
  ours=$(median_ms "$otakit" verify -k k.pub.pem fw.img)
  ref=$(median_ms openssl dgst -sha256 -verify k.pub.pem -signature sig.der signed.dat)
  awk -v m=$mib -v o=$ours -v r=$ref 'BEGIN{printf "%-10s %11.2f ms %11.2f ms %7.2fx %14.0f\n", m " MiB", o, r, o / r, m / (o / 1000)}'
done
echo "(ratio = otakit time / openssl time; lower is better; median of $runs runs; $(nproc) cores)"
