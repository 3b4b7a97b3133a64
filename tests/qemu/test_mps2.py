#!/usr/bin/env python3
"""End to end on a Cortex-M3: the real bootloader and application of ports/mps2-an385 under
qemu-system-arm (mps2-an385), updating from a real otakit-server over QEMU's user network.

  test_mps2.py --build CROSS_BUILD --otakit BIN --server BIN --key KEY.pem --pub PUB.pem
               [--work DIR] [--cuts N] [--seed S] [--geometry NAME]

One board (one flash file), one server, in order:
  1. boot      the factory 1.0.0 boots: bootloader checks the signature, jumps, DHCP; the agent
               registers the board with the product's enrollment token, then checks
  2. update    1.1.0 (256 KiB): pull, reset, swap, self-test, confirm; the server sees it, and its
               history holds the agent's reports (downloading with progress ... confirmed)
  3. cuts      1.2.x: the power is cut (SIGKILL) at N seeded random moments during downloads,
               installs (swap) and confirms; every start boots a valid image, and each update
               completes
  4. crash     1.3.0 faults once running: HardFault handler resets, the bootloader rolls back
  5. hang      1.4.0 never confirms: the watchdog resets it, the bootloader rolls back
  6. nonet     1.6.0's self-test cannot reach the network: it asks for a rollback
  7. bad       1.5.0's stored artifact is corrupted on the server: the device refuses it
  8. cycle     power cycles keep the flash file: the last 1.2.x boots again, the file unchanged

With --w5500-bridge BIN the board is the W5500 build (otakit_mps2_app_w5500: no lwIP linked), its SPI
bus carried over UART1 to BIN (w5500-uart-bridge, the W5500 emulator) whose sockets reach the server
on loopback; steps boot and update, and the emulator must have seen no frame or pointer rule broken.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mps2  # noqa: E402

PRODUCT = "mps2-an385"
MAX_TEST_BOOTS = 3  # ports/mps2-an385/boot_main.c: boots a new image gets to confirm itself


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="cross build dir (ports/mps2-an385 inside)")
    ap.add_argument("--otakit", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--pub", required=True)
    ap.add_argument("--work", default="/tmp/otakit-qemu")
    ap.add_argument("--cuts", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--geometry", default="stm32f4-1m")
    ap.add_argument("--only", default="", help="comma-separated steps (default: all)")
    ap.add_argument("--echo", action="store_true", help="print the board's console as it runs (the demo)")
    ap.add_argument("--w5500-bridge", default="", help="w5500-uart-bridge: run the W5500 build (steps boot, update)")
    o = ap.parse_args()
    if not shutil.which("qemu-system-arm") or not shutil.which("nc"):
        print("test_mps2: SKIPPED: qemu-system-arm or nc missing (scripts/deps.sh installs them)", file=sys.stderr)
        return 77
    port = os.path.join(o.build, "ports", "mps2-an385")
    shutil.rmtree(o.work, ignore_errors=True)
    os.makedirs(o.work)
    w = lambda n: os.path.join(o.work, n)
    log = Tee(open(w("uart.log"), "w"), sys.stdout if o.echo else None)
    print("test_mps2: work dir %s (uart.log: every start's console)" % o.work)

    imgs = Images(o, port)
    o.healthy = "1.1.0+0"
    o.net_up = "net: W5500 static 10.0.2.15" if o.w5500_bridge else "net: DHCP lease 10.0.2.15"
    steps = [("boot", step_boot), ("update", step_update), ("cuts", step_cuts), ("crash", step_crash),
             ("hang", step_hang), ("nonet", step_nonet), ("bad", step_bad), ("cycle", step_cycle)]
    only = set(o.only.split(",")) if o.only else None
    bridge = None
    if o.w5500_bridge:  # the W5500 build: one application variant, the healthy one
        only = (only or {"boot", "update"}) & {"boot", "update"}
        bridge = Bridge(o.w5500_bridge, w("w5500.sock"), w("w5500-bridge.log"))
    srv = mps2.Server(o.server, o.otakit, w("server-data"), public_url=bool(bridge))
    try:
        prod = srv.product(PRODUCT, o.pub)
        mps2.make_flash(w("flash.bin"), os.path.join(port, "otakit_mps2_boot.bin"), imgs["1.0.0"])
        board = mps2.Board(w("flash.bin"), srv.port, prod["enroll_token"], "qemu-1", geometry=o.geometry,
                           window_ms=6000, log=log, bridge=bridge and bridge.sock)
        for name, fn in steps:
            if only and name not in only:
                continue
            log.write("\n######## %s: %s\n" % (name, fn.__doc__.strip().splitlines()[0]))
            n0 = len(board.runs)
            fn(board, srv, imgs, o)
            runs = board.runs[n0:]
            print("ok %-7s %2d start(s) of the board, %.1f s" % (name, len(runs), sum(r.seconds for r in runs)))
        if bridge:
            print("ok w5500   %s" % bridge.verdict(len(board.runs)))
    finally:
        srv.stop()
        if bridge:
            bridge.stop()
    return 0


class Bridge:
    """w5500-uart-bridge on a Unix socket (the board's UART1); its log holds the emulator's verdict
    after every power-on of the board."""

    def __init__(self, binary, sock, log):
        self.sock, self.log = sock, log
        self.proc = subprocess.Popen([binary, sock], stdout=open(log, "w"), stderr=subprocess.STDOUT)
        for _ in range(100):
            if "ready" in open(log).read():
                return
            mps2.time.sleep(0.05)
        raise AssertionError("w5500-uart-bridge did not start: " + open(log).read())

    def verdict(self, starts):
        """Every start of the board was a power-on of the chip, and none broke a rule of the chip."""
        text = ""
        for _ in range(100):  # the last power-on's report follows QEMU's exit
            text = open(self.log).read()
            if text.count("w5500 frames=") >= starts:
                break
            mps2.time.sleep(0.05)
        v = re.findall(r"^w5500 violations=(\d+)", text, re.M)
        frames = re.findall(r"^w5500 frames=(\d+) spi_bytes=(\d+) rx_bytes=(\d+)", text, re.M)
        if len(v) != starts or any(x != "0" for x in v) or "framing error" in text:
            raise AssertionError("the W5500 emulator's verdict (%d starts):\n%s" % (starts, text))
        return "%d power-ons of the chip, no rule broken; %d frames, %d SPI bytes, %d payload bytes received" % (
            starts, sum(int(f[0]) for f in frames), sum(int(f[1]) for f in frames), sum(int(f[2]) for f in frames))

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Images(dict):
    """Signed images by version, signed when first asked for (the steps run may not need all)."""
    BUILDS = {"1.0.0": ("", 0), "1.1.0": ("", 256 * 1024), "1.3.0": ("_crash", 0), "1.4.0": ("_hang", 0),
              "1.5.0": ("", 0), "1.6.0": ("_nonet", 0)}  # 1.2.x: the cuts step's, 256 KiB

    def __init__(self, o, port):
        super().__init__(app=os.path.join(port, "otakit_mps2_app.bin"))
        self.o, self.port = o, port

    def __missing__(self, ver):
        variant, pad = self.BUILDS.get(ver, ("", 256 * 1024))
        if self.o.w5500_bridge:
            variant = "_w5500"
        self[ver] = mps2.sign(self.o.otakit, self.o.key, os.path.join(self.port, "otakit_mps2_app%s.bin" % variant),
                              ver, os.path.join(self.o.work, "app-%s.img" % ver), pad_to=pad)
        return self[ver]


class Tee:
    """The console log: to uart.log, and to stdout with --echo."""

    def __init__(self, f, out):
        self.f, self.out = f, out

    def write(self, s):
        self.f.write(s)
        if self.out:
            self.out.write(s if s.startswith(("\n#", "[")) else "  | " + s)

    def flush(self):
        self.f.flush()
        if self.out:
            self.out.flush()


def check(cond, msg, runs):
    if not cond:
        raise AssertionError("%s\n--- console:\n%s" % (msg, "\n---\n".join(r.text for r in runs)))


def last_version(board):
    for r in reversed(board.runs):
        for ln in reversed(r.lines):
            if ln.startswith("app: otakit firmware "):
                return ln.split()[3]
    return None


def step_boot(board, srv, imgs, o):
    """The factory image 1.0.0 boots: signature checked, jump, DHCP, registers itself, a check finds nothing."""
    runs = board.settle(max_starts=1)
    r = runs[0]
    check(r.has("boot: slot 0 version 1.0.0+0 state none") and r.has("app: otakit firmware 1.0.0+0") and
          r.has(o.net_up), "factory boot", runs)
    check(r.has("agent: registered"), "the board registered itself", runs)
    d = srv.device(PRODUCT, "qemu-1")
    reg = [e for e in d["events"] if e["kind"] == "registered"]
    check(len(reg) == 1 and reg[0]["detail"].get("version") == "1.0.0+0" and reg[0]["detail"].get("hw_rev") == "an385"
          and d.get("via") == "token", "the server has the board's own registration: %s" % d, runs)
    # A second start keeps the device token in the settings sectors: no second registration.
    runs = board.settle(max_starts=1)
    check(not runs[0].has("agent: registered"), "the device token survived a power cycle", runs)


def step_update(board, srv, imgs, o):
    """Update 1.0.0 -> 1.1.0 (256 KiB): pull, reset, swap, self-test, confirm, reports."""
    srv.release(PRODUCT, imgs["1.1.0"], "1.1.0")
    runs = [board.start()]  # the pull, then the reset that installs
    check(runs[0].has("reset: installing the update"), "1.1.0 pulled", runs)
    # The trial boot without once=1: the firmware keeps polling (every 2 s) for longer than the
    # commit window after it confirmed; its main loop kicks the watchdog, so no reset comes.
    board.once = False
    try:
        runs.append(board.start(kill_when="agent: up to date", kill_nth=5))
    finally:
        board.once = True
    check(runs[1].killed and not runs[1].has("reset:"), "confirmed 1.1.0 ran past its commit window", runs)
    runs += board.settle()
    t = "\n".join(r.text for r in runs)
    for s in ("agent: update 1.0.0+0 -> 1.1.0+0", "agent: image verified and pending", "boot: swapped the slots",
              "state testing", "agent: self-test passed: confirmed 1.1.0", "agent: report confirmed action="):
        check(s in t, "update 1.0.0 -> 1.1.0: missing %r" % s, runs)
    check(last_version(board) == "1.1.0+0", "runs 1.1.0 at the end", runs)
    d = srv.device(PRODUCT, "qemu-1")
    check(str(d.get("version", "")).startswith("1.1.0"), "the server sees 1.1.0: %s" % d, runs)
    # The server's history of that update holds the agent's reports, in order, downloading with progress.
    act = [a for a in d["actions"] if a["release"].startswith("1.1.0")]
    check(len(act) == 1 and act[0]["status"] == "confirmed", "the 1.1.0 action is confirmed: %s" % act, runs)
    ev = [e for e in reversed(d["events"]) if e["action_id"] == act[0]["id"]]  # oldest first
    kinds = [e["kind"] for e in ev]
    order = [k for k in ("downloading", "downloaded", "installing", "installed", "confirmed") if k in kinds]
    check(order == ["downloading", "downloaded", "installing", "installed", "confirmed"] and
          [kinds.index(k) for k in order] == sorted(kinds.index(k) for k in order),
          "the 1.1.0 history has every report in order: %s" % kinds, runs)
    pct = [e["detail"].get("progress") for e in ev if e["kind"] == "downloading"]
    check(any(p and 0 < p < 100 for p in pct), "progress reports while downloading: %s" % pct, runs)


def step_cuts(board, srv, imgs, o):
    """Power cuts at seeded random moments of updates: during the pre-check and download (within
    0.9 s of the offer), then, once the image is pending, alternately during the install (within
    0.5 s of the bootloader starting: the swap) and the new image's self-test, confirm and report (within
    0.15 s of its network coming up). Updates to 1.2.0, 1.2.1, ... follow one another until o.cuts
    cuts are spent; each must complete (a download resumes from the last sector it had entered)."""
    rnd = random.Random(o.seed)
    starts, n, minor, where = [], 0, 0, {}
    while n < o.cuts:
        ver = "1.2.%d" % minor
        srv.release(PRODUCT, imgs[ver], ver)
        # A new image gets MAX_TEST_BOOTS boots to confirm itself; the bootloader cannot tell a power
        # cut from a crash, so MAX_TEST_BOOTS cut starts in a row after an install would (rightly)
        # roll it back. Starts cut since the last install are counted, and then one runs uncut.
        pending, trial_cuts, dl_cuts = False, 0, 0
        for i in range(40):
            if n >= o.cuts:
                break
            if not pending:  # the pre-check, the download (256 KiB: about 0.6 s) and its reports
                marker, span = "-> %s+0 (" % ver, 0.9
            elif n % 2 == 0:  # the swap, in ota_boot
                marker, span = "boot: otakit bootloader", 0.5
            else:  # the new image's self-test, confirm and report
                marker, span = "net: DHCP lease", 0.15
            if pending and trial_cuts >= MAX_TEST_BOOTS - 1 or not pending and dl_cuts >= 4:
                marker = None  # (four cuts of a download are enough: then the install's turn)
            r = board.start(timeout=60, kill_when=marker, kill_after=rnd.uniform(0, span))
            starts.append(r)
            n += r.killed
            if r.killed:
                phase = (("install: swap in ota_boot" if r.lines[-2].startswith("boot: otakit") else
                          "install: trial boot, before confirm" if not r.has("confirmed") else
                          "install: after confirm") if pending else
                         "download" if r.has("report downloading") and not r.has("verified and pending") else
                         "download: after verify" if r.has("verified and pending") else
                         "before download (boot, DHCP, check)")
                where[phase] = where.get(phase, 0) + 1
            if pending and r.killed:
                trial_cuts += 1
            elif r.killed:
                dl_cuts += 1
            if r.has("agent: image verified and pending"):
                pending, trial_cuts = True, 0
            if r.has("agent: self-test passed: confirmed"):
                pending, trial_cuts = False, 0
            check(not r.has("no bootable image"), "start %d: the board had no valid image" % len(starts), starts)
            check(r.killed or r.has("boot: slot 0 version 1."), "start %d: no image booted" % len(starts), starts)
            if r.rc == 0 and r.has("agent: up to date") and last_version(board) == ver + "+0":
                break
        starts += board.settle()
        check(last_version(board) == ver + "+0", "%s runs after the cuts" % ver, starts)
        check(not any(r.has("boot: rolled back") for r in starts), "a power cut rolled an update back", starts)
        o.healthy = ver + "+0"
        minor += 1
    # A download that resumed after a cut programs less than the image in the start that completes it.
    resumed = sum(1 for r in starts if r.has("image verified and pending") and
                  any(int(m) < 256 * 1024 for m in re.findall(r"flash: erased .*, programmed (\d+) B", r.text)))
    print("   cuts: %d power cuts in %d starts over %d updates (where: %s); "
          "downloads resumed after a cut: %d" % (n, len(starts), minor, ", ".join("%s %d" % kv for kv in
                                                                                  sorted(where.items())), resumed))


def rolled_back(board, srv, imgs, o, ver, what, expect):
    """Publishes ver, lets the board settle, and checks the console said each of expect and that
    the bootloader rolled ver back to the last healthy image (reported to the server)."""
    srv.release(PRODUCT, imgs[ver], ver)
    runs = board.settle()
    t = "\n".join(r.text for r in runs)
    for s in expect + ("boot: rolled back", "agent: report rolled_back"):
        check(s in t, "%s -> rollback: missing %r" % (what, s), runs)
    check(last_version(board) == o.healthy, "back on " + o.healthy, runs)


def step_crash(board, srv, imgs, o):
    """1.3.0 faults once running: the HardFault handler resets, the bootloader rolls back."""
    rolled_back(board, srv, imgs, o, "1.3.0", "crash", ("app: otakit firmware 1.3.0+0 (crash)", "fault: "))


def step_hang(board, srv, imgs, o):
    """1.4.0 hangs: the commit-window watchdog resets it, the bootloader rolls back."""
    rolled_back(board, srv, imgs, o, "1.4.0", "hang", ("boot: commit window armed", "app: hanging",
                                                       "reset: watchdog expired"))


def step_nonet(board, srv, imgs, o):
    """1.6.0 cannot reach the network in its self-test: it asks for a rollback (ota_rollback)."""
    rolled_back(board, srv, imgs, o, "1.6.0", "nonet", ("app: otakit firmware 1.6.0+0 (nonet)",
                                                        "app: self-test failed", "reset: self-test failed"))


def step_bad(board, srv, imgs, o):
    """1.5.0's stored artifact is corrupted on the server: the device refuses it."""
    srv.release(PRODUCT, imgs["1.5.0"], "1.5.0")
    import hashlib
    sha = hashlib.sha256(open(imgs["1.5.0"], "rb").read()).hexdigest()
    path = os.path.join(srv.data, "artifacts", sha)
    with open(path, "r+b") as f:  # one byte of the payload changes on the server's disk
        f.seek(4000)
        b = f.read(1)
        f.seek(4000)
        f.write(bytes([b[0] ^ 0x55]))
    runs = board.settle()
    t = "\n".join(r.text for r in runs)
    check("agent: pull failed: " in t and "agent: report failed" in t, "the corrupted 1.5.0 is refused", runs)
    check("1.5.0+0" not in "".join(ln for r in runs for ln in r.lines if ln.startswith("boot: slot")),
          "1.5.0 never boots", runs)
    check(last_version(board) == o.healthy, "still on " + o.healthy, runs)


def step_cycle(board, srv, imgs, o):
    """Power cycles keep the flash file: the same image boots, nothing changes."""
    import hashlib
    before = hashlib.sha256(open(board.flash, "rb").read()).hexdigest()
    runs = board.settle(max_starts=1) + board.settle(max_starts=1)
    after = hashlib.sha256(open(board.flash, "rb").read()).hexdigest()
    check(all(r.has("boot: slot 0 version %s state" % o.healthy) and not r.has("swapped") for r in runs),
          "two power cycles: %s boots from the kept flash file, nothing swapped" % o.healthy, runs)
    check(before == after, "nothing rewrote the flash file while the board had nothing to do", runs)


if __name__ == "__main__":
    sys.exit(main())
