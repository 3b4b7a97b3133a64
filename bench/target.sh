#!/usr/bin/env bash
# Size and RAM of the whole agent and of the bootloader, measured on the target build: the two
# programs of tests/target/ as cmake/target.cmake links them for Cortex-M3 -Os (newlib-nano,
# --gc-sections, mbedTLS 2.28 with cmake/mbedtls-config-otakit.h), every object compiled with
# -fstack-usage -fcallgraph-info=su, mbedTLS included.
#   1. code: arm-none-eabi-size of each program, split by what the linker map says each byte is
#   2. RAM: static (.data + .bss, the mbedTLS heap buffer apart) and the worst stack path from main
#   bench/target.sh [BUILD_DIR]       (default build/target-bench)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/target-bench}
command -v arm-none-eabi-gcc >/dev/null || bash "$root/scripts/deps.sh"
mkdir -p "$out"
# The toolchain file's flags plus the stack usage files (-O and the rest as in every target build).
if ! { cmake -S "$root" -B "$out" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi-cortex-m3.cmake" \
         -DCMAKE_BUILD_TYPE=MinSizeRel \
         -DCMAKE_C_FLAGS_MINSIZEREL="-Os -DNDEBUG -fstack-usage -fcallgraph-info=su" &&
       cmake --build "$out" -j"$(nproc 2>/dev/null || echo 2)"; } >"$out/build.log" 2>&1; then
  tail -20 "$out/build.log" >&2
  echo "target.sh: the target build failed (log: $out/build.log)" >&2
  exit 1
fi
ver=$(sed -n 's/^#define MBEDTLS_VERSION_STRING *"\(.*\)"/\1/p' \
        "$(sed -n 's/^OTAKIT_MBEDTLS_SOURCE_DIR:PATH=//p' "$out/CMakeCache.txt")/include/mbedtls/version.h")
printf '\n######## target build: Cortex-M3 -Os, arm-none-eabi-gcc %s, newlib-nano, mbedTLS %s (cmake/mbedtls-config-otakit.h)\n' \
  "$(arm-none-eabi-gcc -dumpversion)" "$ver"
printf '# $ bash bench/target.sh   (tests/target/link_agent.c: ota_agent_step over HTTPS, the whole protocol; link_boot.c: ota_boot + ota_image_verify)\n'

(cd "$root" && python3 - "$out") <<'PY'
import os, re, subprocess, sys
out = sys.argv[1]
progs = [("agent", "otakit_link_agent"), ("boot", "otakit_link_boot")]
# Device objects by directory (the map names archive members by file name only).
srcdir = {}
for d, _, fs in os.walk("device"):
    for f in fs:
        if f.endswith(".c"): srcdir[f] = d[len("device/"):]
def group(obj, sec):
    m = re.search(r'libotakit_device\.a\((\w+)\.c\.obj\)', obj)
    if m:
        f = m.group(1)
        d = srcdir[f + ".c"]
        if f == "pull": return "pull"
        if f in ("loop", "proto", "jsonw") or f == "settings": return "agent loop"
        if d == "agent": return "protocol"
        if d == "net": return "http"
        if d == "ota": return "writer"
        if d == "image": return "verifier"
        if d == "crypto": return "crypto glue"
        return "core"
    if "libotakit_mbedtls.a" in obj: return "mbedtls tls"
    if "libotakit_mbedcrypto.a" in obj: return "mbedtls crypto"
    if "tests/target/" in obj: return "heap" if sec.endswith(".crypto_heap") else "program"
    if re.search(r'lib(c_nano|gcc|nosys|m)\.a|crt|/lib/gcc/', obj): return "libc"
    return "other"
ROWS = [("agent loop", "otakit agent: ota_agent_step, register/report/ack, JSON writer, settings"),
        ("protocol", "otakit protocol: check + JSON reader, compat, pre-check (agent/)"),
        ("http", "otakit HTTP client, URL, TLS glue (net/)"),
        ("pull", "otakit pull (agent/pull.c)"),
        ("writer", "otakit writer + control (ota/; boot: ota_slot_verify)"),
        ("core", "otakit core: boot, swap, journal, flash, presets, errors"),
        ("verifier", "otakit verifier (image/)"),
        ("crypto glue", "otakit crypto glue (crypto/mbedtls.c)"),
        ("mbedtls crypto", "mbedTLS crypto (SHA-256, bignum, ECP, ECDSA; agent: AES-GCM, DRBG)"),
        ("mbedtls tls", "mbedTLS TLS 1.2 client + X.509"),
        ("libc", "newlib-nano + libgcc (mem*, str*, division)"),
        ("program", "the program: main, stub port, vector table"),
        ("other", "linker fill, other (less what merging equal strings saved)")]
