#!/usr/bin/env bash
# packaging/systemd/otakit-server.service: systemd-analyze verify finds nothing wrong with it (its
# ExecStart pointed at the built server), its hardening rates "OK" or better in systemd-analyze
# security, and the flags it passes are ones the server takes. Skipped (exit 77 -> ctest skip)
# where systemd-analyze is not installed.
#   tests/package/test_service_unit.sh SOURCE_DIR path/to/otakit-server
set -euo pipefail
src=$1 server=$(realpath "$2")
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/bin/otakit-server|$server|" "$src/packaging/systemd/otakit-server.service" > "$dir/otakit-server.service"
out=$(systemd-analyze verify "$dir/otakit-server.service" 2>&1) || { echo "verify failed: $out"; exit 1; }
[[ -z $out ]] || { echo "verify complained: $out"; exit 1; }
sec=$(systemd-analyze security --offline=yes "$dir/otakit-server.service" 2>&1 | tail -1)
echo "$sec"
level=$(sed -n 's/.*exposure level for otakit-server.service: \([0-9.]*\).*/\1/p' <<<"$sec")
[[ -n $level ]] && awk -v l="$level" 'BEGIN { exit !(l < 2.0) }' || { echo "exposure level '$level' is above 2.0"; exit 1; }
# The ExecStart flags run: --data with a fresh directory starts and answers /healthz.
data=$dir/data
"$server" --listen 127.0.0.1:0 --data "$data" 2>"$dir/log" & pid=$!
for _ in $(seq 50); do grep -q 'otakit-server started' "$dir/log" && break; sleep 0.1; done
url=$(sed -n 's/.*otakit-server started" url=\([^ ]*\).*/\1/p' "$dir/log")
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")
kill "$pid"; wait "$pid" || true
[[ $code == 200 ]] || { echo "healthz answered $code"; cat "$dir/log"; exit 1; }
