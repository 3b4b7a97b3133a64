#!/usr/bin/env bash
# Figures of the MPS2 AN385 port (ports/mps2-an385): the real bootloader and application binaries
# as the target build links them (Cortex-M3 -Os, newlib-nano, --gc-sections, mbedTLS 2.28 and
# lwIP 2.1 from Debian's sources), and one 256 KiB update run under qemu-system-arm; the same for the
# application's W5500 build (no lwIP: the W5500 driver, its SPI over UART1 to w5500-uart-bridge).
#   1. code by part (arm-none-eabi-size + the linker map): bootloader with and without mbedTLS,
#      application (lwIP build, W5500 build): agent, HTTP, lwIP or W5500 driver, LAN9118 driver,
#      board port, mbedTLS, libc
#   2. RAM: static (.data + .bss), heap (no allocator is linked: 0), stack high-water mark of the
#      painted stack measured in QEMU (bootloader during a swap, application during a pull), and
#      the worst path of the -fstack-usage call graphs (bench/qemu_stack.py)
#   3. update time of a 256 KiB image in QEMU (wall clock: flash is RAM there) against the flash
#      time of the part modeled (STM32F4, datasheet typical erase and program times)
#   bench/qemu.sh [BUILD_DIR]        (default build/qemu-bench)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/qemu-bench}
bash "$root/scripts/deps.sh"
mkdir -p "$out"
jobs=$(nproc 2>/dev/null || echo 2)
if ! { cmake -S "$root" -B "$out/host" -DCMAKE_BUILD_TYPE=Release &&
       cmake --build "$out/host" -j"$jobs" --target otakit otakit-server w5500-uart-bridge &&
       cmake -S "$root" -B "$out/m3" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi-cortex-m3.cmake" \
             -DCMAKE_BUILD_TYPE=MinSizeRel -DCMAKE_C_FLAGS_MINSIZEREL="-Os -DNDEBUG -fstack-usage -fcallgraph-info=su" &&
       cmake --build "$out/m3" -j"$jobs"; } >"$out/build.log" 2>&1; then
  tail -20 "$out/build.log" >&2
  echo "qemu.sh: the build failed (log: $out/build.log)" >&2
  exit 1
fi
port=$out/m3/ports/mps2-an385
printf '\n######## MPS2 AN385 (Cortex-M3) under QEMU: arm-none-eabi-gcc %s -Os, newlib-nano, %s\n' \
  "$(arm-none-eabi-gcc -dumpversion)" "$(qemu-system-arm --version | head -1)"
printf '# $ bash bench/qemu.sh\n'

# One boot and one 256 KiB update (the test's first two steps), console in $out/run/uart.log.
python3 "$root/tests/qemu/test_mps2.py" --build "$out/m3" --otakit "$out/host/tools/otakit" \
  --server "$out/host/server/otakit-server" --key "$root/tests/vectors/imgtool/ec256-key.pem" \
  --pub "$root/tests/vectors/imgtool/ec256-pub.pem" --work "$out/run" --only boot,update >"$out/run.log" 2>&1 ||
  { cat "$out/run.log" >&2; exit 1; }
# The same two steps on the W5500 build, console in $out/run-w5500/uart.log.
python3 "$root/tests/qemu/test_mps2.py" --build "$out/m3" --otakit "$out/host/tools/otakit" \
  --server "$out/host/server/otakit-server" --key "$root/tests/vectors/imgtool/ec256-key.pem" \
  --pub "$root/tests/vectors/imgtool/ec256-pub.pem" --work "$out/run-w5500" --only boot,update \
  --w5500-bridge "$out/host/tools/w5500emu/w5500-uart-bridge" >"$out/run-w5500.log" 2>&1 ||
  { cat "$out/run-w5500.log" >&2; exit 1; }

python3 - "$port" "$out/run/uart.log" "$out/run-w5500/uart.log" <<'PY'
import re, subprocess, sys
port, uart, uart_w = sys.argv[1], sys.argv[2], sys.argv[3]

