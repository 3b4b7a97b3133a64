"""Releases of otakit/MCUboot images: the checks on upload (signature by the product's key, version,
security counter, product), the content-addressed store, downloads (Range/If-Range/ETag/HEAD), who
may download, and crash safety. Espressif firmware is in test_releases_esp.py, which uses the
helpers defined here."""
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import CLI, VECTORS, Server, sign, db_connect  # noqa: E402


def rel_path(product, release=None, tail="", **query):
    """/api/v1/products/PRODUCT/releases[/RELEASE][TAIL][?QUERY] (query values URL-encoded)."""
    p = "/api/v1/products/%s/releases" % product
    if release is not None:
        p += "/" + urllib.parse.quote(release, safe="")
    p += tail
    q = {k: v for k, v in query.items() if v is not None}
    return p + ("?" + urllib.parse.urlencode(q) if q else "")


def tlvs(img):
    """(hdr_size, img_size, prot_len, unprot_off, [(type, value_off, len)]) of the unprotected area."""
    hdr_size, prot, img_size = struct.unpack_from("<HHI", img, 8)
    off = hdr_size + img_size + prot
    magic, tot = struct.unpack_from("<HH", img, off)
    assert magic == 0x6907
    out, p = [], off + 4
    while p < off + tot:
        t, n = struct.unpack_from("<HH", img, p)
        out.append((t, p + 4, n))
        p += 4 + n
    return off, tot, out


def unsigned(img):
    """The image without its key hash and signature TLVs (the hash TLV stays valid)."""
    off, tot, items = tlvs(img)
    keep = b"".join(img[v - 4:v + n] for t, v, n in items if t == 0x10)
    return img[:off] + struct.pack("<HH", 0x6907, 4 + len(keep)) + keep + img[off + tot:]


def bad_sig(img):
    """The image with one byte of the ECDSA signature's r value flipped."""
    _, _, items = tlvs(img)
    v = [v for t, v, n in items if t == 0x22][0]
    b = bytearray(img)
    b[v + 10] ^= 0x01
    return bytes(b)


def esp_idf_image(version=b"1.4.2", project=b"blink", secure_version=0, pad=600):
    """A minimal ESP-IDF app: 24-byte header, a segment holding esp_app_desc_t at 0x20, another segment."""
    desc = struct.pack("<II8x32s32s16s16s32s32s", 0xABCD5432, secure_version, version, project, b"12:00:00",
                       b"Nov 22 2026", b"v5.1.2", hashlib.sha256(b"elf").digest())
    desc += bytes(256 - len(desc))
    hdr = bytes([0xE9, 2, 2, 0x20]) + struct.pack("<I", 0x40080000) + bytes([0xEE, 0, 0, 0]) + struct.pack(
        "<HBHH", 0x0000, 0, 0, 0) + bytes(4) + b"\x00"
    assert len(hdr) == 24
    seg1 = struct.pack("<II", 0x3F400020, len(desc)) + desc
    body = os.urandom(pad)
    seg2 = struct.pack("<II", 0x40080000, len(body)) + body
    return hdr + seg1 + seg2 + b"\x00" * 15 + b"\xef"


