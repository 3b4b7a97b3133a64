"""The MPS2 AN385 board under QEMU, as the tests and the demo drive it (ports/mps2-an385/).

One board = one flash file: the bootloader at 0, the factory image in slot 0, the rest erased.
A start of the board is one run of qemu-system-arm on that file: QEMU loads it at address 0
(-device loader), the firmware writes every erase and program through to it (semihosting), and a
reset ends the run (-no-reboot): the next start is a power cycle on the same file. The network is
QEMU's user-mode stack with restrict=on (the guest reaches nothing) and one guestfwd rule that maps
10.0.2.100:80 to the server's loopback port (one `nc` per guest connection).

The W5500 build (otakit_mps2_app_w5500) has no network card: its SPI bus to the W5500 goes over the
board's second UART, a Unix socket served by w5500-uart-bridge (the W5500 emulator), whose sockets
reach the server on the host's loopback directly (Board(bridge=...), Server(public_url=...)).
"""
import json
import os
import random
import select
import subprocess
import time
import urllib.request

FLASH_SIZE = 1024 * 1024 + 8 * 1024  # the part's 1 MB, then the agent's settings (app_agent.c)
SLOT0 = 0x20000
SERVER_IN_GUEST = "10.0.2.100"


def make_flash(path, boot_bin, image):
    """Writes a fresh flash file: bootloader at 0, image in slot 0, every other byte erased."""
    f = bytearray(b"\xff" * FLASH_SIZE)
    boot = open(boot_bin, "rb").read()
    img = open(image, "rb").read()
    f[0:len(boot)] = boot
    f[SLOT0:SLOT0 + len(img)] = img
    with open(path, "wb") as out:
        out.write(f)


class Run:
    """What one start of the board printed, and how it ended."""

    def __init__(self, lines, rc, killed, seconds):
        self.lines, self.rc, self.killed, self.seconds = lines, rc, killed, seconds
        self.text = "\n".join(lines)

    def has(self, s):
        return s in self.text