res = {}
for name, base in progs:
    elf, mp = "%s/%s.elf" % (out, base), "%s/%s.map" % (out, base)
    # Allocated output sections: code (read-only: flash), data (flash + RAM), bss (RAM).
    kind = {}
    hdr = subprocess.run(["arm-none-eabi-objdump", "-h", elf], capture_output=True, text=True).stdout.splitlines()
    for i, ln in enumerate(hdr):
        m = re.match(r'\s*\d+ (\S+)\s+([0-9a-f]+)', ln)
        if m and i + 1 < len(hdr) and "ALLOC" in hdr[i + 1]:
            fl = hdr[i + 1]
            kind[m.group(1)] = "code" if "READONLY" in fl else ("data" if "LOAD" in fl else "bss")
    acc, cur, pend = {}, None, None
    lines = open(mp).read().split("Linker script and memory map", 1)[1].splitlines()
    for ln in lines:
        m = re.match(r'^(\.\S+)', ln)
        if m: cur = m.group(1); pend = None; continue
        if cur not in kind: continue
        m = re.match(r'^ (\S+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s*(.*)$', ln)
        if m and not m.group(1).startswith("0x"):
            sec, sz, obj = m.group(1), int(m.group(2), 16), m.group(3).strip()
        else:
            m2 = re.match(r'^ (\S+)$', ln)
            if m2: pend = m2.group(1); continue
            m3 = re.match(r'^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$', ln)
            if not (m3 and pend): continue
            sec, sz, obj = pend, int(m3.group(1), 16), m3.group(2); pend = None
        if sec == "*fill*": obj = ""
        g = group(obj, sec)
        acc[(g, kind[cur])] = acc.get((g, kind[cur]), 0) + sz
    t, d, b = map(int, subprocess.run(["arm-none-eabi-size", elf], capture_output=True, text=True).stdout.splitlines()[1].split()[:3])
    # The map gives input sections before the linker merges equal strings (.rodata.str*, SHF_MERGE):
    # what merging saved is taken off "other", so the rows still add up to arm-none-eabi-size.
    merged = sum(v for (g, k), v in acc.items() if k == "code") - t
    assert 0 <= merged < 4096, (name, "map code != size text", merged)
    acc[("other", "code")] = acc.get(("other", "code"), 0) - merged
    assert sum(v for (g, k), v in acc.items() if k == "data") == d and sum(v for (g, k), v in acc.items() if k == "bss") == b
    res[name] = (acc, t, d, b)
c = lambda n, g, k="code": res[n][0].get((g, k), 0)
print("\n== 1. code (flash: .text + .rodata + vectors), bytes, from arm-none-eabi-size and the linker map")
print("  %-66s %7s %7s" % ("", "agent", "boot"))
for g, label in ROWS:
    print("  %-66s %7d %7d" % (label, c("agent", g), c("boot", g)))
print("  %-66s %7d %7d" % ("total (arm-none-eabi-size text)", res["agent"][1], res["boot"][1]))
ag = sum(c("agent", g) for g in ("agent loop", "protocol", "http", "pull", "writer"))
oc = sum(c("agent", g) for g in ("core", "verifier", "crypto glue"))
mb = c("agent", "mbedtls crypto") + c("agent", "mbedtls tls")
print("  agent: otakit agent loop + protocol + HTTP/TLS glue + pull + writer %d B; + core, verifier, crypto glue %d B;" % (ag, oc))
print("         + mbedTLS %d B (crypto %d, TLS/X.509 %d): otakit + mbedTLS %d B of the %d B linked" % (
      mb, c("agent", "mbedtls crypto"), c("agent", "mbedtls tls"), ag + oc + mb, res["agent"][1]))
bo = sum(c("boot", g) for g in ("core", "verifier", "crypto glue", "writer"))
print("  boot:  otakit core + verifier + crypto glue %d B; + mbedTLS crypto %d B: %d B of the %d B linked" % (
      bo, c("boot", "mbedtls crypto"), bo + c("boot", "mbedtls crypto"), res["boot"][1]))
