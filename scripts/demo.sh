#!/usr/bin/env bash
# otakit main job: the update server with its embedded SQLite database, and a live demo on it.
#   1. sign firmware, verify it, watch a tampered image get refused
#   2. start otakit-server, create a product, publish 1.1.0 (healthy) and 1.2.0 (fails its self-test)
#   3. roll both out in stages to a fleet of simulated devices (otakit-device: the real bootloader and
#      agent on simulated flash) and watch them update, then roll back from 1.2.0 and the rollout pause
#   4. leave the server running to explore (OTAKIT_DEMO_EXIT=1 stops it at the end instead)
#   scripts/demo.sh [BUILD_DIR]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-$root/build/release}")
otakit=$build/tools/otakit
server=$build/server/otakit-server
device=$build/tools/sim/otakit-device
dir=$root/demo
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '$ %s\n' "$*"; "$@"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

step "1. Sign firmware, verify it, refuse a tampered copy"
show "$otakit" keygen -k signing.pem --pub signing.pub.pem || exit 1
# Simulated firmware: the payload names its version and how it behaves once booted.
for vb in 1.0.0:healthy 1.1.0:healthy 1.2.0:nonet; do
  v=${vb%%:*}
  "$device" mkfw --version "$v" --behaviour "${vb##*:}" --size 65536 "fw-$v.bin" >/dev/null || exit 1
  "$otakit" sign -k signing.pem -v "$v" --security-counter 1 --product demo-thermostat \
    "fw-$v.bin" "fw-$v.img" >/dev/null || exit 1
done
show "$otakit" verify -k signing.pub.pem --product demo-thermostat fw-1.1.0.img || exit 1
cp fw-1.1.0.img tampered.img && printf '\x00' | dd of=tampered.img bs=1 seek=5000 conv=notrunc status=none
show "$otakit" verify -k signing.pub.pem tampered.img; echo "(exit code $?)"

step "2. Start otakit-server (SQLite database and artifacts in demo/server-data)"
port=8080
python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $port))" 2>/dev/null ||
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$server" --listen 127.0.0.1:$port --data server-data 2> server.log &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null' EXIT
for _ in $(seq 50); do grep -q 'otakit-server started' server.log && break; sleep 0.1; done
grep 'otakit-server started' server.log || { cat server.log; exit 1; }
export OTAKIT_SERVER_URL=http://127.0.0.1:$port
admin=$(cat server-data/admin.token)

step "3. Create the product and publish two releases"
prod=$(OTAKIT_TOKEN=$admin "$otakit" product create --json --id demo-thermostat --name "Demo Thermostat" \
       --key signing.pub.pem) || exit 1
echo "$prod" | python3 -m json.tool
owner=$(echo "$prod" | field 'd["owner_token"]')
enroll=$(echo "$prod" | field 'd["enroll_token"]')
export OTAKIT_TOKEN=$owner
"$otakit" release upload --product demo-thermostat --notes "healthy" fw-1.1.0.img >/dev/null || exit 1
"$otakit" release upload --product demo-thermostat --notes "fails its self-test (cannot reach the network)" fw-1.2.0.img >/dev/null || exit 1
show "$otakit" release list --product demo-thermostat

step "4. Eight simulated devices (real bootloader + agent, simulated flash) start on 1.0.0 and register"
fleet() { # one settle round of the whole fleet; prints its summary line
  "$device" --server "$OTAKIT_SERVER_URL" --enroll "$enroll" --id demo --dir fleet --key signing.pub.pem \
    --product demo-thermostat --factory fw-1.0.0.img --fleet 8 --once --poll 1 --commit-window 1500 \
    > fleet.log 2>&1
  local rc=$?
  grep '^fleet:' fleet.log | sed 's/^/  /'
  return $rc
}
fleet || { cat fleet.log; exit 1; }
step "5. Roll out 1.1.0 in two stages (25%, then everyone once they confirm)"
echo '$ otakit rollout create --product demo-thermostat --release 1.1.0 --stages 25,100'
"$otakit" rollout create --product demo-thermostat --release 1.1.0 --stages 25,100 >/dev/null || exit 1
fleet || { cat fleet.log; exit 1; }   # the first stage updates and confirms: the rollout advances
fleet || { cat fleet.log; exit 1; }   # everyone else
rollout_summary() { # the CLI's summary of a rollout: state, a bar and counts per stage
  "$otakit" rollout show --product demo-thermostat "$1" | sed 's/^/  /'
}
rollout_summary 1 | tee rollout1.txt
grep -q 'finished' rollout1.txt || { echo "the 1.1.0 rollout did not finish" >&2; exit 1; }

step "6. Roll out 1.2.0: its self-test fails, the bootloader rolls it back, the rollout pauses itself"
echo '$ otakit rollout create --product demo-thermostat --release 1.2.0 --stages 25,100 --errors 0.2'
"$otakit" rollout create --product demo-thermostat --release 1.2.0 --stages 25,100 --errors 0.2 >/dev/null || exit 1
fleet || { cat fleet.log; exit 1; }
rollout_summary 2 | tee rollout2.txt
grep -q 'paused' rollout2.txt || { echo "the 1.2.0 rollout did not pause itself" >&2; exit 1; }

step "7. The fleet now"
show "$otakit" device list --product demo-thermostat

"$otakit" device list --json --product demo-thermostat | python3 -c '
import json, sys
d = json.load(sys.stdin)["devices"]
by = {}
for x in d:
    by[(x["version"], x["state"])] = by.get((x["version"], x["state"]), 0) + 1
print("Summary: %d devices; " % len(d) + "; ".join("%d on %s (%s)" % (n, v, st) for (v, st), n in sorted(by.items())))
print("         'failed' devices tried 1.2.0, its self-test failed, and their bootloader rolled them back to 1.1.0;")
print("         the 1.2.0 rollout paused itself before reaching the other stages.")'

step "Done"
cat <<TXT
Dashboard:    $OTAKIT_SERVER_URL/   (open it in a browser; log in with the admin token below)
Server:       $OTAKIT_SERVER_URL   (log: demo/server.log, data: demo/server-data)
Admin token:  demo/server-data/admin.token      Owner token: $owner
Try:          OTAKIT_SERVER_URL=$OTAKIT_SERVER_URL OTAKIT_TOKEN=$owner $otakit device show --product demo-thermostat demo-000
              curl -H "Authorization: Bearer $owner" $OTAKIT_SERVER_URL/api/v1/products/demo-thermostat/rollouts
TXT
if [[ ${OTAKIT_DEMO_EXIT:-} == 1 || ! -t 0 ]]; then
  echo "(stopping the server: OTAKIT_DEMO_EXIT=1 or no terminal)"
  exit 0
fi
# The fleet keeps checking in (every 2 s) while the server runs, so what the dashboard shows moves:
# cancel the paused 1.2.0 rollout there, or resume it, and watch the devices take it.
"$device" --server "$OTAKIT_SERVER_URL" --enroll "$enroll" --id demo --dir fleet --key signing.pub.pem \
  --product demo-thermostat --factory fw-1.0.0.img --fleet 8 --poll 2 --commit-window 1500 > fleet-live.log 2>&1 &
fpid=$!
trap 'kill $fpid $spid 2>/dev/null; wait $fpid $spid 2>/dev/null' EXIT
echo "The server and the fleet keep running (fleet log: demo/fleet-live.log); press Ctrl-C to stop them."
wait $spid
