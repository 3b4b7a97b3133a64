"""Release uploads signed with every algorithm MCUboot verifies (RSA-2048/3072 PSS, ECDSA-P384 with
SHA-384, Ed25519, besides ECDSA-P256): a product takes its key of any of them, and the server checks
each upload with the device library's verifier, over real HTTP: imgtool's image and an otakit-signed
one are accepted, a flipped signature byte is bad_signature, an image of another key is wrong_key."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import CLI, VECTORS, Server, sign  # noqa: E402
from test_releases import rel_path, tlvs  # noqa: E402

ALGS = os.path.join(os.path.dirname(os.path.abspath(VECTORS)), "imgtool-algs")
SIG_TLV = {"rsa-2048": 0x20, "rsa-3072": 0x23, "ecdsa-p384": 0x22, "ed25519": 0x24}


def vector(alg):
    with open(os.path.join(ALGS, "fw-65537.%s.bin" % alg), "rb") as f:
        return f.read()


class ReleaseAlgs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.tok = {}
        for alg in SIG_TLV:
            p = cls.s.product("algs-" + alg, key=os.path.join(ALGS, "%s-pub.pem" % alg))
            cls.tok[alg] = p["owner_token"]

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def upload(self, alg, data):
        return self.s.req("POST", rel_path("algs-" + alg), data, token=self.tok[alg])

    def test_imgtool_images_are_accepted(self):
        for alg in SIG_TLV:
            with self.subTest(alg=alg):
                st, r, _ = self.upload(alg, vector(alg))
                self.assertEqual((st, r["version"], r["meta"]["signature"]), (201, "1.2.0+3", alg), r)
                digest = open(os.path.join(ALGS, "fw-65537.%s.verify.txt" % alg)).read().split("Image digest: ")[1].split()[0]
                self.assertEqual(r["meta"]["image_hash"], digest)

    def test_otakit_signed_images_are_accepted(self):
        for alg in SIG_TLV:
            with self.subTest(alg=alg):
                img = sign(os.urandom(2000), "2.0.0", key=os.path.join(ALGS, "%s-key.pem" % alg))
                st, r, _ = self.upload(alg, img)
                self.assertEqual((st, r["meta"]["signature"]), (201, alg), r)

    def test_flipped_signature_and_foreign_key_are_refused(self):
        for alg, tlv in SIG_TLV.items():
            with self.subTest(alg=alg):
                img = bytearray(vector(alg))
                _, _, items = tlvs(bytes(img))
                v, n = [(v, n) for t, v, n in items if t == tlv][0]
                img[v + n // 2] ^= 0x01  # inside the signature value (for ECDSA: inside r or s)
                st, body, _ = self.upload(alg, bytes(img))
                self.assertEqual((st, body["error"]["code"]), (400, "bad_signature"), body)
                other = "ed25519" if alg != "ed25519" else "rsa-2048"
                st, body, _ = self.upload(alg, vector(other))
                self.assertEqual((st, body["error"]["code"]), (400, "wrong_key"), body)
                st, lst, _ = self.s.req("GET", rel_path("algs-" + alg), token=self.tok[alg])
                self.assertTrue(all(r["meta"]["signature"] == alg for r in lst["releases"]))

    def test_key_of_an_unknown_kind_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            key = os.path.join(d, "rsa1024.pem")
            subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", key],
                           check=True, capture_output=True)
            pem = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"], check=True, capture_output=True).stdout
        st, body, _ = self.s.req("POST", "/api/v1/products", {"product_id": "algs-1024", "name": "x",
                                                              "public_key": pem.decode()}, token=self.s.admin)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_public_key"), body)
        self.assertIn("RSA-2048", body["error"]["message"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