def parts(name):
    """Bytes of code (flash) and static RAM per part, from the map's input sections."""
    elf, mp = "%s/%s.elf" % (port, name), "%s/%s.map" % (port, name)
    kind = {}
    hdr = subprocess.run(["arm-none-eabi-objdump", "-h", elf], capture_output=True, text=True).stdout.splitlines()
    for i, ln in enumerate(hdr):
        m = re.match(r'\s*\d+ (\S+)\s+([0-9a-f]+)', ln)
        if m and i + 1 < len(hdr) and "ALLOC" in hdr[i + 1]:
            kind[m.group(1)] = "code" if "READONLY" in hdr[i + 1] else ("data" if "LOAD" in hdr[i + 1] else "bss")
    acc, cur, pend, end = {}, None, None, 0
    for ln in open(mp).read().split("Linker script and memory map", 1)[1].splitlines():
        m = re.match(r'^(\.\S+)', ln)
        if m:
            cur, pend, end = m.group(1), None, 0
            continue
        if cur not in kind:
            continue
        m = re.match(r'^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s*(.*)$', ln)
        if m and not m.group(1).startswith("0x"):
            sec, at, sz, obj = m.group(1), int(m.group(2), 16), int(m.group(3), 16), m.group(4).strip()
        else:
            m2 = re.match(r'^ (\S+)$', ln)
            if m2:
                pend = m2.group(1)
                continue
            m3 = re.match(r'^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$', ln)
            if not (m3 and pend):
                continue
            sec, at, sz, obj, pend = pend, int(m3.group(1), 16), int(m3.group(2), 16), m3.group(3), None
        # Merged strings overlap the previous input section: count each byte once.
        sz, end = max(0, at + sz - max(at, end)), max(end, at + sz)
        g = group("" if sec == "*fill*" else obj)
        k = kind[cur]
        acc[(g, k)] = acc.get((g, k), 0) + sz
    t, d, b = map(int, subprocess.run(["arm-none-eabi-size", elf], capture_output=True, text=True).stdout.splitlines()[1].split()[:3])
    assert sum(v for (g, k), v in acc.items() if k == "code") == t, name
    return acc, t, d, b

def group(obj):
    m = re.search(r'libotakit_device\.a\((\w+)\.c\.obj\)', obj)
    if m:
        f = m.group(1)
        if f in ("check", "compat", "json", "jsonw", "precheck", "pull", "loop", "proto", "catalog"): return "agent"
        if f == "settings": return "settings"
        if f in ("http", "url", "push"): return "http"
        if f == "tls": return "tls glue"
        if f in ("apply", "patch", "fetch"): return "delta"
        if f == "err": return "errors"
        return "otakit core"  # writer, control, journal, boot, swap, flash, presets, image, crypto glue
    if "libotakit_mbedcrypto.a" in obj or "libotakit_mbedtls.a" in obj: return "mbedtls"
    if "libotakit_lwip.a" in obj: return "lwip"
    if "lan9118.c" in obj: return "driver"
    if "libotakit_port_w5500.a" in obj: return "w5500"
    if "libotakit_mps2_board.a" in obj: return "board"
    if re.search(r'app_\w+\.c|boot_main\.c', obj): return "program"
    if re.search(r'lib(c_nano|gcc|nosys|m)\.a|crt|/lib/gcc/', obj): return "libc"
    return "other"

boot, app, appw = parts("otakit_mps2_boot"), parts("otakit_mps2_app"), parts("otakit_mps2_app_w5500")
c = lambda r, g, k="code": r[0].get((g, k), 0)
rows = [("agent", "otakit agent: loop, register, reports, check, pull, pre-check, JSON (device/agent)"),
        ("settings", "otakit settings: token and update in flight, 2 sectors (device/flash)"),
        ("http", "otakit HTTP client + URL (device/net)"), ("tls glue", "otakit TLS glue (not linked: plain HTTP here)"),
        ("delta", "otakit delta patches: applier, fetch (device/delta)"),
        ("errors", "otakit error names and messages (ota_strerror; see OTA_NO_ERROR_MESSAGES)"),
        ("otakit core", "otakit core: writer, journal, boot, swap, flash, verifier, crypto glue"),
        ("mbedtls", "mbedTLS crypto (SHA-256, ECDSA-P256 verify)"), ("lwip", "lwIP 2.1 (IPv4, ARP, DHCP, TCP)"),
        ("driver", "LAN9118 driver (lan9118.c)"), ("w5500", "W5500 driver (ports/w5500; the chip does TCP/IP)"), ("board", "board port: startup, UART, clock, watchdog, flash file"),
        ("program", "the program: boot_main.c / app_*.c"), ("libc", "newlib-nano + libgcc"), ("other", "linker fill, other")]
print("\n== 1. code (flash), bytes: arm-none-eabi-size text, split by the linker map")
print("  %-72s %7s %7s %7s" % ("", "boot", "app", "app"))
print("  %-72s %7s %7s %7s" % ("", "", "lwIP", "W5500"))
for g, label in rows:
    print("  %-72s %7d %7d %7d" % (label, c(boot, g), c(app, g), c(appw, g)))
print("  %-72s %7d %7d %7d" % ("total", boot[1], app[1], appw[1]))
nb = boot[1] - c(boot, "mbedtls")
print("  bootloader without mbedTLS: %d B (with it %d B; the boot area is 32 KiB). For comparison, MCUboot's\n"
      "  published swap-move + tinycrypt figure is 13.6 KB." % (nb, boot[1]))