print("\n== 2a. static RAM (.data + .bss), bytes")
for n in ("agent", "boot"):
    acc, t, d, b = res[n]
    heap = c(n, "heap", "bss")
    print("  %-6s data %4d + bss %6d = %6d: mbedTLS heap buffer %d, the rest %d (%s)" % (
        n, d, b, d + b, heap, d + b - heap,
        ", ".join("%s %d" % (lab, sum(c(n, g, k) for g in gs for k in ("data", "bss"))) for lab, gs in
                  (("program's otakit structures", ["program"]), ("otakit", ["agent loop", "protocol", "http", "pull", "writer", "core", "verifier", "crypto glue"]),
                   ("mbedTLS", ["mbedtls crypto", "mbedtls tls"]), ("libc", ["libc"]), ("other", ["other"])))))
with open(out + "/static.txt", "w") as f:
    for n in ("agent", "boot"): f.write("%s %d %d\n" % (n, res[n][2] + res[n][3], c(n, "heap", "bss")))
# The program's own static structures, by symbol (their sizes with the target's mbedTLS config).
for n, base in progs:
    syms = subprocess.run(["arm-none-eabi-nm", "-S", "-t", "d", "--size-sort", "%s/%s.elf" % (out, base)], capture_output=True, text=True).stdout
    mine = {"ctx", "tls", "http", "agent", "settings", "boot", "crypto_heap"}
    print("  %-6s %s" % (n, ", ".join("%s %d" % (l.split()[3], int(l.split()[1])) for l in syms.splitlines()
                                      if len(l.split()) == 4 and l.split()[2] in "bBdD" and l.split()[3] in mine)))
PY

# ---- worst stack path: the .ci call graphs of every object linked into each program -------------
printf '\n== 2b. stack, worst path from main (frames of otakit, mbedTLS and the program; -fstack-usage)\n'
(cd "$root" && python3 - "$out") <<'PY'
import os, re, subprocess, sys
out = sys.argv[1]
node = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
edge = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
short = lambda t: t.split(":")[-1]
# Indirect calls followed (caller -> possible callees, by name): what these programs set up.
# Not followed: the port's ops (flash, TCP, clock, entropy: the port's own stack) and libc.
SSL_HASH = ["ssl_calc_finished_tls_sha256", "ssl_calc_verify_tls_sha256", "ssl_update_checksum_start",
            "ssl_update_checksum_sha256", "tls_prf_sha256"]  # the handshake's hash callbacks
PK = {"mbedtls_pk_setup": ["eckey_alloc_wrap", "ecdsa_alloc_wrap"], "mbedtls_pk_free": ["eckey_free_wrap", "ecdsa_free_wrap"],
      "mbedtls_pk_can_do": ["eckey_can_do", "ecdsa_can_do"], "mbedtls_pk_get_bitlen": ["eckey_get_bitlen"],
      "mbedtls_pk_verify_restartable": ["eckey_verify_wrap", "ecdsa_verify_wrap"]}
CIPHER = {"mbedtls_cipher_setup": ["aes_ctx_alloc", "gcm_ctx_alloc"], "mbedtls_cipher_free": ["aes_ctx_free", "gcm_ctx_free"],
          "mbedtls_cipher_setkey": ["aes_setkey_enc_wrap", "aes_setkey_dec_wrap", "gcm_aes_setkey_wrap"],
          "mbedtls_cipher_update": ["aes_crypt_ecb_wrap"]}
READERS = ["control.c:ota_area_read", "ota_area_read", "ota_mem_read", "stub_slot_read"]  # ota_read_fn
FOLLOW = {
    "ota_http_body": ["pull.c:sink", "proto.c:discard"],       # the body sinks of ota_pull_image, reports
    "save": ["settings.c:flash_save"], "ota_agent_init": ["settings.c:flash_load"],  # the agent's settings
    "report": ["loop.c:on_progress"],                          # the pull's progress callback: a report
    "ota_http_request": ["tls.c:tls_connect", "tls.c:tls_send", "tls.c:tls_recv", "tls.c:tls_close"],  # HTTPS transport
    "send_all": ["tls.c:tls_send"], "fill": ["tls.c:tls_recv"], "ota_http_close": ["tls.c:tls_close"],
    "mbedtls_calloc": ["memory_buffer_alloc.c:buffer_alloc_calloc"], "mbedtls_free": ["memory_buffer_alloc.c:buffer_alloc_free"],
    "mpi_fill_random_internal": ["mbedtls_ctr_drbg_random"],
}
FOLLOW["mbedtls_ssl_fetch_input"] = ["tls.c:bio_recv"]
FOLLOW["mbedtls_ssl_flush_output"] = ["tls.c:bio_send"]
FOLLOW["mbedtls_ssl_handshake_client_step"] = SSL_HASH + ["mbedtls_ctr_drbg_random"]  # + the client random
for f in ("mbedtls_ssl_derive_keys", "mbedtls_ssl_handshake_wrapup", "mbedtls_ssl_parse_finished", "mbedtls_ssl_write_finished",
          "mbedtls_ssl_read", "mbedtls_ssl_update_handshake_status", "mbedtls_ssl_write_handshake_msg"):
    FOLLOW[f] = SSL_HASH
