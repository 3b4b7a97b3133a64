"""Releases of Espressif firmware: ESP-IDF apps (esp_app_desc_t), raw ESP8266 images, slot-linked
releases (user1.bin/user2.bin) and Espressif version labels with the uniqueness rule of seed 004
(section 6). Helpers are in test_releases.py."""
import gzip
import hashlib
import os
import struct
import sys
import unittest

sys.dont_write_bytecode = True  # importing test_releases must not leave a __pycache__ in the tree
sys.path.insert(0, os.path.dirname(__file__))
from otaserver import Server, sign  # noqa: E402
from test_releases import ReleaseHelpers, esp8266_image, esp_idf_image, rel_path  # noqa: E402


class EspReleases(ReleaseHelpers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.tok = cls.s.product("rel-a")["owner_token"]

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_slot_linked_release(self):
        tok = self.new_product("rel-slots")
        u1, u2 = esp8266_image(seed=b"u1"), esp8266_image(seed=b"u2")
        st, r, _ = self.upload("rel-slots", u1, token=tok, version="2.0.0", slot="0")
        self.assertEqual((st, [a["slot"] for a in r["artifacts"]]), (201, [0]), r)
        path = rel_path("rel-slots", "2.0.0", "/artifacts")
        st, body, _ = self.s.req("POST", path, u2, token=tok)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_slot"))
        st, body, _ = self.s.req("POST", path + "?slot=2", u2, token=tok)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_slot"))
        st, r, _ = self.s.req("POST", path + "?slot=1", u2, token=tok)
        self.assertEqual(st, 201, r)
        self.assertEqual([(a["slot"], a["filename"], a["sha256"]) for a in r["artifacts"]],
                         [(0, "user1.bin", hashlib.sha256(u1).hexdigest()), (1, "user2.bin", hashlib.sha256(u2).hexdigest())])
        st, body, _ = self.s.req("POST", path + "?slot=1", esp8266_image(seed=b"u3"), token=tok)
        self.assertEqual((st, body["error"]["code"]), (409, "exists"))
        st, body, _ = self.s.req("POST", rel_path("rel-slots", "9.9.9", "/artifacts") + "?slot=1", u2, token=tok)
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))
        # the formats of a release's slot images must match
        self.assertEqual(self.upload("rel-slots", esp8266_image(seed=b"f"), token=tok, version="1.4.2", slot="0")[0], 201)
        st, body, _ = self.s.req("POST", rel_path("rel-slots", "1.4.2", "/artifacts") + "?slot=1", esp_idf_image(),
                                 token=tok)
        self.assertEqual((st, body["error"]["code"]), (400, "format_mismatch"))
        # the CLI's way: POST .../releases?slot=1 with the same version adds the other slot
        st, r, _ = self.upload("rel-slots", esp8266_image(seed=b"g"), token=tok, version="1.4.2", slot="1")
        self.assertEqual((st, len(r["artifacts"])), (201, 2))
        # a universal release takes no slot images
        self.assertEqual(self.upload("rel-slots", esp8266_image(seed=b"h"), token=tok, version="3.0.0")[0], 201)
        st, body, _ = self.s.req("POST", rel_path("rel-slots", "3.0.0", "/artifacts") + "?slot=0",
                                 esp8266_image(seed=b"i"), token=tok)
        self.assertEqual((st, body["error"]["code"]), (409, "exists"))

    def test_esp_idf_image(self):
        img = esp_idf_image(secure_version=3)
        st, r, _ = self.upload("rel-a", img)
        self.assertEqual(st, 201, r)
        self.assertEqual((r["version"], r["security_counter"], r["artifacts"][0]["format"]), ("1.4.2", 3, "esp-idf"))
        self.assertEqual((r["meta"]["project_name"], r["meta"]["version"], r["meta"]["idf_ver"]), ("blink", "1.4.2", "v5.1.2"))
        st, body, _ = self.upload("rel-a", esp_idf_image(version=b"1.4.3"), version="1.5.0")
        self.assertEqual((st, body["error"]["code"]), (400, "version_mismatch"))
        st, body, _ = self.upload("rel-a", esp_idf_image(version=b"1.4.4")[:0x100])
        self.assertEqual((st, body["error"]["code"]), (400, "bad_image"))
        st, body, _ = self.upload("rel-a", esp_idf_image(version=b"git-abcdef"))
        self.assertEqual((st, body["error"]["code"]), (400, "version_required"))
        st, r, _ = self.upload("rel-a", esp_idf_image(version=b"v1.4.5-dirty"))
        self.assertEqual((st, r["version"]), (201, "v1.4.5-dirty"))
        # versions name releases in paths and file names: no '/', spaces or non-ASCII
        st, body, _ = self.upload("rel-a", esp_idf_image(version=b"1.4.6-a/b"))
        self.assertEqual((st, body["error"]["code"]), (400, "bad_version"))
        st, body, _ = self.s.req("POST", rel_path("rel-a") + "?version=1.4.7-%ff", esp8266_image(seed=b"u"),
                                 token=self.tok)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_version"))

    def test_raw_esp8266_image(self):
        img = esp8266_image(seed=b"raw")
        st, body, _ = self.upload("rel-a", img)
        self.assertEqual((st, body["error"]["code"]), (400, "version_required"))
        st, r, _ = self.upload("rel-a", img, version="7.0.1", filename="sketch.ino.bin")
        self.assertEqual(st, 201, r)
        a = r["artifacts"][0]
        self.assertEqual((a["format"], a["md5"], a["size"], a["filename"]),
                         ("esp8266", hashlib.md5(img).hexdigest(), len(img), "sketch.ino.bin"))
        st, body, h = self.get(a["url"][len(self.s.url):])
        self.assertEqual((st, body, h["x-md5"]), (200, img, a["md5"]))
        self.assertEqual(h["content-disposition"], 'attachment; filename="sketch.ino.bin"')
        st, body, _ = self.upload("rel-a", img[:12], version="7.0.2")
        self.assertEqual((st, body["error"]["code"]), (400, "bad_image"))
        # gzip-compressed sketches (ESP8266 Arduino) and boot_v1.2+ images (0xEA) are ESP8266 too
        st, r, _ = self.upload("rel-a", gzip.compress(esp8266_image(seed=b"gz")), version="7.1.0")
        self.assertEqual((st, r["artifacts"][0]["format"], r["meta"]["compression"]), (201, "esp8266", "gzip"))
        irom = os.urandom(64)
        v2 = bytes([0xEA, 4, 0, 0x20]) + struct.pack("<III", 0x40100000, 0, len(irom)) + irom + esp8266_image(seed=b"v2")
        st, r, _ = self.upload("rel-a", v2, version="7.2.0")
        self.assertEqual((st, r["meta"]["image_version"]), (201, 2))
        st, body, _ = self.upload("rel-a", v2[:40], version="7.2.1")
        self.assertEqual((st, body["error"]["code"]), (400, "bad_image"))
        st, body, _ = self.upload("rel-a", esp8266_image(seed=b"fn"), version="7.0.3", filename="../x")
        self.assertEqual((st, body["error"]["code"]), (400, "bad_filename"))

    def test_espressif_labels(self):
        tok = self.new_product("rel-esp", rule="espressif")
        n = [0]

        def up(label, **q):
            n[0] += 1
            return self.upload("rel-esp", esp8266_image(seed=b"L%d" % n[0]), token=tok, version=label, **q)

        st, r, _ = up("v1.0.2t45772(a)")
        self.assertEqual((st, r["version"], r["version_value"], r["channel"]), (201, "v1.0.2t45772(a)", 1000002, "official"))
        self.assertEqual(r["meta"]["label"], {"type": "official", "ptype": 45772, "fota": "all", "upgradable": True})
        st, r, _ = up("b1.0.3t45772(l)")
        self.assertEqual((st, r["version_value"], r["channel"]), (201, 1000003, "beta"))
        st, body, _ = up("b1.0.5t45772(l)", channel="official")
        self.assertEqual((st, body["error"]["code"]), (400, "channel_mismatch"))
        for bad in ["1.0.2", "v1.0t1(a)", "v1000.0.0t1(a)", "v1.0.2t45772(x)", "v1.0.2t45772", "v01.0.2t1(a)",
                    "x1.0.2t1(a)", "v1.0.2t(a)", "v1.0.2t1(a) ", "v1.0.2t1(ao)"]:
            st, body, _ = up(bad)
            self.assertEqual((st, body["error"]["code"]), (400, "bad_version"), bad)
        st, body, _ = self.upload("rel-esp", esp8266_image(seed=b"nov"), token=tok)
        self.assertEqual((st, body["error"]["code"]), (400, "version_required"))
        # rule 1: b1.0.3t45772(o) exists -> no other upgradable label, nor the official twin
        self.assertEqual(up("b1.9.3t45772(o)")[0], 201)
        for label in ["v1.9.3t45772(o)", "v1.9.3t45772(l)", "v1.9.3t45772(a)", "b1.9.3t45772(l)", "b1.9.3t45772(a)"]:
            st, body, _ = up(label)
            self.assertEqual((st, body["error"]["code"]), (409, "version_conflict"), label)
        self.assertEqual(up("b1.9.3t45772(o)")[1]["error"]["code"], "exists")
        # rule 2: only one (n) label per ptype and value; v and b of one number never both
        self.assertEqual(up("b1.8.3t45772(n)")[0], 201)
        self.assertEqual(up("v1.8.3t45772(n)")[1]["error"]["code"], "version_conflict")
        # rule 3: next to (n), at most one upgradable label
        self.assertEqual(up("b1.8.3t45772(o)")[0], 201)
        self.assertEqual(up("b1.8.3t45772(a)")[1]["error"]["code"], "version_conflict")
        # rule 4 (another ptype may have the same value) is about other products: one product keeps
        # one ptype, its first label's (test_peer_espressif.py)
        self.assertEqual(up("b1.8.3t12335(n)")[1]["error"]["code"], "wrong_product")
        # the prototype's "Num3.tPTYPE" form is the same label
        self.assertEqual(up("v1.0.2.t45772(a)")[1]["error"]["code"], "exists")
        st, d, _ = self.s.req("GET", rel_path("rel-esp", "v1.0.2.t45772(a)"), token=tok)
        self.assertEqual((st, d["version"]), (200, "v1.0.2t45772(a)"))
        # otakit images: the label's number must be the header's
        st, body, _ = self.upload("rel-esp", sign(os.urandom(100), "2.0.0"), token=tok, version="v2.0.1t45772(a)")
        self.assertEqual((st, body["error"]["code"]), (400, "version_mismatch"))
        st, r, _ = self.upload("rel-esp", sign(os.urandom(100), "2.0.1"), token=tok, version="v2.0.1t45772(a)")
        self.assertEqual((st, r["version_value"]), (201, 2000001))
        # an ESP-IDF app whose own version is a label needs no query
        st, r, _ = self.upload("rel-esp", esp_idf_image(version=b"v3.1.4t45772(o)"), token=tok)
        self.assertEqual((st, r["version"], r["version_value"]), (201, "v3.1.4t45772(o)", 3001004))
        st, body, _ = self.s.req("GET", rel_path("rel-esp"), token=tok)
        values = [x["version_value"] for x in body["releases"]]
        self.assertEqual(values, sorted(values, reverse=True))

    def test_esp_idf_appended_sha256(self):
        """hash_appended (header byte 23) = 1: the SHA-256 after the 16-byte-aligned checksum covers
        everything before it (esp-idf bootloader_support/src/esp_image_format.c); a wrong one is
        refused as the bootloader would, a right one accepted."""
        tok = self.new_product("rel-idfhash")
        img = bytearray(esp_idf_image(version=b"2.2.0"))
        img[23] = 1
        self.assertEqual(len(img) % 16, 0)  # checksum byte ends the last 16-byte block
        good = bytes(img) + hashlib.sha256(bytes(img)).digest()
        bad = bytearray(good)
        bad[200] ^= 1
        st, body, _ = self.upload("rel-idfhash", bytes(bad), token=tok)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_image"), body)
        self.assertIn("appended SHA-256 does not match", body["error"]["message"])
        st, body, _ = self.upload("rel-idfhash", bytes(img), token=tok)  # says appended, has none
        self.assertEqual((st, body["error"]["code"]), (400, "bad_image"), body)
        st, r, _ = self.upload("rel-idfhash", good, token=tok)
        self.assertEqual((st, r["version"]), (201, "2.2.0"), r)

    def test_product_without_a_signing_key(self):
        """A product that publishes only ESP binaries needs no signing key; an otakit image is then
        refused, since nothing could verify it."""
        st, p, _ = self.s.req("POST", "/api/v1/products", {"product_id": "esp-only", "name": "ESP only",
                                                           "compat": {"esp": True}}, token=self.s.admin)
        self.assertEqual((st, p.get("key_hash", "missing")), (201, None), p)
        tok = p["owner_token"]
        st, r, _ = self.upload("esp-only", esp8266_image(seed=b"nokey"), token=tok, version="1.0.0")
        self.assertEqual(st, 201, r)
        st, r, _ = self.upload("esp-only", esp_idf_image(version=b"1.1.0"), token=tok)
        self.assertEqual(st, 201, r)
        st, body, _ = self.upload("esp-only", sign(os.urandom(100), "2.0.0"), token=tok)
        self.assertEqual((st, body["error"]["code"]), (400, "wrong_key"), body)
        self.assertIn("no signing key", body["error"]["message"])
        st, got, _ = self.s.req("GET", "/api/v1/products/esp-only", token=tok)
        self.assertEqual((st, got["key_hash"]), (200, None))
        # A key that is there must still be a key.
        st, body, _ = self.s.req("POST", "/api/v1/products", {"product_id": "esp-bad", "name": "x",
                                                              "public_key": "nope"}, token=self.s.admin)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_public_key"))

    def test_identical_content_is_stored_once(self):
        tok = self.new_product("rel-dedupe")
        img = esp8266_image(seed=b"same")
        sha = hashlib.sha256(img).hexdigest()
        for v in ["1.0.0", "1.0.1"]:
            self.assertEqual(self.upload("rel-dedupe", img, token=tok, version=v)[0], 201)
        self.assertIn(sha, self.store())
        self.s.req("DELETE", rel_path("rel-dedupe", "1.0.0"), token=tok)
        self.assertIn(sha, self.store())  # 1.0.1 still refers to it
        self.assertEqual(self.get("/api/v1/artifacts/" + sha)[1], img)
        self.s.req("DELETE", rel_path("rel-dedupe", "1.0.1"), token=tok)
        self.assertNotIn(sha, self.store())
        self.assert_tmp_empty()


if __name__ == "__main__":
    unittest.main(verbosity=2)
