"""HTTPS with a certificate and key, and the otakit CLI as a real client of the management API."""
import json
import os
import ssl
import subprocess
import sys
import tempfile
import unittest
import http.client

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import CLI, VECTORS, Server, sign  # noqa: E402


class Https(unittest.TestCase):
    def test_serves_https_with_the_given_certificate(self):
        d = tempfile.mkdtemp(prefix="otakit-tls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True)
        with Server(args=["--tls-cert", cert, "--tls-key", key]) as s:
            self.assertTrue(s.url.startswith("https://"), s.url)
            ctx = ssl.create_default_context(cafile=cert)
            ctx.check_hostname = False
            c = http.client.HTTPSConnection("127.0.0.1", s.port, context=ctx, timeout=10)
            c.request("GET", "/api/v1/products", headers={"Authorization": "Bearer " + s.admin})
            r = c.getresponse()
            self.assertEqual((r.status, json.loads(r.read())), (200, {"products": [], "total": 0}))
            # Plain HTTP to the TLS port gets no API answer.
            plain = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
            with self.assertRaises(Exception):
                plain.request("GET", "/api/v1/products")
                resp = plain.getresponse()
                if resp.status == 200:
                    raise AssertionError("served plain HTTP on the TLS port")
                raise ConnectionError(resp.status)

    def test_cli_trusts_a_private_ca_with_cacert(self):
        d = tempfile.mkdtemp(prefix="otakit-tls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        with Server(args=["--tls-cert", cert, "--tls-key", key]) as s:
            env = dict(os.environ, OTAKIT_SERVER_URL=s.url + "/", OTAKIT_TOKEN=s.admin)
            env.pop("OTAKIT_CACERT", None)
            run = lambda *a, **kw: subprocess.run([CLI, "product", "list", *a], capture_output=True,  # noqa: E731
                                                  text=True, env=dict(env, **kw), timeout=60)
            r = run()
            self.assertEqual(r.returncode, 6, r)  # the system's CAs do not know it: a TLS failure
            r = run("--cacert", cert)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("product_id", r.stdout)
            self.assertEqual(run(OTAKIT_CACERT=cert).returncode, 0)

    def test_missing_key_is_refused(self):
        r = subprocess.run([os.environ.get("OTAKIT_SERVER", "build/server/otakit-server"), "--listen", "127.0.0.1:0",
                            "--data", tempfile.mkdtemp(), "--tls-cert", "/nonexistent.pem"], capture_output=True,
                           timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"tls-key", r.stderr)


class CliClient(unittest.TestCase):
    """`otakit product|release|rollout|device` against a real server."""

    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def cli(self, *args, token=None, ok=True):
        env = dict(os.environ, OTAKIT_SERVER_URL="http://127.0.0.1:%d" % self.s.port, OTAKIT_TOKEN=token or "")
        r = subprocess.run([CLI, *args], capture_output=True, text=True, env=env)
        if ok:
            self.assertEqual(r.returncode, 0, (args, r.stderr))
        return r

    def test_end_to_end(self):
        pub = os.path.join(VECTORS, "ec256-pub.pem")
        p = json.loads(self.cli("product", "create", "--json", "--id", "cli-prod", "--name", "CLI product", "--key",
                                pub, token=self.s.admin).stdout)
        owner = p["owner_token"]
        self.assertIn("cli-prod", self.cli("product", "list", token=self.s.admin).stdout)
        r = self.cli("product", "create", "--id", "cli-prod", "--name", "x", "--key", pub, token=self.s.admin, ok=False)
        self.assertEqual(r.returncode, 5)  # conflict
        self.assertIn("409 exists", r.stderr)
        # release upload from a file, then list/show
        d = tempfile.mkdtemp()
        img = os.path.join(d, "fw.img")
        open(img, "wb").write(sign(os.urandom(3000), "2.0.0", extra=["--product", "cli-prod"]))
        rel = json.loads(self.cli("release", "upload", "--json", "--product", "cli-prod", img, token=owner).stdout)
        self.assertEqual(rel["version"], "2.0.0+0")
        self.assertIn("2.0.0+0", self.cli("release", "list", "--product", "cli-prod", token=owner).stdout)
        # a device, a rollout, and the device list
        st, dev, _ = self.s.req("POST", "/api/v1/device/register",
                                {"device_id": "cli-dev", "hw_rev": "a", "version": "1.0.0", "slot": 0},
                                token=p["enroll_token"])
        self.assertEqual(st, 201, dev)
        ro = json.loads(self.cli("rollout", "create", "--json", "--product", "cli-prod", "--release", "2.0.0",
                                 "--devices", "cli-dev", "--stages", "50,100", token=owner).stdout)
        self.assertEqual([s["spec"] for s in ro["stages"]], [{"percent": 50}, {"percent": 100}])
        rid = str(ro["id"])
        self.assertEqual(json.loads(self.cli("rollout", "pause", "--json", "--product", "cli-prod", rid,
                                             token=owner).stdout)["state"], "paused")
        self.assertEqual(json.loads(self.cli("rollout", "resume", "--json", "--product", "cli-prod", rid,
                                             token=owner).stdout)["state"], "running")
        self.assertIn(rid, self.cli("rollout", "list", "--product", "cli-prod", token=owner).stdout)
        self.assertIn("cli-dev", self.cli("device", "list", "--product", "cli-prod", token=owner).stdout)
        cmd = json.loads(self.cli("device", "command", "--json", "--product", "cli-prod", "--type", "reboot",
                                  "cli-dev", token=owner).stdout)
        self.assertEqual(cmd["command"]["type"], "reboot")
        self.assertEqual(json.loads(self.cli("rollout", "cancel", "--json", "--product", "cli-prod", rid,
                                             token=owner).stdout)["state"], "cancelled")

    def test_errors(self):
        r = self.cli("product", "list", token="wrong", ok=False)
        self.assertEqual(r.returncode, 3)  # auth
        self.assertIn("401 unauthorized", r.stderr)
        r = self.cli("release", "list", ok=False, token=self.s.admin)
        self.assertEqual(r.returncode, 2)  # --product missing: usage error
        r = self.cli("rollout", "create", "--product", "x", "--release", "1", "--stages", "0,200",
                     token=self.s.admin, ok=False)
        self.assertEqual(r.returncode, 2)
        env = dict(os.environ, OTAKIT_SERVER_URL="http://127.0.0.1:1", OTAKIT_TOKEN="x")
        r = subprocess.run([CLI, "product", "list"], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 6)  # network
        self.assertIn("Couldn't connect", r.stderr)
        for sub in ("product", "release", "rollout", "device"):
            r = subprocess.run([CLI, sub, "--help"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0)
            self.assertIn("usage: otakit " + sub, r.stdout)


if __name__ == "__main__":
    unittest.main()