FOLLOW.update(PK)
FOLLOW.update(CIPHER)
for f in ("ota_image_verify", "ota_image_hash", "ota_image_read_protected", "ota_image_layout", "ota_tlv_next", "read_info"):
    FOLLOW[f] = READERS
# The port's ops (flash, TCP, clock, sleep, entropy, bank select), called through ota_*_ops_t.
PORT = {"bio_send", "bio_recv", "tls_close", "ota_flash_read", "ota_flash_write", "ota_flash_erase", "ota_boot",
        "ota_deadline_wait", "ota_http_set_deadline", "mbedtls_ctr_drbg_reseed_internal", "chip_read",
        "do_reset", "emit", "say", "now", "ota_agent_step"}  # + the agent's hooks (log, event, reset, consent, self_test)
worst = {}
for prog in ("agent", "boot"):
    frame, edges = {}, {}
    dirs = ["%s/CMakeFiles/otakit_link_%s.dir" % (out, prog), out + "/device", out + "/CMakeFiles/otakit_mbedcrypto.dir"]
    if prog == "agent": dirs.append(out + "/CMakeFiles/otakit_mbedtls.dir")
    for d in dirs:
        for a, _, fs in os.walk(d):
            for f in fs:
                if not f.endswith(".ci"): continue
                for ln in open(os.path.join(a, f)):
                    m = node.search(ln)
                    if m:
                        b = re.search(r'\\n(\d+) bytes \(([a-z,]+)\)', m.group(2))
                        if b: frame[m.group(1)] = int(b.group(1))
                        continue
                    m = edge.search(ln)
                    if m: edges.setdefault(m.group(1), set()).add(m.group(2))
    elf = "%s/otakit_link_%s.elf" % (out, prog)
    linked = set(l.split()[-1] for l in subprocess.run(["arm-none-eabi-nm", elf], capture_output=True, text=True).stdout.splitlines())
    # Callees by name, only those linked into this program.
    resolve = lambda n: [t for t in frame if (t == n or t.endswith("/" + n) or t.endswith(":" + n)) and short(t) in linked]
    unres, port = set(), set()
    def cost(t, seen):
        if t not in frame: return (0, [])
        best, kids = (0, []), set(edges.get(t, ()))
        if "__indirect_call" in kids:
            kids.discard("__indirect_call")
            if short(t) in FOLLOW: kids.update(x for n in FOLLOW[short(t)] for x in resolve(n))
            else: (port if short(t) in PORT else unres).add(short(t))
        for k in kids:
            if k in seen: continue  # recursion cut (mbedTLS's x509 chain walk is a loop, not recursion)
            v = cost(k, seen | {k})
            if v[0] > best[0]: best = v
        return (frame[t] + best[0], ["%s(%d)" % (short(t), frame[t])] + best[1])
    for r in (["main", "ota_agent_step", "ota_check_request", "ota_pull_image", "ota_tls_init"] if prog == "agent" else ["main", "ota_boot"]):
        unres.clear(); port.clear()
        n, path = cost(r, {r})
        print("  %-5s %-18s %5d B  %s" % (prog, r, n, " > ".join(path)))
        if r == "main": worst[prog] = n
    print("  %-5s not followed below main: port ops called from %s; other indirect calls from %s" % (
        prog, ", ".join(sorted(port)) or "none", ", ".join(sorted(unres)) or "none"))
print("  (Followed: HTTP -> TLS transport, body -> pull's sink, mbedTLS's calloc/free, RNG, SSL bio, PK and\n"
      "   cipher dispatch. Not counted: the port's own ops (flash, TCP, clock, entropy), libc (mem*, str*),\n"
      "   interrupts. mbedTLS is compiled with -fstack-usage too, so its frames are included. An upper bound\n"
      "   of the static call graph: a path the graph allows but a run never takes counts too.)")
print("\n== RAM, static + worst stack from main")
for ln in open(out + "/static.txt"):
    n, st, heap = ln.split(); st, heap = int(st), int(heap)
    print("  %-5s %6d + %5d = %6d B  (%d B of it the mbedTLS heap buffer; without it %d B)" % (n, st, worst[n], st + worst[n], heap, st + worst[n] - heap))
PY
