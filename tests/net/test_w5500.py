"""The update agent over the W5500 route: netpull --w5500 runs the device library's HTTP client on the
W5500 driver (ports/w5500), whose SPI frames go to the strict W5500 emulator (tools/w5500emu), whose
sockets are real loopback TCP to a real otakit-server. Each case checks what a user relies on (the
image is the offered one, byte for byte, and ota_end() verified it; nothing else is ever accepted)
and what the emulator saw (no frame or pointer rule broken, or, for a bus shared without a lock, that
it was caught). The whole update, to the confirmed report, runs in otakit-device --w5500: the
library's agent registers, checks, downloads, reboots into the new image and confirms it."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "sim"))
import netlib as nl  # noqa: E402
from test_agent import Fixture, kinds  # noqa: E402  (otakit-device against the server)

SWAP_256K_SLOT0 = 16 * 1024  # device/flash/presets.c: swap-256k's slot 0


class W5500Route(nl.ReleaseCase):
    VERSION, SIZE, SEED = "4.0.0", 90000, 41

    def pull(self, name, spec, extra=()):
        dump = os.path.join(self.d, name + ".bin")
        if os.path.exists(dump):
            os.unlink(dump)
        r = nl.netpull("pull", *nl.pull_args(self.art_url, self.img, extra=[
            "--token", self.device(name), "--dump", dump, "--expect", self.img_path, "--w5500", spec, *extra]))
        r.image = None
        if os.path.exists(dump):
            with open(dump, "rb") as f:
                r.image = f.read()
        (r.violations, r.w), = nl.w5500_verdicts(r.out)
        return r

    def assert_installed(self, r):
        self.assertEqual((r.rc, r.result, r.v["state_after"]), (0, "OTA_OK", "new"), r)
        self.assertEqual(r.image, self.img)
        self.assertNotIn("X", r.v["gens"], r)  # no byte of anything else ever programmed

    def assert_clean(self, r):
        self.assertEqual(r.violations, 0, r)

    def test_check_and_update(self):
        """ota_check_request + ota_pull_image against otakit-server, the whole way over the W5500, with
        RX data arriving in random sizes and torn Sn_RX_RSR reads."""
        tok = self.device("w-upd")
        self.offer("w-upd")
        dump = os.path.join(self.d, "upd.bin")
        r = nl.netpull("update", "--server", self.s.url, "--token", tok, "--version", "1.0.0", "--slot", "0",
                       "--key", nl.KEY_DER, "--product", nl.PRODUCT, "--dump", dump, "--expect", self.img_path,
                       "--w5500", "torn,chunk=1500,seed=3,latency=2")
        self.assertEqual((r.rc, r.result, r.v["state_after"], r.v["gens"]), (0, "OTA_OK", "new", "A"), r)
        self.assertEqual((r.v["version"], r.v["sha256"]), ("4.0.0+0", self.sha), r)
        with open(dump, "rb") as f:
            self.assertEqual(f.read(), self.img)
        (violations, w), = nl.w5500_verdicts(r.out)
        self.assertEqual(violations, 0, r)
        self.assertEqual(int(w["payload"]), int(w["rx_bytes"]))  # the driver took every byte the chip got
        self.assertGreaterEqual(int(w["close_wait_with_data"]), 1, r)  # FIN with data buffered: read first

    def test_agent_updates_and_confirms(self):
        """The library's agent (otakit-device --w5500, every connection through the driver on the
        emulator, a fresh chip at each power-on): registers with the enrollment token, checks, pulls
        the release, verifies it, reboots into it, confirms it and reports; the server's history holds
        every report up to "confirmed", and slot 0 holds the release byte for byte."""
        f = Fixture(self.s, self.d, extra=["--w5500", "torn,chunk=1500,seed=7"])
        name = "w-agent"
        rc, out = f.run(name)  # the factory image: registers, up to date
        self.assertEqual(rc, 0, out)
        self.assertTrue(nl.w5500_verdicts(out), out)
        img = f.image("1.1.0", size=70000)
        f.rollout("1.1.0", [name])
        rc, out = f.run(name)
        self.assertEqual(rc, 0, out)
        dev = f.device(name)
        self.assertTrue(dev["version"].startswith("1.1.0"), dev)
        act = f.last_action(name)
        self.assertEqual(act["status"], "confirmed", act)
        got = [k for k, _ in kinds(dev, act["id"])]
        steps = ["downloading", "downloaded", "installing", "installed", "confirmed"]
        self.assertTrue(set(steps) <= set(got), got)
        self.assertEqual(sorted(steps, key=got.index), steps, got)  # first of each, in this order
        with open(img, "rb") as fi, open(os.path.join(self.d, name, "flash.bin"), "rb") as fl:
            want = fi.read()
            fl.seek(SWAP_256K_SLOT0)
            self.assertEqual(fl.read(len(want)), want)  # the swap put the release in slot 0, exact
        verdicts = nl.w5500_verdicts(out)
        self.assertGreaterEqual(len(verdicts), 2, out)  # the download's power-on, then the trial boot's
        self.assertEqual([v for v, _ in verdicts], [0] * len(verdicts), out)
        self.assertGreaterEqual(sum(int(st["payload"]) for _, st in verdicts), len(want), out)

    def test_dropped_connections_resume(self):
        """The emulator kills the connection twice mid-transfer (a reset, then a retransmission
        timeout): the agent resumes with Range where it stopped, and the image is exact."""
        r = self.pull("w-drop", "drop@30000,reset@70000", ["--retries", "4"])
        self.assert_installed(r)
        self.assertEqual((r.stats["requests"], r.stats["resumes"], r.stats["restarts"]), (3, 2, 0), r)
        self.assertEqual(r.w["faults_fired"], "2")
        self.assert_clean(r)

    def test_window_closed_late_connect_link_down(self):
        """The chip takes no data for 1.5 s (the TCP window closes), CONNECTs complete 300 ms late, the
        link goes down for 2 s mid-transfer: timeouts, refusals while down, then a resume."""
        r = self.pull("w-hold", "hold@20000:1500,late=300", ["--retries", "2"])
        self.assert_installed(r)
        self.assertEqual(r.stats["requests"], 1, r)  # a closed window is only a pause
        self.assert_clean(r)
        r = self.pull("w-link", "linkdown@50000:2000", ["--retries", "8", "--retry-delay", "100", "--read-timeout", "700"])
        self.assert_installed(r)
        self.assertGreaterEqual(r.stats["resumes"], 1, r)
        self.assert_clean(r)

    def test_small_buffers_and_wrapping_pointers(self):
        """Eight sockets of 2 KB, pointers starting just below 0xFFFF, one-byte-to-200-byte arrivals."""
        r = self.pull("w-small", "sockets=8,ptr=65500,chunk=200,seed=9,torn")
        self.assert_installed(r)
        self.assert_clean(r)

    def test_shared_bus(self):
        """Another task reads the chip's VERSIONR in a loop on the same bus during the download: with
        the lock, no frame is disturbed; without it the emulator catches the interleaving, and
        whatever the download makes of it, no corrupted image is ever accepted."""
        r = self.pull("w-lock", "hammer")
        self.assert_installed(r)
        self.assert_clean(r)
        h = dict(kv.split("=") for kv in r.v["w5500_hammer"].split())
        self.assertEqual(h["bad"], "0", r)
        self.assertGreater(int(h["frames"]), 100, r)
        r = self.pull("w-nolock", "hammer,nolock", ["--retries", "2", "--read-timeout", "1000",
                                                    "--connect-timeout", "1000"])
        self.assertNotEqual(r.violations, 0, r)
        if r.rc == 0:
            self.assertEqual(r.image, self.img)
        else:
            self.assertNotEqual(r.v.get("state_after"), "new", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