class Board:
    def __init__(self, flash, server_port, enroll="", device_id="qemu-1", geometry="stm32f4-1m", window_ms=5000,
                 log=None, bridge=None):
        self.flash, self.port, self.enroll, self.device_id = os.path.abspath(flash), server_port, enroll, device_id
        self.bridge = bridge  # the W5500 build: w5500-uart-bridge's socket (UART1)
        self.geometry, self.window_ms, self.log = geometry, window_ms, log
        self.once = True  # the firmware ends the run once a check finds nothing to do
        self.runs = []

    def cmd(self):
        server = "http://127.0.0.1:%d" % self.port if self.bridge else "http://" + SERVER_IN_GUEST
        args = ["otakit", "flash=" + self.flash, "geometry=" + self.geometry, "window=%d" % self.window_ms,
                "server=" + server, "device=" + self.device_id] + (["once=1"] if self.once else [])
        if self.enroll:  # the board registers itself with the product's enrollment token
            args.append("enroll=" + self.enroll)
        return ["qemu-system-arm", "-M", "mps2-an385", "-display", "none", "-monitor", "none",
                "-serial", "stdio", "-no-reboot",
                "-semihosting-config", "enable=on,target=native," + ",".join("arg=" + a for a in args),
                "-device", "loader,file=%s,addr=0,force-raw=on" % self.flash] + (
                    ["-serial", "unix:" + self.bridge, "-nic", "none"] if self.bridge else
                    ["-nic", "user,restrict=on,guestfwd=tcp:%s:80-cmd:nc 127.0.0.1 %d" % (SERVER_IN_GUEST, self.port)])

    def start(self, timeout=60, kill_when=None, kill_after=0.0, kill_nth=1):
        """One power-on until QEMU exits (a reset, or the firmware's semihosting exit). kill_when: a
        string; kill_after seconds after the kill_nth line containing it, the power is cut (SIGKILL)."""
        t0 = time.monotonic()
        p = subprocess.Popen(self.cmd(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        lines, buf, killed, deadline, cut_at = [], b"", False, t0 + timeout, None
        while True:
            now = time.monotonic()
            if cut_at is not None and now >= cut_at:
                p.kill()
                killed = True
            if now > deadline:
                p.kill()
                lines.append("[harness: timeout after %ds]" % timeout)
                killed = True
            r, _, _ = select.select([p.stdout], [], [], 0.005 if cut_at else 0.2)
            if r:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    ln, buf = buf.split(b"\n", 1)
                    s = ln.decode("utf-8", "replace").rstrip("\r")
                    lines.append(s)
                    if self.log:
                        self.log.write(s + "\n")
                        self.log.flush()
                    if kill_when and cut_at is None and kill_when in s:
                        kill_nth -= 1
                        if kill_nth <= 0:
                            cut_at = time.monotonic() + kill_after
            elif killed:
                break
        rc = p.wait()
        if killed:
            lines.append("[harness: power cut]")
            if self.log:
                self.log.write("[harness: power cut]\n")
        run = Run(lines, rc, killed, time.monotonic() - t0)
        self.runs.append(run)
        return run

    def settle(self, max_starts=6, timeout=60):
        """Starts the board again after every reset until the firmware ends a start with nothing to
        do (up to date: exit status 0). Returns the runs."""
        out = []
        for _ in range(max_starts):
            r = self.start(timeout=timeout)
            out.append(r)
            if r.rc == 0 and r.has("agent: up to date"):
                return out
        raise AssertionError("the board did not settle in %d starts:\n%s" %
                             (max_starts, "\n---\n".join(x.text for x in out)))


class Server:
    """otakit-server on a loopback port, its data in a directory; download URLs point at the
    guest's view of it (http://10.0.2.100; public_url=True: its loopback address, the W5500 build's)."""

    def __init__(self, server_bin, otakit_bin, data, public_url=False):
        self.otakit, self.data = otakit_bin, data
        s = __import__("socket").socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(os.path.dirname(data), "server.log"), "w")
        self.proc = subprocess.Popen([server_bin, "--listen", "127.0.0.1:%d" % self.port, "--data", data,
                                      "--public-url", self.url if public_url else "http://" + SERVER_IN_GUEST],
                                     stderr=self.log)
        for _ in range(100):
            if os.path.exists(os.path.join(data, "admin.token")) and self._up():
                break
            time.sleep(0.1)
        self.admin = open(os.path.join(data, "admin.token")).read().strip()
        self.owner = None

    def _up(self):
        try:
            urllib.request.urlopen(self.url + "/api/v1/health", timeout=1)
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def cli(self, *args, token=None):
        env = dict(os.environ, OTAKIT_SERVER_URL=self.url, OTAKIT_TOKEN=token or self.owner or self.admin)
        return subprocess.run([self.otakit] + list(args), env=env, check=True, capture_output=True,
                              text=True).stdout

    def product(self, pid, pub_pem):
        d = json.loads(self.cli("product", "create", "--json", "--id", pid, "--name", pid, "--key", pub_pem,
                                token=self.admin))
        self.owner = d["owner_token"]
        return d

    def release(self, product, image, version):
        self.cli("release", "upload", "--product", product, image)
        for ro in json.loads(self.cli("rollout", "list", "--json", "--product", product))["rollouts"]:
            if ro["state"] in ("running", "paused"):  # a device is in one open rollout at a time
                self.cli("rollout", "cancel", "--product", product, str(ro["id"]))
        self.cli("rollout", "create", "--product", product, "--release", version, "--stages", "100")

    def device(self, product, device_id):
        return json.loads(self.cli("device", "show", "--json", "--product", product, device_id))

    def history(self, product, device_id):
        return json.loads(self.cli("device", "history", "--json", "--product", product, device_id))

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def sign(otakit, key, app_bin, version, out, pad_to=0, counter=1):
    """Signs an application binary for slot 0 (512-byte header: the vector table's alignment),
    padded first to pad_to bytes when given (a bigger image, same code)."""
    src = app_bin
    if pad_to:
        data = open(app_bin, "rb").read()
        src = out + ".bin"
        with open(src, "wb") as f:
            f.write(data + bytes(random.Random(version).getrandbits(8) for _ in range(pad_to - len(data))))
    subprocess.run([otakit, "sign", "-k", key, "-v", version, "-s", str(counter), "-H", "0x200",
                    "--product", "mps2-an385", src, out], check=True, capture_output=True)
    return out
