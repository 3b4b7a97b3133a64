#!/usr/bin/env bash
# Update server speed against nginx on the same machine, measured in one run with wrk:
#   1. firmware download (1 MiB image): otakit-server (device token, sendfile) vs nginx (static file)
#   2. device check rate: otakit-server (token lookup + SQLite + JSON) vs nginx serving the same JSON
#   3. devices held polling at once, and server memory per held connection
# Prints each figure and the otakit/nginx ratio.   bench/server.sh [SECONDS_PER_RUN] [HELD_DEVICES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-8}
held=${2:-5000}
bash "$root/scripts/deps.sh" --bench
cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release -DOTAKIT_TESTS=OFF >/dev/null
cmake --build "$root/build/release" -j"$(nproc)" --target otakit-server otakit >/dev/null
bin=$root/build/release
source "$root/bench/serve_lib.sh"
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null || true

# otakit-server with one product, one 1 MiB release and one device
start_server
make_product bench
head -c 1048576 /dev/urandom > "$work/fw.bin"
"$bin/tools/otakit" sign -k "$work/k.pem" -v 1.1.0 --product bench "$work/fw.bin" "$work/fw.img" >/dev/null
OTAKIT_TOKEN=$owner "$bin/tools/otakit" release upload --json --product bench "$work/fw.img" >/dev/null
sha=$(sha256sum "$work/fw.img" | cut -d' ' -f1)
dev=$(curl -sf -H "Authorization: Bearer $enroll" -H 'Content-Type: application/json' \
  -d '{"device_id":"bench-1","hw_rev":"a","version":"1.0.0","slot":0}' "$OTAKIT_SERVER_URL/api/v1/device/register")
devtok=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["device_token"])' "$dev")
check_path="/api/v1/device/check?version=1.0.0&slot=0"

# nginx with the same file and the same check answer
mkdir -p "$work/www"
cp "$work/fw.img" "$work/www/fw.img"
curl -sf -H "Authorization: Bearer $devtok" "$OTAKIT_SERVER_URL$check_path" > "$work/www/check.json"
start_nginx 'sendfile on; tcp_nopush on; keepalive_requests 100000;
  types { application/json json; application/octet-stream img; }'
# Both must answer the same bytes, or the comparison means nothing.
cmp -s <(curl -sf "http://127.0.0.1:$nport/fw.img") "$work/fw.img" || { echo "nginx does not serve the image" >&2; exit 1; }
cmp -s <(curl -sf -H "Authorization: Bearer $devtok" "$OTAKIT_SERVER_URL/api/v1/artifacts/$sha") "$work/fw.img" ||
  { echo "otakit-server does not serve the image" >&2; exit 1; }

rate() { # wrk ... -> "requests/s MB/s"
  wrk -t2 -c"$1" -d"${secs}s" "${@:2}" | awk '/Requests\/sec/{r=$2} /Transfer\/sec/{t=$2; u=t; gsub(/[0-9.]/,"",u); v=t+0; if(u=="KB")v/=1024; if(u=="GB")v*=1024; m=v} END{printf "%.0f %.1f\n", r, m}'
}
echo "== download, 1 MiB image, 16 connections, ${secs}s each"
read -r o_rps o_mbs < <(rate 16 -H "Authorization: Bearer $devtok" "$OTAKIT_SERVER_URL/api/v1/artifacts/$sha")
read -r n_rps n_mbs < <(rate 16 "http://127.0.0.1:$nport/fw.img")
awk -v a="$o_mbs" -v b="$n_mbs" -v ar="$o_rps" -v br="$n_rps" 'BEGIN{printf "otakit %7.1f MB/s (%d req/s)   nginx %7.1f MB/s (%d req/s)   ratio %.2f\n", a, ar, b, br, a/b}'
echo "== device check, 64 connections, ${secs}s each"
read -r o_rps o_mbs < <(rate 64 -H "Authorization: Bearer $devtok" "$OTAKIT_SERVER_URL$check_path")
read -r n_rps n_mbs < <(rate 64 "http://127.0.0.1:$nport/check.json")
awk -v a="$o_rps" -v b="$n_rps" 'BEGIN{printf "otakit %8d checks/s   nginx %8d static JSON/s   ratio %.2f\n", a, b, a/b}'
echo "== devices held polling at once"
python3 "$root/bench/hold.py" "$sport" "$devtok" "$spid" "$held"
echo "(2 wrk threads; server and nginx with $(nproc) workers each on a $(nproc)-core machine)"
