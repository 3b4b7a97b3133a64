"""The update agent over the W5500 route: netpull --w5500 runs the device library's HTTP client on the
W5500 driver (ports/w5500), whose SPI frames go to the strict W5500 emulator (tools/w5500emu), whose
sockets are real loopback TCP to a real otakit-server. Each case checks what a user relies on (the
image is the offered one, byte for byte, and ota_end() verified it; nothing else is ever accepted)
and what the emulator saw (no frame or pointer rule broken, or, for a bus shared without a lock, that
it was caught)."""
import hashlib
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib as nl  # noqa: E402

DEV = "/api/v1/device"


class W5500Route(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = nl.tmpdir()
        cls.s = nl.Server().start()
        p = cls.s.product(nl.PRODUCT)
        cls.owner, cls.enroll = p["owner_token"], p["enroll_token"]
        cls.img = nl.make_image("4.0.0", size=90000, seed=41)
        cls.sha = hashlib.sha256(cls.img).hexdigest()
        cls.img_path = nl.write_tmp(cls.d, "fw.img", cls.img)
        st, rel, _ = cls.s.req("POST", "/api/v1/products/%s/releases" % nl.PRODUCT, cls.img, token=cls.owner)
        assert st == 201, (st, rel)
        cls.url = cls.s.url + "/api/v1/artifacts/" + cls.sha

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.d, ignore_errors=True)

    def device(self, name):
        st, body, _ = self.s.req("POST", DEV + "/register", {"device_id": name, "hw_rev": "a", "version": "1.0.0",
                                                             "slot": 0}, token=self.enroll)
        self.assertEqual(st, 201, body)
        return body["device_token"]

    def pull(self, name, spec, extra=()):
        dump = os.path.join(self.d, name + ".bin")
        if os.path.exists(dump):
            os.unlink(dump)
        r = nl.netpull("pull", *nl.pull_args(self.url, self.img, extra=[
            "--token", self.device(name), "--dump", dump, "--expect", self.img_path, "--w5500", spec, *extra]))
        r.image = open(dump, "rb").read() if os.path.exists(dump) else None
        r.w = dict(kv.split("=") for kv in r.v.get("w5500_stats", "").split())
        return r

    def assert_installed(self, r):
        self.assertEqual((r.rc, r.result, r.v["state_after"]), (0, "OTA_OK", "new"), r)
        self.assertEqual(r.image, self.img)
        self.assertNotIn("X", r.v["gens"], r)  # no byte of anything else ever programmed

    def assert_clean(self, r):
        self.assertEqual(r.v.get("w5500_violations"), "0", r)

    def test_check_and_update(self):
        """ota_check_request + ota_pull_image against otakit-server, the whole way over the W5500, with
        RX data arriving in random sizes and torn Sn_RX_RSR reads."""
        tok = self.device("w-upd")
        st, body, _ = self.s.req("POST", "/api/v1/products/%s/devices/w-upd/commands" % nl.PRODUCT,
                                 {"type": "upgrade", "release": "4.0.0"}, token=self.owner)
        self.assertEqual(st, 201, body)
        dump = os.path.join(self.d, "upd.bin")
        r = nl.netpull("update", "--server", self.s.url, "--token", tok, "--version", "1.0.0", "--slot", "0",
                       "--key", nl.KEY_DER, "--product", nl.PRODUCT, "--dump", dump, "--expect", self.img_path,
                       "--w5500", "torn,chunk=1500,seed=3,latency=2")
        self.assertEqual((r.rc, r.result, r.v["state_after"], r.v["gens"]), (0, "OTA_OK", "new", "A"), r)
        self.assertEqual((r.v["version"], r.v["sha256"]), ("4.0.0+0", self.sha), r)
        with open(dump, "rb") as f:
            self.assertEqual(f.read(), self.img)
        self.assert_clean(r)
        w = dict(kv.split("=") for kv in r.v["w5500_stats"].split())
        self.assertEqual(int(w["payload"]), int(w["rx_bytes"]))  # the driver took every byte the chip got
        self.assertGreaterEqual(int(w["close_wait_with_data"]), 1, r)  # FIN with data buffered: read first

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
        self.assertNotEqual(r.v.get("w5500_violations", "0"), "0", r)
        if r.rc == 0:
            self.assertEqual(r.image, self.img)
        else:
            self.assertNotEqual(r.v.get("state_after"), "new", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