def esp8266_image(size=700, seed=b"x"):
    """A raw ESP8266 (non-OS SDK / Arduino) image: 0xE9 header and one segment, no app description."""
    data = (hashlib.sha256(seed).digest() * (size // 32 + 1))[:size]
    return bytes([0xE9, 1, 0, 0x20]) + struct.pack("<I", 0x40100000) + struct.pack("<II", 0x40100000, size) + data + \
        b"\x00" * 15 + b"\x5a"


class ReleaseHelpers:
    """Helpers of the release tests (a mixin: self.s is the Server, self.tok the default owner token)."""

    def upload(self, product, data, token=None, **query):
        return self.s.req("POST", rel_path(product, **query), data, token=token or self.tok)

    def store(self):
        return set(os.listdir(os.path.join(self.s.data, "artifacts")))

    def assert_tmp_empty(self):
        tmp = os.path.join(self.s.data, "tmp")
        for _ in range(100):  # the upload file goes when the request is cleaned up, just after the answer
            if not os.listdir(tmp):
                return
            time.sleep(0.02)
        self.fail("upload files left in tmp: %s" % os.listdir(tmp))

    def new_product(self, pid, rule=None):
        pem = subprocess.run([CLI, "getpub", "-k", os.path.join(VECTORS, "ec256-pub.pem"), "-e", "pem"], check=True,
                             capture_output=True).stdout.decode()
        body = {"product_id": pid, "name": pid, "public_key": pem}
        if rule:
            body["version_rule"] = rule
        st, p, _ = self.s.req("POST", "/api/v1/products", body, token=self.s.admin)
        self.assertEqual(st, 201, p)
        return p["owner_token"]

    def get(self, path, token=None, headers=None):
        return self.s.req("GET", path, token=token or self.s.admin, headers=headers, raw=True)


class Releases(ReleaseHelpers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.p = cls.s.product("rel-a")
        cls.tok = cls.p["owner_token"]
        cls.img = sign(os.urandom(3000), "1.2.3+4", extra=["-s", "7", "--product", "rel-a", "--hw-rev", "A",
                                                           "--hw-rev", "B"])
        st, cls.rel, _ = cls.s.req("POST", rel_path("rel-a", channel="beta", notes="first"), cls.img, token=cls.tok)
        assert st == 201, (st, cls.rel)
        cls.sha = hashlib.sha256(cls.img).hexdigest()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    # ---- otakit images ------------------------------------------------------------------
    def test_upload_reads_the_image(self):
        r = self.rel
        self.assertEqual((r["version"], r["security_counter"], r["channel"], r["notes"]), ("1.2.3+4", 7, "beta", "first"))
        self.assertEqual((r["meta"]["product"], r["meta"]["hw_rev"], r["meta"]["format"]), ("rel-a", ["A", "B"], "otakit"))
        (a,) = r["artifacts"]
        self.assertEqual((a["slot"], a["format"], a["size"]), (None, "otakit", len(self.img)))
        self.assertEqual((a["sha256"], a["sha1"], a["md5"]), (hashlib.sha256(self.img).hexdigest(),
                                                            hashlib.sha1(self.img).hexdigest(),
                                                            hashlib.md5(self.img).hexdigest()))
        self.assertEqual(a["url"], self.s.url + "/api/v1/artifacts/" + self.sha)
        self.assertIn(self.sha, self.store())
        with open(os.path.join(self.s.data, "artifacts", self.sha), "rb") as f:
            self.assertEqual(f.read(), self.img)
        # detail by the exact version and by an equal semver ("1.2.3+4" is what the header says)
        for v in ["1.2.3+4", "v1.2.3+4"]:
            st, d, _ = self.s.req("GET", rel_path("rel-a", v), token=self.tok)
            self.assertEqual((st, d["version"], d["artifacts"][0]["sha256"]), (200, "1.2.3+4", self.sha))
        st, d, _ = self.s.req("GET", rel_path("rel-a", "1.2.3"), token=self.tok)
        self.assertEqual((st, d["error"]["code"]), (404, "not_found"))

    def test_imgtool_signed_image_is_accepted(self):
        with open(os.path.join(VECTORS, "fw-1000.seccnt7.bin"), "rb") as f:
            img = f.read()
        tok = self.new_product("rel-imgtool")
        st, r, _ = self.upload("rel-imgtool", img, token=tok)
        self.assertEqual((st, r["version"], r["security_counter"]), (201, "1.2.3+4", 7), r)

    def test_encrypted_image_is_accepted_and_served_encrypted(self):
        enc = os.path.join(VECTORS, "..", "imgtool-enc")
        with open(os.path.join(enc, "fw-65537.enc-ec256.bin"), "rb") as f:
            img = f.read()
        tok = self.new_product("rel-enc")
        st, r, _ = self.upload("rel-enc", img, token=tok)
        self.assertEqual((st, r["version"], r["meta"]["encrypted"], r["meta"]["flags"]), (201, "1.2.0+3", True, 4), r)
        st, body, _ = self.get("/api/v1/artifacts/" + r["artifacts"][0]["sha256"])
        self.assertEqual((st, body), (200, img))  # the ciphertext, as uploaded
        # The signature is still checked, over the plaintext hash the image states.
        st, r, _ = self.upload("rel-enc", bad_sig(img), token=tok, version="9.9.9")
        self.assertEqual((st, r["error"]["code"]), (400, "bad_signature"), r)
        _, _, items = tlvs(img)
        v = [v for t, v, n in items if t == 0x10][0]
        b = bytearray(img)
        b[v] ^= 1  # a stated hash the signature does not cover
        st, r, _ = self.upload("rel-enc", bytes(b), token=tok)
        self.assertEqual((st, r["error"]["code"]), (400, "bad_signature"), r)

    def test_download_byte_identical(self):
        st, body, h = self.get("/api/v1/artifacts/" + self.sha)
        self.assertEqual((st, body), (200, self.img))
        self.assertEqual(h["content-type"], "application/octet-stream")
        self.assertEqual(h["x-md5"], hashlib.md5(self.img).hexdigest())
        self.assertEqual(h["content-disposition"], 'attachment; filename="rel-a-1.2.3+4.bin"')
        self.assertEqual(h["etag"], '"%s"' % self.sha)
        self.assertEqual(h["accept-ranges"], "bytes")

    def test_ranges(self):
        n, url, img = len(self.img), "/api/v1/artifacts/" + self.sha, self.img
        for rng, want, cr in [("bytes=0-99", img[:100], "bytes 0-99/%d" % n),
                              ("bytes=-100", img[-100:], "bytes %d-%d/%d" % (n - 100, n - 1, n)),
                              ("bytes=100-", img[100:], "bytes 100-%d/%d" % (n - 1, n)),
                              ("bytes=0-0", img[:1], "bytes 0-0/%d" % n),
                              ("bytes=%d-%d" % (n - 1, n + 500), img[-1:], "bytes %d-%d/%d" % (n - 1, n - 1, n)),
                              ("bytes=-%d" % (n + 10), img, "bytes 0-%d/%d" % (n - 1, n))]:
            st, body, h = self.get(url, headers={"Range": rng})
            self.assertEqual((st, h.get("content-range"), body), (206, cr, want), rng)
            self.assertEqual(int(h["content-length"]), len(want), rng)
        for rng in ["bytes=%d-" % n, "bytes=%d-%d" % (n + 5, n + 9)]:
            st, body, h = self.get(url, headers={"Range": rng})
            self.assertEqual((st, h.get("content-range")), (416, "bytes */%d" % n), rng)
        for rng in ["bytes=0-1,5-6", "bytes=abc", "items=0-5", "bytes=5-3", "bytes=-"]:
            st, body, h = self.get(url, headers={"Range": rng})
            self.assertEqual((st, body, h.get("content-range")), (200, img, None), rng)

    def test_conditional_and_head(self):
        url, etag = "/api/v1/artifacts/" + self.sha, '"%s"' % self.sha
        st, body, _ = self.get(url, headers={"Range": "bytes=10-19", "If-Range": etag})
        self.assertEqual((st, body), (206, self.img[10:20]))
        st, body, _ = self.get(url, headers={"Range": "bytes=10-19", "If-Range": '"other"'})
        self.assertEqual((st, body), (200, self.img))
        st, body, h = self.get(url, headers={"If-None-Match": etag})
        self.assertEqual((st, body, h["etag"]), (304, b"", etag))
        st, body, h = self.s.req("HEAD", url, token=self.s.admin, raw=True)
        self.assertEqual((st, body, h["etag"], h["x-md5"]), (200, b"", etag, hashlib.md5(self.img).hexdigest()))

    # http_file() answers HEAD with a zero-length buffer and sets Content-Length by hand, which
    # libmicrohttpd ignores (it computes the header itself), so HEAD says "Content-Length: 0".
    # Fix in http.c: answer HEAD with the same fd response as GET (MHD then sends the headers of
    # the GET with no body). Remove this decorator when that lands.
    def test_head(self):
        url = "/api/v1/artifacts/" + self.sha
        st, body, h = self.s.req("HEAD", url, token=self.s.admin, raw=True)
        self.assertEqual((st, body, h["content-length"], h["x-md5"]), (200, b"", str(len(self.img)),
                                                                       hashlib.md5(self.img).hexdigest()))
        st, body, h = self.s.req("HEAD", url, token=self.s.admin, headers={"Range": "bytes=0-9"}, raw=True)
        self.assertEqual((st, body, h["content-length"]), (206, b"", "10"))

    def test_foreign_key_leaves_nothing(self):
        d = tempfile.mkdtemp()
        try:
            key = os.path.join(d, "other.pem")
            subprocess.run([CLI, "keygen", "-k", key], check=True, capture_output=True)
            img = sign(os.urandom(500), "9.0.0", key=key)
        finally:
            shutil.rmtree(d)
        before = self.store()
        st, body, _ = self.upload("rel-a", img)
        self.assertEqual((st, body["error"]["code"]), (400, "wrong_key"))
        st, d, _ = self.s.req("GET", rel_path("rel-a", "9.0.0"), token=self.tok)
        self.assertEqual(st, 404)
        self.assertEqual(self.store(), before)
        self.assertNotIn(hashlib.sha256(img).hexdigest(), self.store())
        self.assert_tmp_empty()

    def test_rejections_have_distinct_codes(self):
        img = sign(os.urandom(800), "3.0.0")
        tampered = bytearray(img)
        tampered[40] ^= 0xFF  # payload byte: the hash no longer matches
        cases = [(b"", "empty"), (unsigned(img), "unsigned"), (bad_sig(img), "bad_signature"),
                 (os.urandom(64).replace(b"\xe9", b"\x00").replace(b"\x1f", b"\x00").replace(b"\xea", b"\x00")
                  .rjust(65, b"\x00"), "bad_image"),
                 (img[:len(img) // 2], "bad_image"), (bytes(tampered), "bad_image"), (img[:20], "bad_image")]
        before = self.store()
        for data, code in cases:
            st, body, _ = self.upload("rel-a", data)
            self.assertEqual((st, body["error"]["code"]), (400, code), body)
            self.assertTrue(body["error"]["message"])
        st, body, _ = self.upload("rel-a", img[:len(img) // 2])
        self.assertIn("truncated", body["error"]["message"])  # the verifier's own words (ota_strerror)
        st, body, _ = self.upload("rel-a", bytes(tampered))
        self.assertIn("hash mismatch", body["error"]["message"])
        self.assertEqual(self.store(), before)
        self.assert_tmp_empty()
        st, lst, _ = self.s.req("GET", rel_path("rel-a"), token=self.tok)
        self.assertNotIn("3.0.0+0", [r["version"] for r in lst["releases"]])

    def test_image_for_another_product(self):
        img = sign(os.urandom(300), "4.0.0", extra=["--product", "other"])
        st, body, _ = self.upload("rel-a", img)
        self.assertEqual((st, body["error"]["code"]), (400, "wrong_product"))
        self.assertIn("other", body["error"]["message"])

    def test_explicit_version_must_match_header(self):
        img = sign(os.urandom(300), "5.1.0+2")
        st, body, _ = self.upload("rel-a", img, version="5.1.1+2")
        self.assertEqual((st, body["error"]["code"]), (400, "version_mismatch"))
        st, body, _ = self.upload("rel-a", img, version="nonsense")
        self.assertEqual((st, body["error"]["code"]), (400, "bad_version"))
        st, body, _ = self.upload("rel-a", img, version="5.1.0+2")
        self.assertEqual((st, body["version"]), (201, "5.1.0+2"))

    def test_duplicate_version(self):
        img = sign(os.urandom(300), "6.0.0")
        self.assertEqual(self.upload("rel-a", img)[0], 201)
        st, body, _ = self.upload("rel-a", sign(os.urandom(300), "6.0.0"))
        self.assertEqual((st, body["error"]["code"]), (409, "exists"))
        st, body, _ = self.upload("rel-a", esp8266_image(seed=b"dup"), version="6.0.0")  # same version, other text
        self.assertEqual((st, body["error"]["code"]), (409, "exists"))

    def test_list_newest_first_and_delete(self):
        tok = self.new_product("rel-list")
        for v in ["1.0.0", "2.0.0", "1.10.0", "1.2.0+5", "1.2.0+40", "200.0.0+4294967295"]:
            st, body, _ = self.upload("rel-list", sign(os.urandom(200), v), token=tok,
                                      channel="beta" if v == "2.0.0" else None)
            self.assertEqual(st, 201, body)
        st, body, _ = self.s.req("GET", rel_path("rel-list"), token=tok)
        self.assertEqual([r["version"] for r in body["releases"]],
                         ["200.0.0+4294967295", "2.0.0+0", "1.10.0+0", "1.2.0+40", "1.2.0+5", "1.0.0+0"])
        st, body, _ = self.s.req("GET", rel_path("rel-list", channel="beta"), token=tok)
        self.assertEqual([r["version"] for r in body["releases"]], ["2.0.0+0"])
        # pages: limit/offset as the device list, "total" counts every matching release
        st, body, _ = self.s.req("GET", rel_path("rel-list", limit="2", offset="1"), token=tok)
        self.assertEqual(([r["version"] for r in body["releases"]], body["total"]),
                         (["2.0.0+0", "1.10.0+0"], 6))
        st, body, _ = self.s.req("GET", rel_path("rel-list", channel="beta", offset="5"), token=tok)
        self.assertEqual((body["releases"], body["total"]), ([], 1))
        for q, code in ((dict(limit="0"), "bad_limit"), (dict(limit="10001"), "bad_limit"),
                        (dict(offset="-1"), "bad_offset"), (dict(offset="x"), "bad_offset")):
            st, body, _ = self.s.req("GET", rel_path("rel-list", **q), token=tok)
            self.assertEqual((st, body["error"]["code"]), (400, code))
        # the CLI prints them all, a page at a time
        env = dict(os.environ, OTAKIT_SERVER_URL=self.s.url, OTAKIT_TOKEN=tok)
        r = subprocess.run([CLI, "release", "list", "--product", "rel-list", "--json"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, json.loads(r.stdout)["total"], len(json.loads(r.stdout)["releases"])),
                         (0, 6, 6), r.stderr)
        sha = [r for r in self.s.req("GET", rel_path("rel-list"), token=tok)[1]["releases"]
               if r["version"] == "1.0.0+0"][0]["artifacts"][0]["sha256"]
        st, body, _ = self.s.req("DELETE", rel_path("rel-list", "1.0.0"), token=tok)
        self.assertEqual(st, 200, body)
        self.assertNotIn(sha, self.store())
        self.assertEqual(self.get("/api/v1/artifacts/" + sha)[0], 404)
        self.assertEqual(self.s.req("GET", rel_path("rel-list", "1.0.0"), token=tok)[0], 404)
        self.assertEqual(self.s.req("DELETE", rel_path("rel-list", "1.0.0"), token=tok)[0], 404)

    def test_release_of_a_running_rollout_is_kept(self):
        tok = self.new_product("rel-rollout")
        st, r, _ = self.upload("rel-rollout", sign(os.urandom(100), "1.0.0"), token=tok)
        db = db_connect(self.s.data)
        db.execute("CREATE TABLE IF NOT EXISTS rollouts (id INTEGER PRIMARY KEY, product INTEGER, release INTEGER, "
                   "state TEXT NOT NULL DEFAULT 'running', created_at INTEGER NOT NULL DEFAULT 0, "
                   "updated_at INTEGER NOT NULL DEFAULT 0)")
        (rel,) = db.execute("SELECT id FROM releases WHERE version = '1.0.0+0' AND product = "
                            "(SELECT id FROM products WHERE product_id = 'rel-rollout')").fetchone()
        cur = db.execute("INSERT INTO rollouts(product, release, state, created_at, updated_at) "
                         "SELECT product, id, 'running', 0, 0 FROM releases WHERE id = ?", (rel,))
        db.commit()
        st, body, _ = self.s.req("DELETE", rel_path("rel-rollout", "1.0.0"), token=tok)
        self.assertEqual((st, body["error"]["code"]), (409, "in_use"))
        db.execute("UPDATE rollouts SET state = 'finished' WHERE id = ?", (cur.lastrowid,))
        db.commit()
        db.close()
        self.assertEqual(self.s.req("DELETE", rel_path("rel-rollout", "1.0.0"), token=tok)[0], 200)

    # ---- auth and paths -----------------------------------------------------------------
    def test_artifact_name_is_validated(self):
        for p in ["/api/v1/artifacts/..%2f..%2fetc%2fpasswd", "/api/v1/artifacts/..%2F..%2F..%2Fetc%2Fpasswd",
                  "/api/v1/artifacts/%2e%2e%2f%2e%2e%2fotakit.db", "/api/v1/artifacts/" + self.sha.upper(),
                  "/api/v1/artifacts/" + self.sha[:63], "/api/v1/artifacts/" + self.sha + "0",
                  "/api/v1/artifacts/..", "/api/v1/artifacts/%00" + self.sha[1:]]:
            st, body, _ = self.get(p)
            self.assertIn(st, (400, 404), p)
            self.assertNotIn(b"root:", body)
        st, body, _ = self.get("/api/v1/artifacts/" + "0" * 64)
        self.assertEqual(st, 404)
        # bytes that are not UTF-8 in a path still get a JSON answer
        for p in ["/api/v1/products/rel-a/releases/1.2.3%2B4-%FF", "/api/v1/products/%FF/releases"]:
            st, body, _ = self.s.req("GET", p, token=self.s.admin)
            self.assertEqual((st, body["error"]["code"]), (404, "not_found"), p)
        # a file in the store that no release refers to is not served either
        with open(os.path.join(self.s.data, "artifacts", "1" * 64), "wb") as f:
            f.write(b"stray")
        self.assertEqual(self.get("/api/v1/artifacts/" + "1" * 64)[0], 404)
        os.unlink(os.path.join(self.s.data, "artifacts", "1" * 64))

    def test_who_may_download_and_upload(self):
        other = self.new_product("rel-other")
        db = db_connect(self.s.data)
        ids = dict(db.execute("SELECT product_id, id FROM products"))
        for dev, prod in [("dev-a", "rel-a"), ("dev-b", "rel-other")]:
            db.execute("INSERT INTO devices(device_id, product, token_hash, created_at) VALUES (?,?,?,0)",
                       (dev, ids[prod], hashlib.sha256(("tok-" + dev).encode()).hexdigest()))
        db.commit()
        db.close()
        url = "/api/v1/artifacts/" + self.sha
        self.assertEqual(self.s.req("GET", url, token="tok-dev-a", raw=True)[:2], (200, self.img))
        st, body, _ = self.s.req("GET", url, token="tok-dev-b")
        self.assertEqual((st, body["error"]["code"]), (403, "forbidden"))
        self.assertEqual(self.s.req("GET", url, token=other)[0], 403)
        self.assertEqual(self.s.req("GET", url)[0], 401)
        self.assertEqual(self.s.req("GET", url, token="nope")[0], 401)
        img = sign(os.urandom(100), "8.0.0")
        for tok, want in [(None, 401), (other, 403), ("tok-dev-a", 403), (self.p["enroll_token"], 403)]:
            self.assertEqual(self.s.req("POST", rel_path("rel-a"), img, token=tok)[0], want, tok)
        st, body, _ = self.s.req("POST", rel_path("nope"), img, token=self.s.admin)
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))
        self.assertEqual(self.s.req("DELETE", rel_path("rel-a", "1.2.3+4"), token=other)[0], 403)


    # auth.c lets an owner token reach only routes whose first path parameter is its product id,
    # and here that parameter is the sha256, so the owner gets 403 before download() can check
    # that the artifact is its product's. Remove the decorator when auth.c exempts this route.
    def test_owner_downloads_its_artifacts(self):
        st, body, _ = self.s.req("GET", "/api/v1/artifacts/" + self.sha, token=self.tok, raw=True)
        self.assertEqual((st, body), (200, self.img))


class Limits(unittest.TestCase):
    def test_oversized_upload_is_413(self):
        with Server(args=["--max-upload", "4096"]) as s:
            tok = s.product("big")["owner_token"]
            img = sign(os.urandom(8000), "1.0.0")
            st, body, _ = s.req("POST", rel_path("big"), img, token=tok)
            self.assertEqual((st, body["error"]["code"]), (413, "too_large"))
            st, body, _ = s.req("POST", rel_path("big"), sign(os.urandom(1000), "1.0.0"), token=tok)
            self.assertEqual(st, 201, body)  # under the limit is fine
            self.assertEqual(len(os.listdir(os.path.join(s.data, "artifacts"))), 1)

    def test_kill9_during_upload_leaves_nothing(self):
        data = tempfile.mkdtemp(prefix="otakit-test-")
        try:
            s = Server(data=data).start()
            tok = s.product("crash")["owner_token"]
            img = sign(os.urandom(200000), "1.0.0")
            sock = socket.create_connection(("127.0.0.1", s.port))
            sock.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n"
                          "Content-Type: application/octet-stream\r\n\r\n" % (rel_path("crash"), tok, len(img))).encode())
            sock.sendall(img[:len(img) // 2])
            tmp = os.path.join(data, "tmp")
            deadline = time.time() + 10
            while time.time() < deadline and not any(os.path.getsize(os.path.join(tmp, f)) > 0 for f in os.listdir(tmp)):
                time.sleep(0.02)
            self.assertTrue(os.listdir(tmp), "the upload never reached the tmp dir")
            s.kill9()
            sock.close()
            s = Server(data=data).start()
            try:
                st, body, _ = s.req("GET", rel_path("crash"), token=tok)
                self.assertEqual((st, body["releases"]), (200, []))
                self.assertEqual(os.listdir(tmp), [])
                self.assertEqual(os.listdir(os.path.join(data, "artifacts")), [])
                st, body, _ = s.req("POST", rel_path("crash"), img, token=tok)  # and the upload works again
                self.assertEqual(st, 201, body)
            finally:
                s.stop()
        finally:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
