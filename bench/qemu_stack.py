"""Worst stack path of the MPS2 AN385 bootloader and application (bench/qemu.sh), from the
-fstack-usage -fcallgraph-info=su call graphs of every object linked into each: the board port,
the program, the device library, mbedTLS, and lwIP for the application (the W5500 driver for its
W5500 build).

Indirect calls are followed to every function this port installs behind a pointer (flash and
network ops, lwIP's netif and TCP callbacks, the W5500 driver's SPI ops, mbedTLS's allocator, the idle hook, the pull's sinks
and readers), whoever calls them. Recursion is cut and each function's deepest path is computed
once (in sorted order, so the figure is the same every run): the deepest path the graph shows, an
estimate to hold the measured high-water mark against, not a proof. Then the deepest exception
handler is added on top, with the 32 bytes the core stacks on entry. libc (mem*, str*) is not counted.

  qemu_stack.py BUILD_DIR      (the target build, compiled with -fcallgraph-info=su)
"""
import os
import re
import subprocess
import sys

build = sys.argv[1]
port = os.path.join(build, "ports", "mps2-an385")
NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
INDIRECT = {"ff_read", "ff_write", "ff_erase", "net_connect", "net_send", "net_recv", "net_close",
            "etharp_output", "linkoutput", "ethernet_input", "on_recv", "on_connected", "on_err",
            "buffer_alloc_calloc", "buffer_alloc_free", "ota_area_read", "app_net_poll", "progress",
            "sink", "plat_now", "plat_sleep", "plat_wdog_start", "plat_wdog_kick", "lan9118_netif_init",
            "dhcp_recv", "tcp_recv_null",
            "w_connect", "w_send", "w_recv", "w_close", "spi_select", "spi_transfer", "spi_idle"}
HANDLERS = ["board_systick_handler", "nmi_handler", "hardfault_handler", "busfault_handler"]
short = lambda t: t.split(":")[-1]


def graph(dirs):
    frame, edges = {}, {}
    for d in dirs:
        for a, _, fs in os.walk(d):
            for f in fs:
                if not f.endswith(".ci"):
                    continue
                for ln in open(os.path.join(a, f)):
                    m = NODE.search(ln)
                    if m:
                        b = re.search(r'\\n(\d+) bytes', m.group(2))
                        if b:
                            frame[m.group(1)] = int(b.group(1))
                        continue
                    m = EDGE.search(ln)
                    if m:
                        edges.setdefault(m.group(1), set()).add(m.group(2))
    return frame, edges


def worst(prog, dirs):
    frame, edges = graph(dirs)
    syms = subprocess.run(["arm-none-eabi-nm", os.path.join(port, prog + ".elf")], capture_output=True,
                          text=True).stdout.split()
    linked = set(syms)
    by_short = {}
    for t in frame:
        by_short.setdefault(short(t), []).append(t)
    targets = [t for n in INDIRECT if n in linked for t in by_short.get(n, [])]
    memo = {}

    def cost(t, path):
        if t in memo:
            return memo[t]
        if t not in frame:
            cands = [x for x in by_short.get(short(t), []) if x != t]
            if len(cands) != 1:
                return (0, [])  # outside the graph: libc, or not linked
            t = cands[0]
        kids = set(edges.get(t, ()))
        if "__indirect_call" in kids:
            kids.discard("__indirect_call")
            kids.update(targets)
        best = (0, [])
        for k in sorted(kids):
            if k in path or short(k) in path:
                continue  # recursion (lwIP's timers, the pull's retries) counted once
            v = cost(k, path | {k, short(k)})
            if v[0] > best[0]:
                best = v
        r = (frame[t] + best[0], ["%s(%d)" % (short(t), frame[t])] + best[1])
        memo[t] = r
        return r

    main = cost("reset_handler", {"reset_handler"})
    irq = max((cost(h, {h}) for h in HANDLERS if h in by_short or h in frame), key=lambda v: v[0])
    return main, irq


common = [os.path.join(build, "device"), os.path.join(build, "CMakeFiles", "otakit_mbedcrypto.dir"),
          os.path.join(port, "CMakeFiles", "otakit_mps2_board.dir")]
for name, prog, extra in (("boot", "otakit_mps2_boot", []),
                          ("app", "otakit_mps2_app", [os.path.join(port, "CMakeFiles", "otakit_lwip.dir")]),
                          ("app_w5500", "otakit_mps2_app_w5500", [os.path.join(build, "ports", "w5500")])):
    (m, mp), (i, ip) = worst(prog, common + [os.path.join(port, "CMakeFiles", prog + ".dir")] + extra)
    print("  %-9s worst stack %5d B = from reset %d + deepest handler %d + 32 exception frame" % (
          name, m + i + 32, m, i))
    print("       %s" % " > ".join(mp[:14]) + (" > ..." if len(mp) > 14 else ""))
    print("       handler: %s" % " > ".join(ip[:8]))
