"""otakit-device end to end: a simulated device (bootloader + firmware over a file-backed flash)
updates from a real otakit-server; bad releases (crash, hang, nonet) are rolled back for real;
kill -9 at random moments never bricks it; --fleet updates many devices in one process.

Environment: OTAKIT_DEVICE, OTAKIT_SERVER, OTAKIT_CLI, OTAKIT_VECTORS (set by CMake).
"""
import os
import random
import shutil
import subprocess
import tempfile
import time
import unittest

import simlib as sl
from simlib import CLI, DEVICE, KEY, PUB
from otaserver import Server  # noqa: E402 (simlib puts tests/server on sys.path)

PRODUCT = "sim"


class DeviceSim(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        p = cls.s.product(PRODUCT)
        cls.owner, cls.enroll = p["owner_token"], p["enroll_token"]
        cls.tmp = tempfile.mkdtemp(prefix="otakit-devsim-")
        cls.factory = cls.image("1.0.0", "healthy", upload=False)

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ---------------------------------------------------------------------------
    @classmethod
    def image(cls, version, behaviour, size=20000, upload=True):
        """mkfw + otakit sign; uploads it as a release unless upload is False. Returns the image path."""
        img = sl.firmware(cls.tmp, version, PRODUCT, behaviour, size)
        if upload:
            sl.upload(cls.s, PRODUCT, cls.owner, img)
        return img

    def rollout(self, version, devices):
        st, ro, _ = self.s.req("POST", "/api/v1/products/%s/rollouts" % PRODUCT,
                               {"release": version, "target": {"devices": devices}}, token=self.owner)
        self.assertEqual(st, 201, ro)
        return ro

    def args(self, name, *extra):
        return [DEVICE, "--server", self.s.url, "--enroll", self.enroll, "--id", name,
                "--dir", os.path.join(self.tmp, name), "--key", PUB, "--product", PRODUCT,
                "--factory", self.factory, "--commit-window", "1500", *extra]

    def run_device(self, name, *extra, timeout=120):
        p = subprocess.run(self.args(name, "--once", *extra), capture_output=True, text=True, timeout=timeout)
        self.assertNotIn("runtime error", p.stderr)  # UBSan (SANITIZE=ON) reports and goes on
        return p.returncode, p.stdout + p.stderr

    def device(self, name):
        st, d, _ = self.s.req("GET", "/api/v1/products/%s/devices/%s" % (PRODUCT, name), token=self.owner)
        self.assertEqual(st, 200, d)
        return d

    def last_action(self, name):
        acts = self.device(name).get("actions") or []
        self.assertTrue(acts, "no action for %s" % name)
        return max(acts, key=lambda a: a["id"])

    def update_to(self, name, version, behaviour, want_rc, want_status, want_version, size=20000):
        rc, out = self.run_device(name)  # first start: provision, register, nothing to do
        self.assertEqual(rc, 0, out)
        self.image(version, behaviour, size)
        self.rollout(version, [name])
        rc, out = self.run_device(name)
        self.assertEqual(rc, want_rc, out)
        act = self.last_action(name)
        self.assertEqual(act["status"], want_status, (act, out))
        self.assertTrue(self.device(name)["version"].startswith(want_version), (self.device(name), out))
        return out

    # ---- tests -----------------------------------------------------------------------------
    def test_1_healthy_update_confirmed(self):
        out = self.update_to("dev-ok", "1.1.0", "healthy", 0, "confirmed", "1.1.0")
        if os.environ.get("OTAKIT_DEVICE_SIM_VERBOSE"):
            print(out)
        self.assertIn("self-test passed: confirmed 1.1.0", out)

    def test_2_crash_rolled_back(self):
        out = self.update_to("dev-crash", "1.2.0", "crash", 4, "rolled_back", "1.0.0")
        self.assertIn("firmware crashed at boot", out)

    def test_3_hang_rolled_back_by_watchdog(self):
        out = self.update_to("dev-hang", "1.3.0", "hang", 4, "rolled_back", "1.0.0")
        self.assertIn("watchdog", out)

    def test_4_nonet_rolled_back(self):
        out = self.update_to("dev-nonet", "1.4.0", "nonet", 4, "rolled_back", "1.0.0")
        self.assertIn("self-test failed", out)

    def test_4b_foreign_image_refused_before_download(self):
        """An image that does not name this device's product (the server only refuses images naming
        another one) is refused by the pre-check: the action fails, no byte of flash changes."""
        import hashlib
        name = "dev-foreign"
        rc, out = self.run_device(name)
        self.assertEqual(rc, 0, out)
        raw = os.path.join(self.tmp, "fw-1.9.0.bin")
        img = os.path.join(self.tmp, "fw-1.9.0.img")
        subprocess.run([DEVICE, "mkfw", "--version", "1.9.0", "--behaviour", "healthy", raw], check=True)
        subprocess.run([CLI, "sign", "-k", KEY, "-v", "1.9.0", raw, img], check=True, capture_output=True)
        with open(img, "rb") as f:
            st, rel, _ = self.s.req("POST", "/api/v1/products/%s/releases" % PRODUCT, f.read(), token=self.owner)
        self.assertEqual(st, 201, rel)
        self.rollout("1.9.0", [name])
        flash = os.path.join(self.tmp, name, "flash.bin")
        digest = lambda: hashlib.sha256(open(flash, "rb").read()).hexdigest()  # noqa: E731
        before = digest()
        rc, out = self.run_device(name)
        self.assertEqual(rc, 1, out)
        self.assertIn("refused before download", out)
        act = self.last_action(name)
        self.assertEqual(act["status"], "failed", act)
        self.assertIn("another product", act["message"])
        self.assertEqual(digest(), before)
        self.assertTrue(self.device(name)["version"].startswith("1.0.0"))

    def test_5_kill9_never_bricks(self):
        """50 kill -9 at random moments (fixed seed) across successive updates, healthy and crashing
        releases in turn (a new one as soon as the last settled): every boot finds a valid image and
        the last update settles."""
        name, rnd = "dev-kill", random.Random(20261122)
        rc, out = self.run_device(name)
        self.assertEqual(rc, 0, out)
        releases, log, mid_update = [], "", 0
        for i in range(50):
            if not releases or self.last_action(name)["status"] in ("confirmed", "rolled_back", "failed"):
                version = "1.5.%d" % len(releases)
                behaviour = "crash" if len(releases) % 2 else "healthy"
                self.image(version, behaviour, size=100000)
                if releases:  # a rollback paused the last rollout: the operator cancels it first
                    st, body, _ = self.s.req("POST", "/api/v1/products/%s/rollouts/%d/cancel" % (PRODUCT, ro["id"]),
                                             token=self.owner)
                    self.assertIn(st, (200, 409), body)  # 409: it had completed
                ro = self.rollout(version, [name])
                releases.append((version, behaviour))
                log += "--- release %s %s\n" % releases[-1]
            p = subprocess.Popen(self.args(name, "--once", "--slow"), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            time.sleep(rnd.uniform(0.05, 1.0))
            p.kill()  # SIGKILL, whatever it was doing (exec'ed or not: the same pid)
            out = p.communicate()[0]
            log += "--- kill %d\n%s" % (i, out)
            self.assertNotIn("BRICK", out, log)
            mid_update += "report confirmed" not in out and "report rolled_back" not in out
        self.assertGreaterEqual(mid_update, 25, log)  # the kills did land inside updates
        rc, out = self.run_device(name, "--slow")
        log += "--- final\n" + out
        if os.environ.get("OTAKIT_DEVICE_SIM_VERBOSE"):
            print(log)
        self.assertNotIn("BRICK", out, log)
        self.assertIn(rc, (0, 4), log)
        act = self.last_action(name)
        self.assertIn(act["status"], ("confirmed", "rolled_back"), log)
        running = self.device(name)["version"]
        good = ["1.0.0"] + [v for v, b in releases if b == "healthy"]
        self.assertTrue(any(running.startswith(v + "+") or running == v for v in good), (running, log))
        self.assertIn("boot slot=0 version=%s" % running.split("+")[0], out, log)

    def test_6_fleet_of_10(self):
        base = os.path.join(self.tmp, "fleet")
        args = [DEVICE, "--server", self.s.url, "--enroll", self.enroll, "--id", "fl", "--dir", base,
                "--key", PUB, "--product", PRODUCT, "--factory", self.factory, "--once", "--fleet", "10"]
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("10 unchanged", p.stdout)
        self.image("1.6.0", "healthy")
        self.rollout("1.6.0", ["fl-%03d" % i for i in range(10)])
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("fleet: 10 devices: 10 updated, 0 rolled back, 0 failed", p.stdout, p.stdout)
        for i in range(10):
            self.assertEqual(self.last_action("fl-%03d" % i)["status"], "confirmed")

    def test_7_fleet_hang_rolled_back(self):
        base = os.path.join(self.tmp, "fleet-hang")
        args = [DEVICE, "--server", self.s.url, "--enroll", self.enroll, "--id", "fh", "--dir", base,
                "--key", PUB, "--product", PRODUCT, "--factory", self.factory, "--once", "--fleet", "3",
                "--commit-window", "1000"]
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.image("1.7.0", "hang")
        self.rollout("1.7.0", ["fh-%03d" % i for i in range(3)])
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("fleet: 3 devices: 0 updated, 3 rolled back, 0 failed", p.stdout, p.stdout)
        for i in range(3):
            self.assertEqual(self.last_action("fh-%03d" % i)["status"], "rolled_back")
            self.assertTrue(self.device("fh-%03d" % i)["version"].startswith("1.0.0"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
