"""The device library's update agent (otakit/agent_loop.h) end to end, through otakit-device (which
is a port of it and nothing more) against a real otakit-server over loopback: the device token
survives resets, a power cut between the downloaded and installing reports is settled after the
boot, progress reports reach the device's history, reboot and upgrade commands are carried out
with the user's consent and refused without it, a stopped server is retried with a capped,
jittered exponential backoff, a device deleted on the server registers again (or, without an
enrollment token, waits retry_max) also while a new image is on trial, which is confirmed, not rolled
back, and all of it works over https with a pinned CA.

Environment: OTAKIT_DEVICE, OTAKIT_SERVER, OTAKIT_CLI, OTAKIT_VECTORS (set by CMake).
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import simlib as sl
from simlib import DEVICE, HERE, PUB
from otaserver import Server  # noqa: E402 (simlib puts tests/server and tests/net on sys.path)
import netlib as nl  # noqa: E402

PRODUCT = "agent"


class Fixture:
    """A server with the product, its tokens and a directory for devices and images."""

    def __init__(self, server, tmp, extra=()):
        self.s, self.tmp, self.extra = server, tmp, list(extra)
        p = self.s.product(PRODUCT)
        self.owner, self.enroll = p["owner_token"], p["enroll_token"]
        self.factory = self.image("1.0.0", upload=False)

    def image(self, version, behaviour="healthy", size=30000, upload=True):
        img = os.path.join(self.tmp, "fw-%s.img" % version)
        if not os.path.exists(img):
            sl.firmware(self.tmp, version, PRODUCT, behaviour, size)
        if upload:
            sl.upload(self.s, PRODUCT, self.owner, img)
        return img

    def args(self, name, *extra):
        return [DEVICE, "--server", self.s.url, "--enroll", self.enroll, "--id", name, "--dir",
                os.path.join(self.tmp, name), "--key", PUB, "--product", PRODUCT, "--factory", self.factory,
                "--commit-window", "3000", *self.extra, *extra]

    def run(self, name, *extra, timeout=120):
        p = subprocess.run(self.args(name, "--once", *extra), capture_output=True, text=True, timeout=timeout)
        assert "runtime error" not in p.stderr, p.stderr  # UBSan (SANITIZE=ON) reports and goes on
        return p.returncode, p.stdout + p.stderr

    def req(self, method, path, body=None):
        return self.s.req(method, "/api/v1/products/%s/%s" % (PRODUCT, path), body, token=self.owner)[:2]

    def device(self, name):
        st, d = self.req("GET", "devices/" + name)
        assert st == 200, d
        return d

    def last_action(self, name):
        return max(self.device(name)["actions"], key=lambda a: a["id"])

    def rollout(self, version, devices):
        st, ro = self.req("POST", "rollouts", {"release": version, "target": {"devices": devices}})
        assert st == 201, ro

    def command(self, name, body):
        st, c = self.req("POST", "devices/%s/commands" % name, body)
        assert st == 201, c
        return c["command"]


def kinds(dev, action=None):
    """The device's history, oldest first: [(kind, detail)] (of one action when given)."""
    return [(e["kind"], e["detail"]) for e in reversed(dev["events"]) if action is None or e["action_id"] == action]


