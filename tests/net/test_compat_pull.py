"""The device agent pulling over other OTA protocols (shared/reference/protocols.md sections 2 and 4):
  - Mongoose pull metadata against a real otakit-server (GET /api/v1/mongoose/{product}/ota.json):
    first contact offers nothing, a rollout to the device id makes the next check offer the signed
    release, which ota_pull_image() downloads and ota_end() accepts.
  - ESP8266 HTTP update (ota_esp_update): otakit-server offers ESP updaters only ESP-format (0xE9)
    artifacts, never a signed otakit image, so the full flow runs against a small Python peer that
    speaks the protocol (304 when the version header matches, 200 + Content-Length + x-MD5 with a
    signed otakit image otherwise, 403 without the updater's headers); the real server is still
    checked to accept the agent's headers (304, the MAC registered as an "esp" device)."""
import hashlib
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib as nl  # noqa: E402

MAC = "18:FE:AA:AA:AA:42"
ESP_NEED = ("STA-MAC", "AP-MAC", "free-space", "sketch-size", "sketch-md5", "chip-size", "sdk-version")


class CompatPull(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = nl.tmpdir()
        cls.s = nl.Server().start()
        p = cls.s.product(nl.PRODUCT)
        cls.owner = p["owner_token"]
        st, body, _ = cls.s.req("PATCH", "/api/v1/products/" + nl.PRODUCT,  # compat is off unless switched on
                                {"compat": {"esp": True, "mongoose": True}}, token=cls.owner)
        assert st == 200, (st, body)
        cls.img = nl.make_image("2.0.0", size=70000, seed=21)
        cls.img_path = nl.write_tmp(cls.d, "fw.img", cls.img)
        st, rel, _ = cls.s.req("POST", "/api/v1/products/%s/releases" % nl.PRODUCT, cls.img, token=cls.owner)
        assert st == 201, (st, rel)

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.d, ignore_errors=True)

    def rollout(self, devices):
        st, body, _ = self.s.req("POST", "/api/v1/products/%s/rollouts" % nl.PRODUCT,
                                 {"release": "2.0.0", "target": {"devices": devices}, "stages": [{"percent": 100}]},
                                 token=self.owner)
        self.assertEqual(st, 201, body)

    def dev_args(self, dump=None):
        a = ["--key", nl.KEY_DER, "--product", nl.PRODUCT, "--expect", self.img_path]
        return a + (["--dump", dump] if dump else [])

    # ---- Mongoose ------------------------------------------------------------------------------

    def test_mongoose_pull_from_otakit_server(self):
        meta = self.s.url + "/api/v1/mongoose/%s/ota.json?arch=host&version=1.0.0&id=mg-7" % nl.PRODUCT
        r = nl.netpull("compat", "--mongoose", meta, "--version", "1.0.0", *self.dev_args())
        # "Same version" as Mongoose's own client needs it (a size > 0; test_peer_mongoose.py): no update.
        self.assertEqual((r.rc, r.result, r.v["mg_has_update"], r.v["mg_version"]), (0, "OTA_OK", "0", "1.0.0"), r)
        self.assertNotIn("stats", r.v)  # no download was attempted
        self.rollout(["mongoose:mg-7"])
        dump = os.path.join(self.d, "mg.bin")
        r = nl.netpull("compat", "--mongoose", meta, "--version", "1.0.0", "--keep-alive", *self.dev_args(dump))
        self.assertEqual((r.rc, r.result), (0, "OTA_OK"), r)
        self.assertEqual((r.v["mg_has_update"], r.v["mg_size"]), ("1", str(len(self.img))), r)
        self.assertTrue(r.v["mg_version"].startswith("2.0.0"), r)
        self.assertIn("/api/v1/mongoose/%s/fw/%s" % (nl.PRODUCT, hashlib.sha256(self.img).hexdigest()),
                      r.v["mg_url"])
        self.assertEqual(r.v["state_after"], "new", r)  # ota_end() verified the signature
        self.assertEqual(r.v["gens"], "A")
        with open(dump, "rb") as f:
            self.assertEqual(f.read(), self.img)
        # Reporting the offered version: the same version string is no update.
        meta2 = meta.replace("version=1.0.0", "version=" + r.v["mg_version"].replace("+", "%2B"))
        r = nl.netpull("compat", "--mongoose", meta2, "--version", r.v["mg_version"], *self.dev_args())
        self.assertEqual((r.result, r.v["mg_has_update"]), ("OTA_OK", "0"), r)

    def test_mongoose_metadata_refusals(self):
        """A metadata answer the agent must not act on: size missing or 0 with a url, a size that the
        download does not match (Content-Length != size: OTA_ERR_CHANGED), malformed JSON, 404."""
        url_img = []

        def handler(req, i):
            if req.path.startswith("/fw"):
                return nl.response(200, self.img)
            body = {"/m1": b'{"version":"2.0.0","url":"%s/fw"}',
                    "/m2": b'{"version":"2.0.0","url":"%s/fw","size":0}',
                    "/m3": b'{"version":"2.0.0","url":"%s/fw","size":1234}',
                    "/m4": b'{"version":"2.0.0","url":"%s/fw","size":12'}.get(req.path.split("?")[0])
            if body is None:
                return nl.response(404, b"")
            return nl.response(200, body.replace(b"%s", url_img[0].encode()))

        with nl.FakeServer(handler) as px:
            url_img.append(px.url)
            for path, want in (("/m1", "OTA_ERR_JSON"), ("/m2", "OTA_ERR_JSON"), ("/m3", "OTA_ERR_CHANGED"),
                               ("/m4", "OTA_ERR_JSON"), ("/nope", "OTA_ERR_HTTP_STATUS")):
                r = nl.netpull("compat", "--mongoose", px.url + path + "?id=x&version=1.0.0", "--version", "1.0.0",
                               *self.dev_args())
                self.assertEqual((r.rc, r.result), (1, want), (path, r))
                self.assertNotEqual(r.v.get("state_after"), "new", r)

    # ---- ESP8266 HTTP update ---------------------------------------------------------------------

    def esp_peer(self, image, md5=None, chunked=False, serve_version="2.0.0"):
        """A server of the ESP8266 HTTP update protocol, as the Arduino docs' reference server."""
        def handler(req, i):
            h = req.headers
            if h.get("user-agent") != "ESP8266-http-Update" or any("x-esp8266-" + n.lower() not in h
                                                                   for n in ESP_NEED):
                return nl.response(403, b"forbidden")
            if h.get("x-esp8266-version") == serve_version:
                return nl.response(304, length=False)
            x_md5 = md5 if md5 is not None else hashlib.md5(image).hexdigest()
            hdrs = ["Content-Type: application/octet-stream", "x-version: " + serve_version]
            if x_md5:
                hdrs.append("x-MD5: " + x_md5)
            return nl.response(200, image, hdrs, chunked=chunked)
        return nl.FakeServer(handler)

    def esp(self, url, *extra, version="1.0.0", dump=None):
        a = ["--esp", url, "--mac", MAC] + (["--version", version] if version else [])
        return nl.netpull("compat", *a, *self.dev_args(dump), *extra)

    def test_esp_update_from_peer(self):
        with self.esp_peer(self.img) as px:
            # Running the offered version: 304, no update, the flash never touched.
            r = self.esp(px.url + "/update", version="2.0.0")
            self.assertEqual((r.rc, r.v["esp"], r.v["state_after"]), (0, "NO_UPDATE flash_ops=0", "none"), r)
            # Running an older one: the image, written, MD5-checked and verified by ota_end().
            dump = os.path.join(self.d, "esp.bin")
            r = self.esp(px.url + "/update", dump=dump)
            self.assertEqual((r.rc, r.result, r.v["state_after"]), (0, "OTA_OK", "new"), r)
            self.assertEqual((r.stats["requests"], r.stats["bytes"]), (1, len(self.img)), r)
            with open(dump, "rb") as f:
                self.assertEqual(f.read(), self.img)
            h = px.requests[-1].headers
            self.assertEqual(h["user-agent"], "ESP8266-http-Update")
            self.assertEqual((h["x-esp8266-sta-mac"], h["x-esp8266-ap-mac"], h["x-esp8266-mode"],
                              h["x-esp8266-version"]), (MAC, MAC, "sketch", "1.0.0"))
            self.assertRegex(h["x-esp8266-sketch-md5"], r"^[0-9a-f]{32}$")
            for n in ("free-space", "sketch-size", "chip-size", "chip-id"):
                self.assertRegex(h["x-esp8266-" + n], r"^\d+$", n)
            self.assertTrue(px.requests[-1].raw.startswith(b"GET /update HTTP/1.1\r\n"))

    def test_esp_md5_mismatch_and_refusals(self):
        # x-MD5 of other bytes: the image is refused before ota_end(), the download abandoned.
        with self.esp_peer(self.img, md5="0" * 32) as px:
            r = self.esp(px.url + "/u")
            self.assertEqual((r.rc, r.result, r.v["state_after"]), (1, "OTA_ERR_HASH", "none"), r)
        # A malformed x-MD5 (not 32 hex digits): refused before any flash operation.
        with self.esp_peer(self.img, md5="abc") as px:
            r = self.esp(px.url + "/u")
            self.assertEqual((r.result, r.v["esp"]), ("OTA_ERR_HTTP", "OTA_ERR_HTTP flash_ops=0"), r)
        # No x-MD5: accepted (optional in the protocol; the signature is checked anyway) unless required.
        with self.esp_peer(self.img, md5="") as px:
            r = self.esp(px.url + "/u", "--require-md5")
            self.assertEqual((r.result, r.v["esp"]), ("OTA_ERR_HTTP", "OTA_ERR_HTTP flash_ops=0"), r)
            r = self.esp(px.url + "/u")
            self.assertEqual((r.result, r.v["state_after"]), ("OTA_OK", "new"), r)
        # Chunked: the protocol has no such body; refused without touching the flash.
        with self.esp_peer(self.img, chunked=True) as px:
            r = self.esp(px.url + "/u")
            self.assertEqual((r.result, r.v["esp"]), ("OTA_ERR_HTTP", "OTA_ERR_HTTP flash_ops=0"), r)
        # Right MD5 of an unsigned blob: ota_end() refuses it.
        blob = b"\xe9" + bytes(range(256)) * 40
        with self.esp_peer(blob) as px:
            r = self.esp(px.url + "/u")
            self.assertEqual((r.rc, r.v["state_after"]), (1, "none"), r)
            self.assertEqual(r.result, "OTA_ERR_MAGIC", r)
        # 403 (the peer refuses an ESP32 updater): OTA_ERR_HTTP_STATUS, flash untouched.
        with self.esp_peer(self.img) as px:
            r = self.esp(px.url + "/u", "--esp32")
            self.assertEqual((r.result, r.v["esp"]), ("OTA_ERR_HTTP_STATUS", "OTA_ERR_HTTP_STATUS flash_ops=0"), r)
            self.assertEqual(px.requests[-1].headers["user-agent"], "ESP32-http-Update")
            self.assertIn("x-esp32-sta-mac", px.requests[-1].headers)
            # Header injection through a caller's value: OTA_ERR_ARG, nothing sent.
            n = len(px.requests)
            r = nl.netpull("compat", "--esp", px.url + "/u", "--mac", "18:FE\r\nX-Evil: 1", *self.dev_args())
            self.assertEqual((r.rc, r.v["esp"]), (1, "OTA_ERR_ARG flash_ops=0"), r)
            self.assertEqual(len(px.requests), n)

    def test_esp_headers_accepted_by_otakit_server(self):
        """otakit-server accepts the agent's request as an ESP updater's (304, not 403) and registers
        the MAC; it never offers an otakit-format image over this protocol, so it stays 304."""
        url = self.s.url + "/api/v1/esp/%s/update" % nl.PRODUCT
        r = self.esp(url)
        self.assertEqual((r.rc, r.v["esp"]), (0, "NO_UPDATE flash_ops=0"), r)
        st, dev, _ = self.s.req("GET", "/api/v1/products/%s/devices/esp:%s" % (nl.PRODUCT, MAC), token=self.owner)
        self.assertEqual((st, dev.get("via"), dev.get("mac")), (200, "esp", MAC), dev)
        self.rollout(["esp:" + MAC])
        r = self.esp(url)
        self.assertEqual((r.rc, r.v["esp"]), (0, "NO_UPDATE flash_ops=0"), r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
