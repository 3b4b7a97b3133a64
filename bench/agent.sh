#!/usr/bin/env bash
# Device agent benchmark, every figure measured in this run:
#   1. end-to-end update of a 1 MiB signed image from a real otakit-server on loopback into the
#      simulated flash with a timing model (bench/agent.c), against the pure flash time
#   2. agent RAM for Cortex-M3: static structures (arm-none-eabi-nm -S) and worst stack path of
#      ota_pull_image / ota_check_request / ota_end / ota_boot (-fstack-usage -fcallgraph-info=su)
#   3. code size for Cortex-M3 -Os: agent objects and the whole device library
#   bench/agent.sh [IMAGE_BYTES]      (default 1048576)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size=${1:-1048576}
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
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true; spid=

# ---- 2. RAM for Cortex-M3 ------------------------------------------------------------------
cc=(arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -Os -std=c99 -ffunction-sections -fdata-sections)
mkdir -p "$work/m3/include" "$work/su"
cp -r /usr/include/mbedtls "$work/m3/include/" # headers only, as scripts/cross-check.sh does
cat > "$work/ram.c" <<'EOF'
#include "otakit/agent.h"
#include "otakit/http.h"
#include "otakit/ota.h"
#include "otakit/tls.h"
ota_ctx_t ram_ota_ctx_t;           /* core state (journal + streaming writer) */
ota_http_t ram_ota_http_t;         /* HTTP client incl. its OTA_HTTP_BUF_SIZE buffer */
ota_check_t ram_ota_check_t;       /* parsed check answer */
char ram_check_buf[2048];          /* check answer buffer (agent.h: 2 KB suffices) */
ota_tls_t ram_ota_tls_t;           /* TLS client (mbedTLS contexts; their own heap not included) */
EOF
hdr "2a. agent RAM, static (Cortex-M3 view)" \
  "arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -Os -c ram.c && arm-none-eabi-nm -S -t d ram.o"
"${cc[@]}" -I"$root/device/include" -I"$work/m3/include" -c "$work/ram.c" -o "$work/ram.o"
arm-none-eabi-nm -S -t d --size-sort "$work/ram.o" | awk '
  { n=$2+0; name=$4; sub(/^ram_/,"",name); sz[name]=n; printf "  %-16s %6d B\n", name, n }
  END { plain = sz["ota_ctx_t"] + sz["ota_http_t"] + sz["ota_check_t"] + sz["check_buf"]
        printf "  total, plain HTTP (ctx + http + check + check_buf): %d B\n", plain
        printf "  total, HTTPS (+ ota_tls_t):                         %d B (mbedTLS heap for the handshake not included)\n", plain + sz["ota_tls_t"] }'

hdr "2b. agent stack, worst path (Cortex-M3 -Os, our code only)" \
  "arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -Os -fstack-usage -fcallgraph-info=su -c device/**/*.c; walk the .ci call graphs"
(cd "$root" && find device -name '*.c' | sort) | while read -r s; do
  "${cc[@]}" -fstack-usage -fcallgraph-info=su -I"$root/device/include" -I"$root/device" -I"$work/m3/include" \
    -c "$root/$s" -o "$work/su/$(echo "$s" | tr / _).o" -dumpbase "$work/su/$(echo "$s" | tr / _)"
done
(cd "$root" && python3 - "$work/su") <<'PY'
import glob, re, sys
frame, dyn, edges, ext = {}, {}, {}, set()
node = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
edge = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
for f in glob.glob(sys.argv[1] + "/*.ci"):
    for ln in open(f):
        m = node.search(ln)
        if m:
            t, lab = m.groups()
            b = re.search(r'\\n(\d+) bytes \(([a-z,]+)\)', lab)
            if b:
                frame[t] = int(b.group(1)); dyn[t] = b.group(2)
            continue
        m = edge.search(ln)
        if m:
            edges.setdefault(m.group(1), set()).add(m.group(2))
# Indirect calls: flash ops and the TCP/TLS transport are the port's (not counted); the one
# indirect call into our own code is ota_http_body() -> the body sink (pull.c's sink), added here.
CALLBACKS = {"ota_http_body": [t for t in frame if t.endswith("agent/pull.c:sink")]}
def cost(t, seen):
    if t not in frame:
        if t.startswith("mbedtls_"): ext.add(t)
        return (0, [])
    best = (0, [])
    kids = set(edges.get(t, ()))
    if "__indirect_call" in kids:
        kids.discard("__indirect_call")
        kids.update(CALLBACKS.get(t, []))
    for c in kids:
        if c in seen: continue  # recursion is cut here (none expected)
        v = cost(c, seen | {c})
        if v[0] > best[0]: best = v
    return (frame[t] + best[0], [t.split(":")[-1] + "(%d)" % frame[t]] + best[1])
for root in ["ota_check_request", "ota_pull_image", "ota_end", "ota_boot", "ota_init"]:
    ext.clear()
    n, path = cost(root, {root})
    print("  %-18s %5d B   %s" % (root, n, " > ".join(path)))
    if ext: print("  %-18s           + mbedTLS below, frames not available (%d functions: %s)" % ("", len(ext), ", ".join(sorted(ext)[:4]) + (", ..." if len(ext) > 4 else "")))
print("  dynamic-size frames in the library: %s" % (", ".join(sorted(t for t, d in dyn.items() if d != "static")) or "none"))
print("  (frames of our code only. Indirect calls into the port - flash ops, TCP/TLS transport, user\n"
      "   callbacks - are not counted; ota_http_body's call of pull.c's sink is. Add the port's, the\n"
      "   callbacks' and mbedTLS's stack: SHA-256 is small, ECDSA verify and the TLS handshake are not.)")
PY

# ---- 3. code size for Cortex-M3 -Os ----------------------------------------------------------
hdr "3. code size, Cortex-M3 -Os (arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion))" \
  "bash scripts/cross-check.sh TMP && arm-none-eabi-size TMP/cortex-m3/device/CMakeFiles/otakit_device.dir/*/*.obj"
bash "$root/scripts/cross-check.sh" "$work/cross" | sed 's/^/  /'
arm-none-eabi-size "$work"/cross/cortex-m3/device/CMakeFiles/otakit_device.dir/*/*.c.obj | awk 'NR>1 {
    o=$6; sub(/.*otakit_device\.dir\//,"",o); sub(/\.c\.obj$/,"",o); gsub(/\//,"_",o)
    agent = (o ~ /^net_(http|url|tls|push)$/ || o ~ /^agent_/)
    printf "  %-20s text %6d  data %4d  bss %5d%s\n", o, $1, $2, $3, agent ? "   [agent]" : ""
    if (agent) { at+=$1; ad+=$2; ab+=$3 } tt+=$1; td+=$2; tb+=$3 }
  END { printf "  agent (net/http,url,tls,push + agent/*): text %d B, data %d B, bss %d B\n", at, ad, ab
        printf "  core (all but the agent: verifier, journal, swap, boot, writer, presets, helpers): text %d B\n", tt - at
        printf "  whole device library:                   text %d B, data %d B, bss %d B (mbedTLS not included)\n", tt, td, tb }'
