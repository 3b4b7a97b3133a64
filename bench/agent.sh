#!/usr/bin/env bash
# Device agent benchmark, every figure measured in this run:
#   1. end-to-end update of a 1 MiB signed image from a real otakit-server on loopback into the
#      simulated flash with a timing model (bench/agent.c), against the pure flash time
#   1b. the same update over the W5500 route (ports/w5500 on the emulator tools/w5500emu, 16 and 2
#      KiB socket buffers): SPI bytes per payload byte, and the pull with its SPI time modelled at
#      20 MHz against the pure flash time
#   2-3. code size, static RAM and worst stack path of the linked Cortex-M3 agent and bootloader:
#      bench/target.sh (the target build of cmake/target.cmake, mbedTLS included)
#   bench/agent.sh [IMAGE_BYTES] [w5500]   (default 1048576; "w5500": sections 1 and 1b only)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size=${1:-1048576}
only=${2:-}
command -v arm-none-eabi-gcc >/dev/null || bash "$root/scripts/deps.sh"
bin=$root/build/release-bench
cmake -S "$root" -B "$bin" -DCMAKE_BUILD_TYPE=Release -DOTAKIT_TESTS=OFF >/dev/null
cmake --build "$bin" -j"$(nproc)" --target otakit-server otakit agent_bench >/dev/null
work=$(mktemp -d)
spid=
cleanup() {
  [[ -n $spid ]] && kill "$spid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hdr() { printf '\n######## %s\n# $ %s\n' "$1" "$2"; }

# ---- 1. end-to-end update ------------------------------------------------------------------
# otakit-server with one product, one release of $size bytes and one registered device (as bench/server.sh)
sport=$(free_port)
"$bin/server/otakit-server" --listen 127.0.0.1:$sport --data "$work/data" --threads 2 2>"$work/server.log" &
spid=$!
for _ in $(seq 50); do grep -q 'otakit-server started' "$work/server.log" 2>/dev/null && break; sleep 0.1; done
export OTAKIT_SERVER_URL=http://127.0.0.1:$sport OTAKIT_TOKEN=$(cat "$work/data/admin.token")
"$bin/tools/otakit" keygen -k "$work/k.pem" --pub "$work/k.pub" >/dev/null
"$bin/tools/otakit" getpub -k "$work/k.pem" -e der -o "$work/k.der" >/dev/null
prod=$("$bin/tools/otakit" product create --json --id bench --name bench --key "$work/k.pub")
owner=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["owner_token"])' "$prod")
enroll=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["enroll_token"])' "$prod")
head -c "$size" /dev/urandom > "$work/fw.bin"
"$bin/tools/otakit" sign -k "$work/k.pem" -v 1.1.0 --product bench "$work/fw.bin" "$work/fw.img" >/dev/null
OTAKIT_TOKEN=$owner "$bin/tools/otakit" release upload --json --product bench "$work/fw.img" >/dev/null
dev=$(curl -sf -H "Authorization: Bearer $enroll" -H 'Content-Type: application/json' \
  -d '{"device_id":"bench-1","hw_rev":"a","version":"1.0.0","slot":0}' "$OTAKIT_SERVER_URL/api/v1/device/register")
devtok=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["device_token"])' "$dev")
curl -sf -o /dev/null -H "Authorization: Bearer $owner" -H 'Content-Type: application/json' \
  -d '{"type":"upgrade","release":"1.1.0"}' "$OTAKIT_SERVER_URL/api/v1/products/bench/devices/bench-1/commands"
hdr "1. end-to-end update of a $size B payload (signed image $(stat -c %s "$work/fw.img") B), otakit-server on loopback" \
  "build/release-bench/bench/agent_bench --server $OTAKIT_SERVER_URL --token DEVTOK --key k.der --product bench"
"$bin/bench/agent_bench" --server "$OTAKIT_SERVER_URL" --token "$devtok" --key "$work/k.der" --product bench
echo "(host: $(nproc) cores, $(uname -m); server with 2 threads on the same machine)"
for kb in 16 2; do
  hdr "1b. the same over the W5500 route, $kb KiB socket buffers (SPI frames counted by the emulator)" \
    "build/release-bench/bench/agent_bench --server $OTAKIT_SERVER_URL --token DEVTOK --key k.der --product bench --w5500 $kb"
  "$bin/bench/agent_bench" --server "$OTAKIT_SERVER_URL" --token "$devtok" --key "$work/k.der" --product bench --w5500 $kb
done
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true; spid=
[[ $only == w5500 ]] && exit 0

# ---- 2-3. RAM and code size on the target build -----------------------------------------------
# One place for these figures: bench/target.sh (the linked Cortex-M3 agent and bootloader of
# tests/target/, mbedTLS with the target configuration, its frames in the stack walk).
bash "$root/bench/target.sh" "$work/target"
