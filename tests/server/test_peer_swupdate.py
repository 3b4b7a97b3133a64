"""hawkBit DDI against a real client: Debian's SWUpdate in suricatta mode, on loopback.

A signed .swu (cpio "crc" with sw-description, its CMS signature made by openssl with a throwaway
RSA certificate, and a raw image written to a file of the test's directory) is published as a
release of kind swu and rolled out; swupdate -k <cert> verifies the signature as on a device.
SWUpdate installs, then reports closed/success only once it is started again with -c 2 (what a
device does after the reboot into the update); a bundle whose image does not match its hash
ends the action as failed and pauses the rollout; a cancelled action reaches the client as a
cancelAction link and its feedback is recorded. Each swupdate gets its own TMPDIR (its IPC
sockets live there), and the test kills only the processes it started.
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import Server  # noqa: E402

SWUPDATE = shutil.which("swupdate")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def make_cert(d):
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "30", "-subj", "/O=otakit test/CN=swu-signer", "-addext",
                    "extendedKeyUsage=emailProtection", "-addext", "keyUsage=digitalSignature"],
                   check=True, capture_output=True)
    return key, cert


def make_swu(d, key, cert, payload, target, version, sha_of=None):
    """A .swu in d whose sw-description (signed with CMS) installs payload raw into target. sha_of:
    the bytes whose sha256 sw-description claims (default payload)."""
    work = tempfile.mkdtemp(dir=d)
    with open(os.path.join(work, "rootfs.img"), "wb") as f:
        f.write(payload)
    desc = ('software =\n{\n\tversion = "%s";\n\thardware-compatibility: [ "1.0" ];\n\timages: (\n\t\t{\n'
            '\t\t\tfilename = "rootfs.img";\n\t\t\tdevice = "%s";\n\t\t\ttype = "raw";\n\t\t\tsha256 = "%s";\n'
            '\t\t}\n\t);\n}\n') % (version, target, hashlib.sha256(payload if sha_of is None else sha_of).hexdigest())
    with open(os.path.join(work, "sw-description"), "w") as f:
        f.write(desc)
    subprocess.run(["openssl", "cms", "-sign", "-in", "sw-description", "-out", "sw-description.sig", "-signer",
                    cert, "-inkey", key, "-outform", "DER", "-nosmimecap", "-binary"], cwd=work, check=True)
    out = subprocess.run(["cpio", "-o", "-H", "crc"], input=b"sw-description\nsw-description.sig\nrootfs.img\n",
                         cwd=work, check=True, capture_output=True).stdout
    return out


@unittest.skipUnless(SWUPDATE, "swupdate is not installed (scripts/deps.sh installs it)")
class SwupdateSuricatta(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="otakit-swu-")
        cls.key, cls.cert = make_cert(cls.dir)
        cls.s = Server(args=["--ddi-poll-sleep", "1"]).start()
        p = cls.s.product("gw")
        cls.owner, cls.enroll = p["owner_token"], p["enroll_token"]
        cls.procs = []

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.dir, ignore_errors=True)

    # ---- helpers ------------------------------------------------------------------------------
    def register(self, name):
        st, body, _ = self.s.req("POST", "/api/v1/device/register",
                                 {"device_id": name, "hw_rev": "1.0", "version": "1.0.0", "slot": 0}, token=self.enroll)
        self.assertEqual(st, 201, body)
        return body["device_token"]

    def publish(self, version, swu):
        st, body, _ = self.s.req("POST", "/api/v1/products/gw/releases?kind=swu&version=%s&filename=update.swu"
                                 % version, swu, token=self.owner)
        self.assertEqual(st, 201, body)
        art = body["artifacts"][0]
        self.assertEqual((art["format"], art["size"], art["sha1"]),
                         ("swu", len(swu), hashlib.sha1(swu).hexdigest()))
        return body

    def rollout(self, version, devices):
        st, body, _ = self.s.req("POST", "/api/v1/products/gw/rollouts",
                                 {"release": version, "target": {"devices": devices}, "stages": [{"percent": 100}]},
                                 token=self.owner)
        self.assertEqual(st, 201, body)
        return body["id"]

    def rollout_state(self, ro):
        st, body, _ = self.s.req("GET", "/api/v1/products/gw/rollouts/%s" % ro, token=self.owner)
        self.assertEqual(st, 200, body)
        return body["state"], {k: v for k, v in body["counts"].items() if v}

    def device(self, name):
        st, body, _ = self.s.req("GET", "/api/v1/products/gw/devices/%s" % name, token=self.owner)
        self.assertEqual(st, 200, body)
        return body

    def swupdate(self, name, auth, confirm=None, config=None):
        """Starts swupdate in suricatta mode for controller name; auth: ("-k"|"-g", token)."""
        tmp = tempfile.mkdtemp(dir=self.dir, prefix="swu-tmp-")
        args = "-t gw -u http://127.0.0.1:%d -i %s %s %s" % (self.s.port, name, auth[0], auth[1])
        if confirm:
            args += " -c %d" % confirm
        cmd = [SWUPDATE, "-v", "-k", self.cert, "-H", "board:1.0"]
        if config:
            cmd += ["-f", config]
        log_path = os.path.join(tmp, "swupdate.log")
        with open(log_path, "wb") as log:
            p = subprocess.Popen(cmd + ["-u", args], env=dict(os.environ, TMPDIR=tmp), cwd=tmp, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        p.log_path = log_path
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)  # its own session: swupdate forks its suricatta process
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def wait_for(self, what, fn, p=None, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.3)
        log = read(p.log_path).decode(errors="replace")[-4000:] if p else ""
        self.fail("timed out waiting for %s\n%s" % (what, log))

    def poll_as(self, name, token):
        return self.s.req("GET", "/gw/controller/v1/%s" % name, headers={"Authorization": "TargetToken " + token})

    # ---- tests --------------------------------------------------------------------------------
    def test_1_install_then_confirm_after_restart(self):
        tok = self.register("gw-ok")
        target = os.path.join(self.dir, "ok-target.img")
        open(target, "wb").close()
        payload = os.urandom(20000)
        self.publish("2.0.0", make_swu(self.dir, self.key, self.cert, payload, target, "2.0.0"))
        ro = self.rollout("2.0.0", ["gw-ok"])
        cfg = os.path.join(self.dir, "swupdate.cfg")
        with open(cfg, "w") as f:
            f.write('globals : { verbose = true; };\n'
                    'identify : (\n\t{ name = "board"; value = "gw-1"; },\n\t{ name = "serial"; value = "42"; }\n);\n')
        p = self.swupdate("gw-ok", ("-k", tok), config=cfg)
        self.wait_for("the image installed", lambda: read(target) == payload, p)
        # Installed but not yet running the update: the action is in flight, not confirmed.
        self.wait_for("download reported", lambda: self.rollout_state(ro)[1].get("downloading"), p)
        self.assertEqual(self.rollout_state(ro)[0], "running")
        # configData: the attributes are stored and the link is gone from the poll.
        self.wait_for("attributes stored", lambda: self.device("gw-ok").get("attributes"), p)
        self.assertEqual(self.device("gw-ok")["attributes"], {"board": "gw-1", "serial": "42"})
        st, body, _ = self.poll_as("gw-ok", tok)
        self.assertEqual(st, 200, body)
        self.assertNotIn("configData", body["_links"])
        self.assertIn("deploymentBase", body["_links"])
        self.stop(p)
        # The "reboot": a fresh swupdate with -c 2 reports the update running.
        p2 = self.swupdate("gw-ok", ("-k", tok), confirm=2, config=cfg)
        self.wait_for("rollout finished", lambda: self.rollout_state(ro) == ("finished", {"confirmed": 1}), p2)
        self.assertEqual(self.device("gw-ok")["version"], "2.0.0")
        self.stop(p2)
        st, body, _ = self.poll_as("gw-ok", tok)
        self.assertEqual((st, body["_links"]), (200, {}))

    def test_2_failed_install_pauses_rollout_gateway_registration(self):
        st, body, _ = self.s.req("PUT", "/api/v1/products/gw/ddi", {"register": True, "gateway_token": "new"},
                                 token=self.owner)
        self.assertEqual(st, 200, body)
        gw = body["gateway_token"]
        self.assertEqual((body["register"], body["gateway_token_set"]), (True, True))
        # First poll with the product's GatewayToken registers the controller.
        p = self.swupdate("gw-bad", ("-g", gw))
        self.wait_for("registration", lambda: self.s.req("GET", "/api/v1/products/gw/devices/gw-bad",
                                                         token=self.owner)[0] == 200, p)
        target = os.path.join(self.dir, "bad-target.img")
        open(target, "wb").close()
        payload = os.urandom(8000)
        # sw-description claims another image's hash: SWUpdate refuses the install.
        self.publish("3.0.0", make_swu(self.dir, self.key, self.cert, payload, target, "3.0.0", sha_of=b"other"))
        ro = self.rollout("3.0.0", ["gw-bad"])
        self.wait_for("rollout paused", lambda: self.rollout_state(ro) == ("paused", {"failed": 1}), p)
        st, body, _ = self.s.req("GET", "/api/v1/products/gw/rollouts/%s" % ro, token=self.owner)
        self.assertTrue(body["reason"].startswith("error_threshold"), body["reason"])
        self.assertNotEqual(read(target), payload)
        self.stop(p)

    def test_3_cancel_reaches_the_client(self):
        tok = self.register("gw-cancel")
        target = os.path.join(self.dir, "cancel-target.img")
        open(target, "wb").close()
        self.publish("4.0.0", make_swu(self.dir, self.key, self.cert, b"x" * 5000, target, "4.0.0"))
        ro = self.rollout("4.0.0", ["gw-cancel"])
        st, body, _ = self.poll_as("gw-cancel", tok)
        self.assertIn("deploymentBase", body["_links"])
        st, body, _ = self.s.req("POST", "/api/v1/products/gw/rollouts/%s/cancel" % ro, token=self.owner)
        self.assertEqual(st, 200, body)
        st, body, _ = self.poll_as("gw-cancel", tok)
        self.assertIn("cancelAction", body["_links"])
        p = self.swupdate("gw-cancel", ("-k", tok))
        self.wait_for("cancel acknowledged", lambda: "cancelAction" not in self.poll_as("gw-cancel", tok)[1]["_links"],
                      p)
        self.stop(p)
        self.assertEqual(read(target), b"")  # never installed


if __name__ == "__main__":
    unittest.main()