class Agent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="otakit-agent-")
        cls.s = Server().start()
        cls.f = Fixture(cls.s, cls.tmp)

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_token_persists_across_resets(self):
        f = self.f
        rc, out = f.run("tok")
        self.assertEqual(rc, 0, out)
        self.assertIn("registered", out)
        self.assertFalse(os.path.exists(os.path.join(f.tmp, "tok", "device.json")))
        # a reset: the token comes back from the settings sectors, no second registration
        rc, out = f.run("tok")
        self.assertEqual(rc, 0, out)
        self.assertNotIn("register", out)
        self.assertIn("up to date", out)
        self.assertEqual([k for k, _ in kinds(f.device("tok"))].count("registered"), 1)
        # the settings live in their own two sectors (settings.bin), not in a file of the sim
        with open(os.path.join(f.tmp, "tok", "settings.bin"), "rb") as s:
            self.assertIn(b"OTAS", s.read(8192))  # a record's magic

    def test_power_cut_between_downloaded_and_installing(self):
        f, name = self.f, "cut"
        self.assertEqual(f.run(name)[0], 0)
        f.image("1.1.0")
        f.rollout("1.1.0", [name])
        rc, out = f.run(name, "--cut-after-report", "downloaded")
        self.assertEqual(rc, 9, out)
        self.assertIn("power cut after the downloaded report", out)
        act = f.last_action(name)
        self.assertEqual(act["status"], "downloaded", out)
        # power back: the bootloader installs the pending image, the agent sends what was missed
        rc, out = f.run(name)
        self.assertEqual(rc, 0, out)
        self.assertIn("self-test passed: confirmed 1.1.0", out)
        act = f.last_action(name)
        self.assertEqual(act["status"], "confirmed", out)
        seq = [k for k, _ in kinds(f.device(name), act["id"]) if k in
               ("downloading", "downloaded", "installing", "installed", "confirmed")]
        self.assertEqual(seq[-3:], ["installing", "installed", "confirmed"], seq)
        self.assertTrue(f.device(name)["version"].startswith("1.1.0"))

    def test_progress_reports_reach_the_history(self):
        f, name = self.f, "prog"
        self.assertEqual(f.run(name)[0], 0)
        f.image("1.2.0", size=60000)
        f.rollout("1.2.0", [name])
        rc, out = f.run(name, "--progress", "20")
        self.assertEqual(rc, 0, out)
        act = f.last_action(name)
        self.assertEqual(act["status"], "confirmed")
        progress = [d.get("progress") for k, d in kinds(f.device(name), act["id"]) if k == "downloading"]
        self.assertEqual(progress[0], 0, progress)
        # one report per 20% (the first block past each mark), none at 100%: "downloaded" follows
        self.assertEqual([p // 20 for p in progress[1:]], [1, 2, 3, 4], progress)
        self.assertEqual(progress, sorted(progress))

    def test_reboot_command_with_and_without_consent(self):
        f = self.f
        for name, answer, status in (("rb-yes", "yes", "done"), ("rb-no", "no", "declined")):
            self.assertEqual(f.run(name)[0], 0)
            cmd = f.command(name, {"type": "reboot"})
            rc, out = f.run(name, "--consent", answer)
            self.assertEqual(rc, 0, out)
            self.assertIn("consent to reboot command %d: %s" % (cmd["id"], answer), out)
            boots = out.count("boot slot=0")
            self.assertEqual(boots, 2 if answer == "yes" else 1, out)  # the reboot happened, or not
            st, cmds = f.req("GET", "devices/%s/commands" % name)
            got = [c for c in cmds["commands"] if c["id"] == cmd["id"]][0]
            self.assertEqual(got["status"], status, got)

    def test_upgrade_command(self):
        """Seed 004 without consent: sys_upgrade, download, "downloaded", the server's sys_reboot."""
        f, name = self.f, "up"
        self.assertEqual(f.run(name)[0], 0)
        f.image("1.3.0")
        cmd = f.command(name, {"type": "upgrade", "release": "1.3.0"})
        rc, out = f.run(name)
        self.assertEqual(rc, 0, out)
        self.assertIn("waiting for the reboot command", out)
        self.assertIn("command reboot", out)
        dev = f.device(name)
        self.assertTrue(dev["version"].startswith("1.3.0"), dev)
        statuses = {c["type"]: c["status"] for c in dev["commands"]}
        self.assertEqual(statuses, {"upgrade": "done", "reboot": "done"})
        self.assertEqual(f.last_action(name)["status"], "confirmed")
        self.assertEqual(cmd["type"], "upgrade")

    def test_long_poll_learns_of_a_rollout_at_once(self):
        """--long-poll: the check waits at the server, so a rollout reaches a device polling every
        120 s within seconds (the server wakes the held check when the rollout starts)."""
        f, name = self.f, "lp"
        self.assertEqual(f.run(name)[0], 0)
        f.image("1.6.0")
        p = subprocess.Popen(f.args(name, "--poll", "120", "--long-poll", "30"), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(3)  # booted and checked: that check is now held at the server
            t0 = time.time()
            f.rollout("1.6.0", [name])
            def status():
                acts = f.device(name)["actions"]
                return max(acts, key=lambda a: a["id"])["status"] if acts else None
            while time.time() < t0 + 60 and status() != "confirmed":
                time.sleep(0.2)
            took = time.time() - t0
            self.assertEqual(status(), "confirmed")
            self.assertLess(took, 30, "the rollout waited for the 120 s poll")
        finally:
            p.kill()
            out = p.communicate()[0]
        self.assertNotIn("runtime error", out)

    def test_upgrade_command_with_the_owners_consent(self):
        """Consent required: the device downloads, then waits until the owner consents."""
        f, name = self.f, "up-cons"
        self.assertEqual(f.run(name)[0], 0)
        f.image("1.4.0")
        cmd = f.command(name, {"type": "upgrade", "release": "1.4.0", "consent": True})
        p = subprocess.Popen(f.args(name, "--once"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.time() + 60
            while time.time() < deadline and "awaiting_consent" not in [k for k, _ in kinds(f.device(name))]:
                time.sleep(0.2)
            time.sleep(1)  # a few more polls: nothing installs without the consent
            self.assertEqual(f.last_action(name)["status"], "downloaded")
            st, resp = f.req("POST", "devices/%s/commands/%d/consent" % (name, cmd["id"]), {"granted": True})
            self.assertEqual(st, 200, resp)
            out = p.communicate(timeout=60)[0]
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 0, out)
        self.assertEqual(f.last_action(name)["status"], "confirmed", out)
        self.assertTrue(f.device(name)["version"].startswith("1.4.0"))

    def test_upgrade_command_declined_on_the_device(self):
        f, name = self.f, "up-no"
        self.assertEqual(f.run(name)[0], 0)
        f.image("1.5.0")
        f.command(name, {"type": "upgrade", "release": "1.5.0", "consent": True})
        rc, out = f.run(name, "--consent", "no")
        self.assertEqual(rc, 0, out)
        self.assertNotIn("update 1.0.0", out)  # nothing downloaded
        dev = f.device(name)
        self.assertEqual(dev["commands"][0]["status"], "declined")
        self.assertEqual(f.last_action(name)["status"], "cancelled")
        self.assertTrue(dev["version"].startswith("1.0.0"))

    def test_backoff_when_the_server_is_down(self):
        tmp = tempfile.mkdtemp(prefix="otakit-agent-down-", dir=self.tmp)
        s = Server().start()
        try:
            f = Fixture(s, tmp)
            self.assertEqual(f.run("down")[0], 0)
        finally:
            s.stop()
        p = subprocess.Popen(f.args("down", "--retry-min", "100", "--retry-max", "800"), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        time.sleep(7)
        p.kill()
        out = p.communicate()[0]
        waits = [int(w) for w in re.findall(r"check failed: OTA_ERR_NET, retry in (\d+) ms", out)]
        self.assertGreaterEqual(len(waits), 8, out)
        for k, w in enumerate(waits):  # the k-th wait is drawn in [d/2, d], d = min(800, 100 * 2^k)
            d = min(800, 100 << k)
            self.assertTrue(d // 2 <= w <= d, (k, w, waits))
        capped = waits[3:]
        self.assertGreater(len(set(capped)), 1, waits)  # jitter: not one fixed period

    def delete_device(self, name):
        st, ans = self.f.req("DELETE", "devices/" + name)
        self.assertEqual(st, 204, ans)

    def test_deleted_device_registers_again(self):
        """The device is deleted on the server: its next check is refused with 401, it registers
        again with its enrollment token (once), saves the new token and is up to date; the server
        knows it again, and the next boot uses the new token without registering."""
        f = self.f
        self.assertEqual(f.run("gone-a")[0], 0)
        self.delete_device("gone-a")
        rc, out = f.run("gone-a")
        self.assertEqual(rc, 0, out)
        self.assertIn("device token refused (401: deleted on the server or revoked): registering again", out)
        self.assertLess(out.index("registering again"), out.index("registered\n"), out)
        self.assertIn("up to date", out)
        self.assertEqual([k for k, _ in kinds(f.device("gone-a"))].count("registered"), 1)
        rc, out = f.run("gone-a")
        self.assertEqual(rc, 0, out)
        self.assertNotIn("regist", out)
        self.assertIn("up to date", out)

    def test_deleted_device_without_enrollment_token_stops_retrying_fast(self):
        """Deleted on the server, and no enrollment token to register again: the device says so
        through the port's log once, and waits retry_max (jittered, here 60 s) before the next
        check instead of backing off from retry_min (100 ms) again and again."""
        f = self.f
        self.assertEqual(f.run("gone-b")[0], 0)
        self.delete_device("gone-b")
        args = f.args("gone-b", "--retry-min", "100", "--retry-max", "60000")
        at = args.index("--enroll")
        del args[at:at + 2]
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(4)
        p.kill()
        out = p.communicate()[0]
        waits = re.findall(r"device token refused \(401: deleted on the server or revoked\), no enrollment token "
                           r"to register again: next check in (\d+) ms", out)
        self.assertEqual(len(waits), 1, out)
        self.assertTrue(30000 <= int(waits[0]) <= 60000, waits)
        self.assertNotIn("check failed", out)
        self.assertNotIn("register", out.replace("to register again", ""))

    def test_deleted_device_whose_registration_is_refused(self):
        """Deleted on the server and its enrollment token refused too (here a wrong one): one
        registration is tried, then the device logs why and checks again only after retry_max,
        keeping its saved token (a server restored from a backup would take it again)."""
        f = self.f
        self.assertEqual(f.run("gone-c")[0], 0)
        self.delete_device("gone-c")
        args = f.args("gone-c", "--retry-min", "100", "--retry-max", "60000")
        args[args.index("--enroll") + 1] = "wrong-enrollment-token"
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(4)
        p.kill()
        out = p.communicate()[0]
        self.assertEqual(out.count("registering again\n"), 1, out)
        waits = re.findall(r"device token refused \(401: deleted on the server or revoked\), registering again "
                           r"failed \(401\): next check in (\d+) ms", out)
        self.assertEqual(len(waits), 1, out)
        self.assertTrue(30000 <= int(waits[0]) <= 60000, waits)
        self.assertNotIn("register failed", out)

    def on_trial_then_deleted(self, name, version):
        """Runs the device, pushes version to it and cuts the power right after its installing
        report: the image is pending; the device is then deleted on the server, so the next boot
        runs the new image on trial and its self-test check gets 401."""
        f = self.f
        self.assertEqual(f.run(name)[0], 0)
        f.image(version)
        f.rollout(version, [name])
        rc, out = f.run(name, "--cut-after-report", "installing")
        self.assertEqual(rc, 9, out)
        self.delete_device(name)

    def test_deleted_while_on_trial_registers_again_and_confirms(self):
        """Deleted on the server while a good image is on trial: the self-test's check gets 401, the
        device registers again with its enrollment token and the self-test goes on with the new
        token: the image is confirmed, not rolled back, and the server knows the device again,
        running the new version."""
        f, name = self.f, "trial-a"
        self.on_trial_then_deleted(name, "1.7.0")
        rc, out = f.run(name)
        self.assertEqual(rc, 0, out)
        self.assertIn("version=1.7.0+0 state=testing", out)
        self.assertIn("device token refused (401: deleted on the server or revoked): registering again", out)
        self.assertLess(out.index("registering again"), out.index("registered\n"), out)
        self.assertLess(out.index("registered\n"), out.index("self-test passed: confirmed 1.7.0"), out)
        self.assertNotIn("self-test failed", out)
        self.assertNotIn("rolled back", out)
        dev = f.device(name)
        self.assertTrue(dev["version"].startswith("1.7.0"), dev)
        # a new registration, running the new image (the deleted device's action went with it)
        self.assertEqual([d["version"] for k, d in kinds(dev) if k == "registered"], ["1.7.0+0"], kinds(dev))
        self.assertNotIn("rolled_back", [k for k, _ in kinds(dev)])
        self.assertEqual(dev["actions"], [])
        # the next boot: the confirmed image, with the new token
        rc, out = f.run(name)
        self.assertEqual(rc, 0, out)
        self.assertIn("version=1.7.0+0 state=confirmed", out)
        self.assertNotIn("regist", out)
        self.assertIn("up to date", out)

    def test_deleted_while_on_trial_without_enrollment_token_confirms(self):
        """Deleted on the server while a good image is on trial, and no enrollment token: the
        server answering 401 is the self-test's proof that the image reaches it (the older image
        holds the same token, so a rollback would not bring the device back): the image is
        confirmed, then the device says once that its token is refused and waits retry_max. The
        server does not know the device again; the next boot runs the confirmed image."""
        f, name = self.f, "trial-b"
        self.on_trial_then_deleted(name, "1.8.0")
        args = f.args(name, "--once", "--retry-min", "100", "--retry-max", "60000")
        at = args.index("--enroll")
        del args[at:at + 2]
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)  # --once ends on OTA_AGENT_EV_REFUSED
        self.assertIn("version=1.8.0+0 state=testing", out)
        self.assertIn("self-test passed: confirmed 1.8.0+0 (the server answered 401: reachable, credentials "
                      "refused)", out)
        waits = re.findall(r"device token refused \(401: deleted on the server or revoked\), no enrollment token "
                           r"to register again: next check in (\d+) ms", out)
        self.assertEqual(len(waits), 1, out)
        self.assertTrue(30000 <= int(waits[0]) <= 60000, waits)
        self.assertLess(out.index("self-test passed"), out.index("no enrollment token"), out)
        self.assertNotIn("self-test failed", out)
        self.assertNotIn("check failed", out)
        self.assertEqual(f.req("GET", "devices/" + name)[0], 404)
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        out = p.stdout + p.stderr
        self.assertIn("version=1.8.0+0 state=confirmed", out)
        self.assertNotIn("rolled back", out)

    def test_deleted_while_on_trial_and_registration_refused_confirms(self):
        """Deleted on the server while a good image is on trial, and its enrollment token refused
        too (here a wrong one): one registration is tried; its refusal answers the self-test as the
        401 does: the image is confirmed, the device keeps its saved token and waits retry_max."""
        f, name = self.f, "trial-c"
        self.on_trial_then_deleted(name, "1.9.0")
        args = f.args(name, "--once", "--retry-min", "100", "--retry-max", "60000")
        args[args.index("--enroll") + 1] = "wrong-enrollment-token"
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)  # --once ends on OTA_AGENT_EV_REFUSED
        self.assertEqual(out.count("registering again\n"), 1, out)
        self.assertIn("self-test passed: confirmed 1.9.0+0 (the server answered 401: reachable, credentials "
                      "refused)", out)
        self.assertRegex(out, r"registering again failed \(401\): next check in [3-6]\d{4} ms")
        self.assertNotIn("self-test failed", out)
        self.assertEqual(f.req("GET", "devices/" + name)[0], 404)
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        self.assertIn("version=1.9.0+0 state=confirmed", p.stdout + p.stderr)


class AgentOutage(unittest.TestCase):
    def test_outage_in_the_middle_of_an_update(self):
        """The server dies (kill -9) in the middle of an update and comes back 9 s later on the same
        address: the reports the device could not send are not lost nor turned into a failure;
        once the server is back the update goes on and is confirmed."""
        tmp = tempfile.mkdtemp(prefix="otakit-agent-outage-")
        s = Server().start()
        try:
            f = Fixture(s, tmp)
            self.assertEqual(f.run("out")[0], 0)
            f.image("3.0.0", size=100000)
            f.rollout("3.0.0", ["out"])
            p = subprocess.Popen(f.args("out", "--slow", "--retry-min", "300", "--retry-max", "1000"),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                deadline = time.time() + 30
                while time.time() < deadline and [a["status"] for a in f.device("out")["actions"]] != ["downloading"]:
                    time.sleep(0.05)
                time.sleep(0.4)
                s.kill9()
                time.sleep(9)
                s = Server(data=s.data, args=["--listen", "127.0.0.1:%d" % s.port]).start()
                f.s = s
                deadline = time.time() + 60
                while time.time() < deadline and f.last_action("out")["status"] != "confirmed":
                    time.sleep(0.2)
            finally:
                p.kill()
                out = p.communicate()[0]
            act = f.last_action("out")
            self.assertEqual(act["status"], "confirmed", out)
            self.assertIn("-> OTA_ERR_NET", out)  # reports did go unanswered during the outage
            self.assertIn("check failed: OTA_ERR_NET", out)
            seq = [k for k, _ in kinds(f.device("out"), act["id"])]
            self.assertNotIn("failed", seq, out)
            for k in ("downloaded", "installing", "installed", "confirmed"):
                self.assertIn(k, seq, (seq, out))
        finally:
            s.stop()
            shutil.rmtree(s.data, ignore_errors=True)
            shutil.rmtree(tmp, ignore_errors=True)


class SimHasNoProtocolCode(unittest.TestCase):
    def test_no_protocol_json_or_paths_in_the_simulator(self):
        """otakit-device is a port of the agent: no request body, answer parsing or API path of its own."""
        sim = os.path.join(HERE, "..", "..", "tools", "sim")
        for name in sorted(os.listdir(sim)):
            if not name.endswith((".c", ".h")):
                continue
            with open(os.path.join(sim, name)) as f:
                src = f.read()
            for needle in ("/api/v1/", "{\\\"", "device_token", "action_id\\\"", "ota_http_request", "ota_check_request",
                           "json.h"):
                self.assertNotIn(needle, src, name)


class AgentHttps(unittest.TestCase):
    """The same agent over https: otakit-server --tls-cert, the CA pinned with --ca."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="otakit-agent-tls-")
        cls.ca = nl.make_ca(cls.tmp, "fleet-ca")
        cls.other_ca = nl.make_ca(cls.tmp, "other-ca")
        cert = nl.make_cert(cls.tmp, "server", cls.ca, cn="localhost")
        cls.s = TlsServer(args=["--tls-cert", cert[0], "--tls-key", cert[1]]).start()
        assert cls.s.url.startswith("https://"), cls.s.url
        cls.f = Fixture(cls.s, cls.tmp, extra=["--ca", cls.ca[0], "--servername", "localhost"])

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_update_over_https(self):
        f, name = self.f, "tls"
        rc, out = f.run(name)
        self.assertEqual(rc, 0, out)
        f.image("2.0.0")
        f.rollout("2.0.0", [name])
        rc, out = f.run(name)
        self.assertEqual(rc, 0, out)
        act = f.last_action(name)
        self.assertEqual(act["status"], "confirmed", out)
        self.assertIn(20, [d.get("progress") for k, d in kinds(f.device(name), act["id"]) if k == "downloading"])

    def test_wrong_ca_is_refused(self):
        f = Fixture.__new__(Fixture)
        f.__dict__.update(self.f.__dict__)
        f.extra = ["--ca", self.other_ca[0], "--servername", "localhost"]
        rc, out = f.run("tls-rogue")
        self.assertEqual(rc, 1, out)
        self.assertIn("register failed: OTA_ERR_TLS", out)


class TlsServer(Server):
    def conn(self):
        import http.client
        import ssl
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=ssl._create_unverified_context(),
                                           timeout=30)


if __name__ == "__main__":
    unittest.main(verbosity=2)
