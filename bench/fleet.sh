#!/usr/bin/env bash
# A fleet on one box (issue 15): enrolls simulated devices (bench/fleet_load.c: a few threads
# with keep-alive connections, each device a token, not a process), grows the fleet to 1,000,
# 10,000 and 100,000 devices and at each size runs a staged rollout (1% / 10% / 100%) to
# completion, then measures device check-ins against nginx serving the same answer as a static
# JSON in the same run. Prints, per size: the time to create the rollout, report latency p50/p99
# and server CPU per updated device; then check-ins/s (otakit and nginx), the checks answered
# from a read transaction vs. those that took the write transaction, and the server's RSS.
#
#   bench/fleet.sh            the full run (1k / 10k / 100k devices; ~10 minutes on 2 cores)
#   bench/fleet.sh --brief    50 / 200 / 500 devices, 2 s of checks: what CI runs so this script
#                             cannot rot (FLEET_BIN=<build dir> uses that build instead of building)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${1:-} == --brief ]]; then
  sizes=(50 200 500) secs=2
else
  sizes=(1000 10000 100000) secs=10
fi
conns=${FLEET_CONNS:-16}
if [[ -n ${FLEET_BIN:-} ]]; then
  bin=$FLEET_BIN
else
  bash "$root/scripts/deps.sh" --bench
  cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release -DOTAKIT_TESTS=OFF >/dev/null
  cmake --build "$root/build/release" -j"$(nproc)" --target otakit-server otakit fleet_load >/dev/null
  bin=$root/build/release
fi
command -v nginx >/dev/null || { echo "fleet.sh: nginx is missing (scripts/deps.sh --bench installs it)" >&2; exit 1; }
load=$bin/bench/fleet_load
otakit=$bin/tools/otakit
source "$root/bench/serve_lib.sh"
ulimit -n 65536 2>/dev/null || true
kv() { sed -n "s/^$1=//p" "$2"; } # value of key in a fleet_load output file
cpu_ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
metric() { curl -sf -H "Authorization: Bearer $OTAKIT_TOKEN" "$OTAKIT_SERVER_URL/metrics" | sed -n "s/^$1 //p"; }

start_server --access-log off
make_product fleet
head -c 65536 /dev/urandom > "$work/fw.bin"
for i in 1 2 3; do
  "$otakit" sign -k "$work/k.pem" -v 1.$i.0 --product fleet "$work/fw.bin" "$work/fw$i.img" >/dev/null
  OTAKIT_TOKEN=$owner "$otakit" release upload --json --product fleet "$work/fw$i.img" >/dev/null
done

echo "== fleet: staged rollouts (1% / 10% / 100%) to completion, $conns connections, $(nproc) server threads"
printf '%8s %10s %12s %12s %14s %10s\n' devices create_s report_p50 report_p99 cpu_ms/device rollout_s
have=0 from=1.0.0 i=0
: > "$work/tokens"
for n in "${sizes[@]}"; do
  i=$((i + 1)) to=1.$i.0
  # the devices enrolled now run what the fleet runs (the earlier ones took the last rollout)
  "$load" register 127.0.0.1 "$sport" "$enroll" dev "$have" $((n - have)) "$conns" "$work/tokens" "$from" \
    > "$work/reg.txt" || { cat "$work/reg.txt" >&2; exit 1; }
  have=$n
  create_s=$(curl -sf -o "$work/ro.json" -w '%{time_total}' -H "Authorization: Bearer $owner" \
    -H 'Content-Type: application/json' \
    -d "{\"release\":\"$to\",\"target\":{},\"stages\":[{\"percent\":1},{\"percent\":10},{\"percent\":100}]}" \
    "$OTAKIT_SERVER_URL/api/v1/products/fleet/rollouts")
  c0=$(cpu_ticks)
  "$load" rollout 127.0.0.1 "$sport" "$work/tokens" "$n" "$conns" "$from" "$to" 1800 > "$work/ro$i.txt" ||
    { cat "$work/ro$i.txt" >&2; echo "fleet.sh: the rollout to $to did not complete" >&2; exit 1; }
  c1=$(cpu_ticks)
  awk -v n="$n" -v c="$create_s" -v p50="$(kv report_p50_ms "$work/ro$i.txt")" -v p99="$(kv report_p99_ms "$work/ro$i.txt")" \
      -v cpu=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v s="$(kv rollout_s "$work/ro$i.txt")" \
      'BEGIN{printf "%8d %10.3f %10.2fms %10.2fms %14.3f %10.1f\n", n, c, p50, p99, cpu*1000/hz/n, s}'
  echo "$n $(kv report_p50_ms "$work/ro$i.txt") $(kv report_p99_ms "$work/ro$i.txt")" >> "$work/lat"
  from=$to
done
awk 'NR==1{n=$1; a=$2; b=$3} END{printf "report latency at %d vs %d devices: p50 x%.2f, p99 x%.2f (flat: within 2x)\n", $1, n, $2/a, $3/b}' "$work/lat"

echo "== check-ins, $conns connections, ${secs}s each, every device of the fleet in turn"
mkdir -p "$work/www/api/v1/device"
head -1 "$work/tokens" > "$work/tok1"
curl -sf -H "Authorization: Bearer $(cat "$work/tok1")" "$OTAKIT_SERVER_URL/api/v1/device/check?version=$from&slot=0" \
  > "$work/www/api/v1/device/check"
start_nginx 'keepalive_requests 1000000; default_type application/json;'
curl -sf "http://127.0.0.1:$nport/api/v1/device/check" >/dev/null || { echo "fleet.sh: nginx does not serve the check" >&2; exit 1; }
path="/api/v1/device/check?version=$from&slot=0"
ro0=$(metric otakit_checks_read_only_total) all0=$(metric otakit_checks_total) w0=$(metric otakit_checks_writing_total)
"$load" check 127.0.0.1 "$sport" "$work/tokens" "$have" "$secs" "$conns" "$path" > "$work/chk_o.txt"
ro1=$(metric otakit_checks_read_only_total) all1=$(metric otakit_checks_total) w1=$(metric otakit_checks_writing_total)
"$load" check 127.0.0.1 "$nport" "$work/tokens" "$have" "$secs" "$conns" "$path" > "$work/chk_n.txt"
[[ $(kv errors "$work/chk_o.txt") == 0 && $(kv errors "$work/chk_n.txt") == 0 ]] ||
  { echo "fleet.sh: check errors" >&2; cat "$work/chk_o.txt" "$work/chk_n.txt" >&2; exit 1; }
awk -v a="$(kv per_s "$work/chk_o.txt")" -v b="$(kv per_s "$work/chk_n.txt")" \
    -v ap="$(kv latency_p99_ms "$work/chk_o.txt")" -v bp="$(kv latency_p99_ms "$work/chk_n.txt")" \
  'BEGIN{printf "otakit %8d checks/s (p99 %.2f ms)   nginx %8d static JSON/s (p99 %.2f ms)   ratio %.2f\n", a, ap, b, bp, a/b}'
n=$((all1 - all0))
echo "checks: $n, answered from a read transaction $((ro1 - ro0)), took the write transaction $((n - (ro1 - ro0))), wrote rows $((w1 - w0))" \
  "(last_seen: batched, see docs/server.md 'Fleet scale')"
awk '/^VmRSS|^VmHWM/{printf "server %s %d MB  ", $1, $2/1024} END{print ""}' "/proc/$spid/status"
echo "($(nproc)-core machine; server $(nproc) threads, nginx $(nproc) workers, $conns client connections)"
