"""Products and the auth rules every management route follows."""
import os
import shutil
import tempfile
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import VECTORS, Server  # noqa: E402


class Products(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_admin_token_file_is_private(self):
        self.assertEqual(os.stat(os.path.join(self.s.data, "admin.token")).st_mode & 0o777, 0o600)

    def test_create_get_list(self):
        p = self.s.product("prod-a")
        self.assertEqual(len(p["owner_token"]), 64)
        self.assertEqual(p["key_hash"], open(os.path.join(os.environ.get("OTAKIT_VECTORS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "imgtool")),
                                                          "ec256-pubhash.bin"), "rb").read().hex())
        st, body, _ = self.s.req("GET", "/api/v1/products/prod-a", token=p["owner_token"])
        self.assertEqual((st, body["name"]), (200, "prod-a"))
        self.assertNotIn("owner_token", body)
        st, body, _ = self.s.req("GET", "/api/v1/products", token=p["owner_token"])
        self.assertEqual([x["product_id"] for x in body["products"]], ["prod-a"])

    def test_token_rotation(self):
        """The admin rotates the owner token, the owner the enrollment token: the new one is shown
        once and works, the old one is refused at once, a registered device keeps its token."""
        from test_devices import Device
        p = self.s.product("prod-rot")
        dev = Device(self.s, p["enroll_token"], "rot-1")
        # an owner cannot rotate its own owner token (a leaked one must not lock out the operators)
        st, body, _ = self.s.req("POST", "/api/v1/products/prod-rot/owner-token", token=p["owner_token"])
        self.assertEqual((st, body["error"]["code"]), (403, "forbidden"))
        st, body, _ = self.s.req("POST", "/api/v1/products/prod-rot/owner-token", token=self.s.admin)
        self.assertEqual(st, 200, body)
        owner = body["owner_token"]
        self.assertEqual((len(owner), body["product_id"]), (64, "prod-rot"))
        self.assertNotEqual(owner, p["owner_token"])
        self.assertEqual(self.s.req("GET", "/api/v1/products/prod-rot", token=p["owner_token"])[0], 401)
        self.assertEqual(self.s.req("GET", "/api/v1/products/prod-rot", token=owner)[0], 200)
        st, body, _ = self.s.req("POST", "/api/v1/products/prod-rot/enroll-token", token=p["owner_token"])
        self.assertEqual(st, 401, body)
        st, body, _ = self.s.req("POST", "/api/v1/products/prod-rot/enroll-token", token=owner)
        self.assertEqual(st, 200, body)
        enroll = body["enroll_token"]
        self.assertNotEqual(enroll, p["enroll_token"])
        reg = {"device_id": "rot-2", "hw_rev": "rev-a", "version": "1.0.0", "slot": 0}
        self.assertEqual(self.s.req("POST", "/api/v1/device/register", reg, token=p["enroll_token"])[0], 401)
        self.assertEqual(self.s.req("POST", "/api/v1/device/register", reg, token=enroll)[0], 201)
        self.assertEqual(dev.check()[0], 200)  # registered before: its device token still works
        st, body, _ = self.s.req("POST", "/api/v1/products/no-such/owner-token", token=self.s.admin)
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))

    def test_duplicate_is_409(self):
        self.s.product("prod-dup")
        st, body, _ = self.s.req("POST", "/api/v1/products", {"product_id": "prod-dup", "name": "x",
                                                              "public_key": "x"}, token=self.s.admin)
        self.assertEqual(st, 400)  # the bad key is refused before the duplicate
        pem = open(os.path.join(os.environ.get("OTAKIT_VECTORS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "imgtool")), "ec256-pub.pem")).read()
        st, body, _ = self.s.req("POST", "/api/v1/products", {"product_id": "prod-dup", "name": "x",
                                                              "public_key": pem}, token=self.s.admin)
        self.assertEqual((st, body["error"]["code"]), (409, "exists"))

    def test_refused_duplicates_leave_the_store_writable(self):
        """Each refused duplicate (product, device, key, release image) changes nothing, and the one
        worker thread's connection writes again at once: on PostgreSQL a failed statement ends its
        transaction, so a refusal that left one open would fail every later write."""
        from otaserver import sign
        from test_devices import DEV, Device
        pem = open(os.path.join(VECTORS, "ec256-pub.pem")).read()
        with Server(args=["--threads", "1"]) as s:
            p = s.product("dup-a")
            own = p["owner_token"]
            dev = Device(s, p["enroll_token"], "dup-1")
            img = sign(b"dup image " * 50, "1.0.0")
            st, body, _ = s.req("POST", "/api/v1/products/dup-a/releases", img, token=own)
            self.assertEqual(st, 201, body)
            refused = [("POST", "/api/v1/products", {"product_id": "dup-a", "name": "x", "public_key": pem},
                        s.admin),
                       ("POST", DEV + "/register", {"device_id": "dup-1", "hw_rev": "r", "version": "1.0.0",
                                                    "slot": 0, "security_counter": 0}, p["enroll_token"]),
                       ("POST", "/api/v1/products/dup-a/keys", {"public_key": pem}, own),
                       ("POST", "/api/v1/products/dup-a/releases", sign(b"other image " * 50, "1.0.0"), own)]
            for i, (method, path, body, tok) in enumerate(refused):
                st, resp, _ = s.req(method, path, body, token=tok)
                self.assertEqual((st, resp["error"]["code"]), (409, "exists"), path)
                # the next write on the same connection goes through
                st, resp, _ = s.req("PATCH", "/api/v1/products/dup-a/devices/dup-1", {"groups": ["g%d" % i]},
                                    token=own)
                self.assertEqual((st, resp["groups"]), (200, ["g%d" % i]), path)
            self.assertEqual(dev.check()[0], 200)  # the first registration's token still works
            st, body, _ = s.req("GET", "/api/v1/products/dup-a/releases", token=own)
            self.assertEqual([r["version"] for r in body["releases"]], ["1.0.0+0"])
            st, body, _ = s.req("GET", "/api/v1/products", token=s.admin)
            self.assertEqual([x["product_id"] for x in body["products"]], ["dup-a"])
            self.assertNotIn(b"level=error", open(s.log_path, "rb").read())

    def test_bad_input(self):
        pem = open(os.path.join(os.environ.get("OTAKIT_VECTORS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "imgtool")), "ec256-pub.pem")).read()
        for body, code in [({"product_id": "a b", "name": "x", "public_key": pem}, "bad_product_id"),
                           ({"product_id": "x" * 33, "name": "x", "public_key": pem}, "bad_product_id"),
                           ({"product_id": "ok", "name": "", "public_key": pem}, "bad_name"),
                           ({"product_id": "ok", "name": "x", "public_key": "nope"}, "bad_public_key"),
                           ({"product_id": "ok", "name": "x", "public_key": pem, "version_rule": "x"}, "bad_version_rule")]:
            st, resp, _ = self.s.req("POST", "/api/v1/products", body, token=self.s.admin)
            self.assertEqual((st, resp["error"]["code"]), (400, code), body)
        for raw in [b"", b"{", b"[1,2]", b'{"a":1,"a":2}']:
            st, resp, _ = self.s.req("POST", "/api/v1/products", raw, token=self.s.admin)
            self.assertEqual((st, resp["error"]["code"]), (400, "bad_json"), raw)
        st, resp, _ = self.s.req("GET", "/api/v1/products", token=self.s.admin)
        self.assertNotIn("ok", [p["product_id"] for p in resp["products"]])

    def test_auth(self):
        p = self.s.product("prod-auth")
        q = self.s.product("prod-other")
        cases = [(None, 401), ("wrong-token", 401), (p["enroll_token"], 403), (q["owner_token"], 403)]
        for tok, want in cases:
            st, body, h = self.s.req("GET", "/api/v1/products/prod-auth", token=tok)
            self.assertEqual(st, want, tok)
            if want == 401:
                self.assertIn("Bearer", h["www-authenticate"])
        # The auth scheme name is case-insensitive (RFC 7235).
        st, _, _ = self.s.req("GET", "/api/v1/products/prod-auth", headers={"Authorization": "bearer " + p["owner_token"]})
        self.assertEqual(st, 200)
        st, _, _ = self.s.req("POST", "/api/v1/products", {"product_id": "z", "name": "z", "public_key": "z"},
                              token=p["owner_token"])
        self.assertEqual(st, 403)  # only the admin creates products
        st, body, _ = self.s.req("GET", "/api/v1/products/nope", token=self.s.admin)
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))

    def test_routing_errors(self):
        st, body, _ = self.s.req("DELETE", "/api/v1/products", token=self.s.admin)
        self.assertEqual((st, body["error"]["code"]), (405, "method_not_allowed"))
        st, body, _ = self.s.req("GET", "/no/such/route")
        self.assertEqual(st, 404)
        st, body, _ = self.s.req("GET", "/api/v1/products/../products", token=self.s.admin)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_path"))

    def test_non_utf8_path_gets_a_json_error(self):
        for path in ("/api/v1/products/%FF", "/no/such/%FF%FE"):
            st, body, _ = self.s.req("GET", path, token=self.s.admin)
            self.assertEqual(st, 404, path)
            self.assertEqual(body["error"]["code"], "not_found")

    def test_oversized_json_is_413(self):
        st, body, _ = self.s.req("POST", "/api/v1/products", b'{"x":"' + b"a" * (2 << 20) + b'"}', token=self.s.admin)
        self.assertEqual((st, body["error"]["code"]), (413, "too_large"))


class Lifecycle(unittest.TestCase):
    def test_sigterm_is_clean_and_state_survives_restart(self):
        s = Server().start()
        try:
            s.product("survivor")
            self.assertEqual(s.stop(), 0)
            self.assertIn(b"stopped", open(s.log_path, "rb").read())
            s.start()
            st, body, _ = s.req("GET", "/api/v1/products/survivor", token=s.admin)
            self.assertEqual(st, 200)
        finally:
            s.__exit__(None, None, None)

    def test_environment_configures_and_flags_win(self):
        env = dict(os.environ, OTAKIT_ADMIN_TOKEN="env-admin-token-0123456789", OTAKIT_LOG_LEVEL="debug",
                   OTAKIT_PUBLIC_URL="https://updates.example.com")
        s = Server(env=env).start()
        try:
            self.assertEqual(s.url, "https://updates.example.com")
            self.assertFalse(os.path.exists(os.path.join(s.data, "admin.token")))
            st, _, _ = s.req("GET", "/api/v1/products", token="env-admin-token-0123456789")
            self.assertEqual(st, 200)
        finally:
            s.__exit__(None, None, None)
        tokfile = os.path.join(tempfile.mkdtemp(prefix="otakit-tok-"), "admin")
        with open(tokfile, "w") as f:
            f.write("file-admin-token-0123456789\n")
        os.chmod(tokfile, 0o600)
        s = Server(env=env, args=["--admin-token-file", tokfile]).start()
        try:
            self.assertEqual(s.req("GET", "/api/v1/products", token="file-admin-token-0123456789")[0], 200)
            self.assertEqual(s.req("GET", "/api/v1/products", token="env-admin-token-0123456789")[0], 401)
            self.assertNotIn(b"process list", open(s.log_path, "rb").read())
        finally:
            s.__exit__(None, None, None)
            shutil.rmtree(os.path.dirname(tokfile))

    def test_admin_token_flag_warns(self):
        """--admin-token is visible to every local user in ps: it still works, with a warning, and
        --help points to the file and the environment."""
        s = Server(args=["--admin-token", "flag-admin-token-0123456789"]).start()
        try:
            self.assertEqual(s.req("GET", "/api/v1/products", token="flag-admin-token-0123456789")[0], 200)
            log = open(s.log_path, "rb").read()
            self.assertRegex(log, rb"level=warn .*--admin-token puts the token in the process list")
        finally:
            s.__exit__(None, None, None)
        import subprocess
        from otaserver import SERVER
        out = subprocess.run([SERVER, "--help"], capture_output=True).stdout
        self.assertIn(b"--admin-token-file", out)
        self.assertIn(b"OTAKIT_ADMIN_TOKEN", out)
        self.assertEqual(subprocess.run([SERVER, "--admin-token-file", "/nonexistent/token"],
                                        capture_output=True).returncode, 2)

    def test_bad_flags(self):
        import subprocess
        from otaserver import SERVER
        for args in (["--threads", "0"], ["--log-level", "loud"], ["--admin-token", "short"], ["extra"]):
            r = subprocess.run([SERVER] + args, capture_output=True)
            self.assertEqual(r.returncode, 2, args)
        r = subprocess.run([SERVER, "--help"], capture_output=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"--listen", r.stdout)


if __name__ == "__main__":
    unittest.main()
