"""The management CLI for people: tables sized to their content with relative times, every device
of a long list (past the server's 1,000 a page), a readable `rollout show` (and --json for
scripts), and --include-new."""
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import CLI, Server, sign, db_connect  # noqa: E402
import test_devices as fx  # noqa: E402


def cli(s, token, *args):
    env = dict(os.environ, OTAKIT_SERVER_URL=s.url, OTAKIT_TOKEN=token)
    r = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)
    return r


class People(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        p = cls.s.product("cli-p")
        cls.owner, cls.enroll = p["owner_token"], p["enroll_token"]

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_rotate_token(self):
        p = self.s.product("cli-rot")
        r = cli(self.s, p["owner_token"], "product", "rotate-token", "cli-rot")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("one of --owner and --enroll", r.stderr)
        r = cli(self.s, p["owner_token"], "product", "rotate-token", "cli-rot", "--enroll", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        enroll = json.loads(r.stdout)["enroll_token"]
        reg = {"device_id": "cli-rot-1", "hw_rev": "rev-a", "version": "1.0.0", "slot": 0}
        self.assertEqual(self.s.req("POST", "/api/v1/device/register", reg, token=p["enroll_token"])[0], 401)
        self.assertEqual(self.s.req("POST", "/api/v1/device/register", reg, token=enroll)[0], 201)
        r = cli(self.s, p["owner_token"], "product", "rotate-token", "cli-rot", "--owner")
        self.assertNotEqual(r.returncode, 0)
        r = cli(self.s, self.s.admin, "product", "rotate-token", "cli-rot", "--owner")
        self.assertEqual(r.returncode, 0, r.stderr)
        owner = re.search(r"\b[0-9a-f]{64}\b", r.stdout).group(0)
        self.assertEqual(cli(self.s, owner, "product", "show", "cli-rot").returncode, 0)
        self.assertNotEqual(cli(self.s, p["owner_token"], "product", "show", "cli-rot").returncode, 0)

    def test_device_set_groups_is_the_operators_labels(self):
        fx.Device(self.s, self.enroll, "cli-grp-1", groups=["factory"])
        r = cli(self.s, self.owner, "device", "set", "--product", "cli-p", "--groups", "lab,customer:acme",
                "cli-grp-1", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["groups"], ["lab", "customer:acme"])
        r = cli(self.s, self.owner, "device", "list", "--product", "cli-p", "--group", "customer:acme", "--json")
        self.assertEqual([d["device_id"] for d in json.loads(r.stdout)["devices"]], ["cli-grp-1"])
        r = cli(self.s, self.owner, "device", "list", "--product", "cli-p", "--group", "factory", "--json")
        self.assertNotIn("cli-grp-1", [d["device_id"] for d in json.loads(r.stdout)["devices"]])
        r = cli(self.s, self.owner, "device", "set", "--product", "cli-p", "--groups", "no spaces", "cli-grp-1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bad_groups", r.stderr)
        r = cli(self.s, self.owner, "device", "set", "--product", "cli-p", "--groups", "", "cli-grp-1", "--json")
        self.assertEqual((r.returncode, json.loads(r.stdout)["groups"]), (0, []), r.stderr)

    def test_device_list_pages_past_1000_with_relative_times(self):
        db = db_connect(self.s.data)
        with db:
            pid = db.execute("SELECT id FROM products WHERE product_id = 'cli-p'").fetchone()[0]
            now = int(time.time())
            db.executemany("INSERT INTO devices(device_id, product, token_hash, version, version_value, last_seen, "
                           "created_at) VALUES (?, ?, ?, '1.0.0', 0, ?, ?)",
                           [("bulk-%04d" % i, pid, "%064x" % i, now - 180, now) for i in range(1234)])
        db.close()
        r = cli(self.s, self.owner, "device", "list", "--product", "cli-p", "--search", "bulk-")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 1 + 1234)
        self.assertRegex(lines[0], r"^device_id  version  slot  state +hw_rev  groups  last_seen$")
        self.assertEqual(lines[-1].split()[0], "bulk-1233")
        self.assertIn("3 min ago", lines[1])
        self.assertNotRegex(r.stdout, r"\b1[0-9]{9}\b")  # no epoch seconds
        r = cli(self.s, self.owner, "device", "list", "--product", "cli-p", "--search", "bulk-", "--json")
        body = json.loads(r.stdout)
        self.assertEqual((body["total"], len(body["devices"])), (1234, 1234))

    def test_rollout_show_is_a_summary_and_json_for_scripts(self):
        fx.add_release(self.s, "cli-p", "2.0.0", slots=(0, 1))
        for i in range(4):
            fx.Device(self.s, self.enroll, "ro-%d" % i, groups=["ring"])
        r = cli(self.s, self.owner, "rollout", "create", "--product", "cli-p", "--release", "2.0.0", "--group",
                "ring", "--stages", "50,100", "--include-new", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        ro = json.loads(r.stdout)
        self.assertTrue(ro["target"]["include_new"])
        fx.Device(self.s, self.enroll, "ro-late", groups=["ring"])
        r = cli(self.s, self.owner, "rollout", "show", "--product", "cli-p", str(ro["id"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertLess(len(out.splitlines()), 10, out)
        self.assertRegex(out, r"^rollout %d of 2\.0\.0: running\n" % ro["id"])
        self.assertIn("5 devices, started just now", out)
        self.assertRegex(out, r"  all +\[\.{30}\] 5 pending\n")
        self.assertRegex(out, r"stage 2 100% +pending +\[\.{30}\] 3 devices: 3 pending")
        r = cli(self.s, self.owner, "rollout", "show", "--product", "cli-p", str(ro["id"]), "--json")
        self.assertEqual(json.loads(r.stdout)["devices"], 5)
        r = cli(self.s, self.owner, "rollout", "list", "--product", "cli-p")
        self.assertRegex(r.stdout.splitlines()[1], r"^%d +2\.0\.0 +running +- +0 +5 +just now$" % ro["id"])
        # a second rollout over the same devices is refused in the server's words
        r = cli(self.s, self.owner, "rollout", "create", "--product", "cli-p", "--release", "2.0.0", "--group", "ring")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("rollout_overlap", r.stderr)

    def test_exit_codes_json_errors_trailing_slash_and_escaped_paths(self):
        r = cli(self.s, self.owner, "device", "show", "--product", "cli-p", "nobody", "--json")
        self.assertEqual(r.returncode, 4)
        self.assertEqual(json.loads(r.stdout), {"status": 404, "error": {"code": "not_found",
                                                                          "message": "no device nobody"}})
        r = cli(self.s, "not-a-token-of-this-server", "device", "list", "--product", "cli-p")
        self.assertEqual(r.returncode, 3)
        r = cli(self.s, self.owner, "device", "show", "--product", "cli-p", "d?x=1#y")  # escaped: one path segment
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("no device d?x=1#y", r.stderr)
        env = dict(os.environ, OTAKIT_SERVER_URL=self.s.url + "/", OTAKIT_TOKEN=self.owner)
        r = subprocess.run([CLI, "release", "list", "--product", "cli-p"], env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        env["OTAKIT_SERVER_URL"] = "http://127.0.0.1:1"
        r = subprocess.run([CLI, "release", "list", "--product", "cli-p", "--json"], env=env, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 6)
        self.assertEqual(json.loads(r.stdout)["error"]["code"], "network")

    def test_identical_reupload_is_safe_to_retry(self):
        import tempfile
        p = self.s.product("cli-up", key=None)
        d = tempfile.mkdtemp()
        img, other = os.path.join(d, "a.img"), os.path.join(d, "b.img")
        open(img, "wb").write(sign(os.urandom(2000), "7.0.0", extra=["--product", "cli-up"]))
        open(other, "wb").write(sign(os.urandom(2000), "7.0.0", extra=["--product", "cli-up"]))
        first = cli(self.s, p["owner_token"], "release", "upload", "--product", "cli-up", img, "--json")
        again = cli(self.s, p["owner_token"], "release", "upload", "--product", "cli-up", img, "--json")
        self.assertEqual((first.returncode, again.returncode), (0, 0), again.stderr)
        self.assertEqual(json.loads(first.stdout), json.loads(again.stdout))
        r = cli(self.s, p["owner_token"], "release", "upload", "--product", "cli-up", other)
        self.assertEqual(r.returncode, 5)  # another image under the same version: a conflict
        self.assertIn("409 exists", r.stderr)
        st, rels, _ = self.s.req("GET", "/api/v1/products/cli-up/releases", token=p["owner_token"])
        self.assertEqual(len(rels["releases"]), 1)

    def test_publish_signs_uploads_and_rolls_out(self):
        import tempfile
        from otaserver import VECTORS
        p = self.s.product("cli-pub")
        for i in range(2):
            fx.Device(self.s, p["enroll_token"], "pub-%d" % i, groups=["ci"])
        d = tempfile.mkdtemp()
        fw = os.path.join(d, "fw.bin")
        open(fw, "wb").write(os.urandom(3000))
        key = os.path.join(VECTORS, "ec256-key.pem")
        args = ["publish", "--product", "cli-pub", "--key", key, "--version", "3.1.0", "--security-counter", "2", fw]
        r = cli(self.s, p["owner_token"], *args, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        rel = json.loads(r.stdout)  # stdout stays JSON: the signing report went to stderr
        self.assertEqual((rel["version"], rel["security_counter"]), ("3.1.0+0", 2))
        self.assertIn("signed", r.stderr)
        again = cli(self.s, p["owner_token"], *args, "--json")  # a retried CI job
        self.assertEqual((again.returncode, json.loads(again.stdout)), (0, rel))
        r = cli(self.s, p["owner_token"], "publish", "--product", "cli-pub", "--key", key, "--version", "3.2.0",
                "--security-counter", "2", "--group", "ci", "--stages", "50,100", fw)
        self.assertEqual(r.returncode, 0, r.stderr)
        st, ros, _ = self.s.req("GET", "/api/v1/products/cli-pub/rollouts", token=p["owner_token"])
        self.assertEqual([(x["release"], x["devices"], len(x["stages"])) for x in ros["rollouts"]], [("3.2.0+0", 2, 2)])
        r = cli(self.s, p["owner_token"], "publish", "--product", "cli-pub", "--version", "3.3.0", fw)
        self.assertEqual(r.returncode, 2)  # no --key: a usage error, nothing uploaded


if __name__ == "__main__":
    unittest.main(verbosity=2)