print("\n== 2. RAM, bytes")
heap = {}
for n, r in (("boot", boot), ("app", app), ("app_w5500", appw)):
    syms = subprocess.run(["arm-none-eabi-nm", "%s/otakit_mps2_%s.elf" % (port, n)], capture_output=True, text=True).stdout
    heap[n] = [s for s in ("malloc", "_malloc_r", "_sbrk", "free") if re.search(r'\b%s\b' % s, syms)]
stack = {"boot": 0, "app": 0, "app_w5500": 0}
for log, app_name in ((uart, "app"), (uart_w, "app_w5500")):
    prog = None
    for ln in open(log):
        if ln.startswith("boot: otakit bootloader"): prog = "boot"
        if ln.startswith("app: otakit firmware"): prog = app_name
        m = re.match(r'(?:boot: )?stack(?: used|:) (\d+) B', ln)
        if m and prog: stack[prog] = max(stack[prog], int(m.group(1)))
for n, r in (("boot", boot), ("app", app), ("app_w5500", appw)):
    st = r[2] + r[3]
    print("  %-9s static %6d (data %d + bss %d; mbedTLS heap buffer 4096 of it)  heap %s  stack high-water %5d  "
          "total %6d" % (n, st, r[2], r[3], "0 (no allocator linked)" if not heap[n] else "LINKED: " + ",".join(heap[n]),
                         stack[n], st + stack[n]))
print("  (stack: the painted stack's high-water mark over a boot with a swap and an update with a pull, as\n"
      "   the firmware prints it at each reset and exit; interrupts included. app: the lwIP build (its pbuf\n"
      "   pool and heap are in its bss); app_w5500: the W5500 build, whose socket buffers are in the chip)")

print("\n== 3. a 256 KiB update in QEMU against the flash time of the part modeled")
log = open(uart).read()
pull = re.search(r'agent: image verified and pending: (\d+) bytes in (\d+) ms', log)
fl = re.findall(r'flash: erased ([0-9x ]+), programmed (\d+) B', log)
swap = re.search(r'state testing \(ota_boot (\d+) ms\)', log)
# STM32F405/407 datasheet (DS8626), typical, x32 parallelism: sector erase 16 KB 250 ms, 64 KB 550 ms,
# 128 KB 1 s; word (32-bit) program 16 us.
# The agent's settings sit in two 4 KB sectors past the part's 1 MB (ports/mps2-an385/app_agent.c), as
# an external SPI NOR would hold them: 4 KB erase 45 ms typical (Winbond W25Q32JV datasheet).
erase_s = {4096: 0.045, 16384: 0.25, 65536: 0.55, 131072: 1.0}
def model(er, prg):
    t = sum(int(n) * erase_s[int(sz)] for n, sz in (x.split("x") for x in er.split()))
    return t + int(prg) / 4 * 16e-6
# The two flash reports of the update: the pull (before its reset) and the swap (bootloader).
lines = [l for l in log[log.index("######## update"):].splitlines() if l.startswith("flash: erased")]
print("  QEMU (flash is RAM, guest clock = host time):  pull %d B in %d ms; install (swap + signature check) %d ms"
      % (int(pull.group(1)), int(pull.group(2)), int(swap.group(1))))
pw = re.search(r'agent: image verified and pending: (\d+) bytes in (\d+) ms', open(uart_w).read())
print("  W5500 build: pull %d B in %d ms (%.1f KB/s: every SPI byte crosses QEMU's CMSDK UART model one\n"
      "   byte at a time; bench/w5500.sh models a real 20 MHz SPI bus)" % (int(pw.group(1)), int(pw.group(2)),
      int(pw.group(1)) / 1024 / (int(pw.group(2)) / 1000)))
for what, l in zip(("pull", "install"), [lines[0], lines[1]] if len(lines) >= 2 else lines):
    m = re.search(r'erased ([0-9x ]+), programmed (\d+)', l)
    print("  %-7s flash operations: erased %s, programmed %s B -> STM32F4 typical %.2f s" % (
          what, m.group(1), m.group(2), model(m.group(1), m.group(2))))
print("  (erase 16/64/128 KB sector 0.25/0.55/1 s, program 16 us per word: STM32F405 datasheet typical values,\n"
      "   4 KB settings sector 45 ms: a SPI NOR's;\n"
      "   on the real part the flash dominates: QEMU's figures are the network and CPU part only)")
PY

printf '\n== 2b. worst stack, static: the -fstack-usage -fcallgraph-info call graphs (bench/qemu_stack.py)\n'
python3 "$root/bench/qemu_stack.py" "$out/m3"
