"""Product signing-key rotation (issue 14, item 4): a product moves from key A to key B while the
releases A signed stay published and verifiable. Over real HTTP and the otakit CLI: add B,
uploads signed by either verify, retire A, A's signature is refused from then on, A's release is
still listed and downloadable, and `otakit verify` with both keys (as a device trusting both)
verifies old and new images; the last active key cannot be retired."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import CLI, VECTORS, Server, sign  # noqa: E402


class ProductKeys(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.tmp = tempfile.mkdtemp(prefix="otakit-keys-")
        cls.key_a = os.path.join(VECTORS, "ec256-key.pem")
        cls.key_b = os.path.join(cls.tmp, "b.pem")
        subprocess.run([CLI, "keygen", "-k", cls.key_b], check=True, capture_output=True)
        p = cls.s.product("rot")  # created with key A
        cls.own = p["owner_token"]
        cls.hash_a = p["key_hash"]

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def cli(self, *args):
        r = subprocess.run([CLI, *args, "--server", self.s.url, "--token", self.own, "--json"], capture_output=True,
                           text=True)
        return r.returncode, json.loads(r.stdout) if r.stdout.strip() else json.loads(r.stderr or "null")

    def upload(self, img, version):
        return self.s.req("POST", "/api/v1/products/rot/releases?version=" + version, img, token=self.own)[:2]

    def test_rotation(self):
        img_a1 = sign(b"old firmware " * 100, "1.0.0", key=self.key_a)
        st, rel = self.upload(img_a1, "1.0.0")
        self.assertEqual(st, 201, rel)

        rc, k = self.cli("product", "key", "add", "rot", "--key", self.key_b)
        self.assertEqual(rc, 0, k)
        hash_b = k["key_hash"]
        self.assertTrue(k["active"])
        rc, again = self.cli("product", "key", "add", "rot", "--key", self.key_b)
        self.assertEqual((rc, again["error"]["code"]), (5, "exists"), again)  # conflict exit code
        st, prod, _ = self.s.req("GET", "/api/v1/products/rot", token=self.own)
        self.assertEqual(prod["key_hash"], hash_b)  # the newest active key

        # While both are active, either signature is accepted.
        st, rel = self.upload(sign(b"a second " * 100, "1.1.0", key=self.key_a), "1.1.0")
        self.assertEqual(st, 201, rel)
        img_b = sign(b"new firmware " * 100, "2.0.0", key=self.key_b)
        st, rel = self.upload(img_b, "2.0.0")
        self.assertEqual(st, 201, rel)
        self.assertEqual(rel["artifacts"][0]["meta"]["key_hash"], hash_b)  # which key signed it

        rc, out = self.cli("product", "key", "retire", "rot", self.hash_a[:12])
        self.assertEqual(rc, 0, out)
        self.assertFalse(out["active"])
        self.assertIsNotNone(out["retired_at"])
        rc, keys = self.cli("product", "key", "list", "rot")
        by_hash = {k["key_hash"]: k for k in keys["keys"]}
        self.assertEqual(keys["total"], 2)
        self.assertEqual((by_hash[self.hash_a]["active"], by_hash[self.hash_a]["releases"]), (False, 2))
        self.assertEqual((by_hash[hash_b]["active"], by_hash[hash_b]["releases"]), (True, 1))

        # A's signature no longer publishes anything...
        st, body = self.upload(sign(b"late " * 100, "3.0.0", key=self.key_a), "3.0.0")
        self.assertEqual((st, body["error"]["code"]), (400, "wrong_key"), body)
        # ...but A's releases stay, downloadable and verifiable by whoever trusts A.
        st, old, _ = self.s.req("GET", "/api/v1/products/rot/releases/1.0.0", token=self.own)
        self.assertEqual(st, 200, old)
        self.assertEqual(old["artifacts"][0]["meta"]["key_hash"], self.hash_a)
        st, data, _ = self.s.req("GET", "/api/v1/artifacts/" + old["artifacts"][0]["sha256"], token=self.own, raw=True)
        self.assertEqual((st, data), (200, img_a1))
        for name, img in (("old.img", data), ("new.img", img_b)):
            path = os.path.join(self.tmp, name)
            open(path, "wb").write(img)
            r = subprocess.run([CLI, "verify", "-k", self.key_a, "-k", self.key_b, path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        # B is now the only active key: it cannot be retired.
        rc, body = self.cli("product", "key", "retire", "rot", hash_b)
        self.assertEqual((rc, body["error"]["code"]), (5, "in_use"), body)
        st, body, _ = self.s.req("DELETE", "/api/v1/products/rot/keys/zz", token=self.own)
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))
        st, body, _ = self.s.req("POST", "/api/v1/products/rot/keys", {"public_key": "nope"}, token=self.own)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_public_key"))

    def test_another_owner_cannot_touch_the_keys(self):
        other = self.s.product("rot-other")["owner_token"]
        st, body, _ = self.s.req("GET", "/api/v1/products/rot/keys", token=other)
        self.assertEqual(st, 403, body)


if __name__ == "__main__":
    unittest.main()
