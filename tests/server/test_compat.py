"""The protocols existing devices speak: ESP8266/ESP32 HTTP update, AutoConnect catalog, Mongoose
pull metadata. Each answers what those client libraries check, mapped onto releases and rollouts."""
import hashlib
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import Server  # noqa: E402
from test_releases import esp8266_image  # noqa: E402

MAC = "18:FE:AA:AA:AA:01"


def esp_headers(mac=MAC, version=None, md5="0" * 32, chip="ESP8266"):
    h = {"User-Agent": "%s-http-Update" % chip, "x-%s-STA-MAC" % chip: mac, "x-%s-AP-MAC" % chip: mac,
         "x-%s-free-space" % chip: "700000", "x-%s-sketch-size" % chip: "300000",
         "x-%s-sketch-md5" % chip: md5, "x-%s-chip-size" % chip: "4194304", "x-%s-sdk-version" % chip: "2.2.1",
         "x-%s-mode" % chip: "sketch"}
    if chip == "ESP8266":
        h["x-ESP8266-Chip-ID"] = "1234567"
    if version:
        h["x-%s-version" % chip] = version
    return h


class Compat(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.p = cls.s.product("espy")
        cls.owner = cls.p["owner_token"]
        # Compat access is the owner's explicit choice (off by default: test_compat_trust.py).
        st, body, _ = cls.s.req("PATCH", "/api/v1/products/espy", {"compat": {"esp": True, "mongoose": True,
                                                                             "confirm_by_version": True}},
                                token=cls.owner)
        assert st == 200, body
        cls.image = esp8266_image(size=30000, seed=b"compat")
        st, rel, _ = cls.s.req("POST", "/api/v1/products/espy/releases?version=1.0.1", cls.image, token=cls.owner)
        assert st == 201, rel

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def rollout(self, devices):
        st, body, _ = self.s.req("POST", "/api/v1/products/espy/rollouts",
                                 {"release": "1.0.1", "target": {"devices": devices}, "stages": [{"percent": 100}]},
                                 token=self.owner)
        self.assertEqual(st, 201, body)
        return body

    def esp_id(self, mac):
        return "esp:" + mac

    def esp_get(self, headers):
        return self.s.req("GET", "/api/v1/esp/espy/update", headers=headers, raw=True)

    def test_esp8266_flow(self):
        mac = "18:FE:AA:AA:AA:10"
        # Without the updater's headers: 403, as the reference server does.
        st, _, _ = self.esp_get({})
        self.assertEqual(st, 403)
        h = esp_headers(mac)
        del h["x-ESP8266-sketch-md5"]
        self.assertEqual(self.esp_get(h)[0], 403)
        # First contact registers the device; nothing is assigned yet: 304.
        st, body, _ = self.esp_get(esp_headers(mac, version="1.0.0"))
        self.assertEqual((st, body), (304, b""))
        st, dev, _ = self.s.req("GET", "/api/v1/products/espy/devices/" + self.esp_id(mac), token=self.owner)
        self.assertEqual(st, 200, dev)
        self.assertEqual((dev["device_id"], dev["via"], dev["mac"]), ("esp:" + mac, "esp", mac))
        # A rollout to it: 200 with the image and the headers the updater checks.
        ro = self.rollout([self.esp_id(mac)])
        st, body, hdr = self.esp_get(esp_headers(mac, version="1.0.0"))
        self.assertEqual(st, 200)
        self.assertEqual(body, self.image)
        self.assertEqual(int(hdr["content-length"]), len(self.image))
        self.assertEqual(hdr["content-type"], "application/octet-stream")
        self.assertEqual(hdr["x-md5"], hashlib.md5(self.image).hexdigest())
        self.assertRegex(hdr["x-md5"], r"^[0-9a-f]{32}$")
        self.assertIn("attachment; filename=", hdr["content-disposition"])
        # Running that very sketch (by MD5): 304.
        st, _, _ = self.esp_get(esp_headers(mac, version="1.0.0", md5=hashlib.md5(self.image).hexdigest()))
        self.assertEqual(st, 304)
        # After the update the device reports the new version: 304, and its rollout is done.
        st, _, _ = self.esp_get(esp_headers(mac, version="1.0.1"))
        self.assertEqual(st, 304)
        st, ro, _ = self.s.req("GET", "/api/v1/products/espy/rollouts/%s" % ro["id"], token=self.owner)
        self.assertEqual((st, ro["state"]), (200, "finished"), ro)
        # Filesystem updates are not served.
        h = esp_headers(mac, version="1.0.0")
        h["x-ESP8266-mode"] = "spiffs"
        self.assertEqual(self.esp_get(h)[0], 304)

    def test_esp8266_speaks_http_1_0(self):
        """ESP8266httpUpdate sends HTTP/1.0 and cannot read chunked bodies: Content-Length it is."""
        import socket
        mac = "18:FE:AA:AA:AA:30"
        self.esp_get(esp_headers(mac, version="1.0.0"))  # first contact
        self.rollout([self.esp_id(mac)])
        req = "GET /api/v1/esp/espy/update HTTP/1.0\r\nHost: 127.0.0.1\r\n" + "".join(
            "%s: %s\r\n" % kv for kv in esp_headers(mac, version="1.0.0").items()) + "\r\n"
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        sock.sendall(req.encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.assertRegex(lines[0], r"^HTTP/1\.[01] 200 ")
        hdr = {k.lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
        self.assertNotIn("transfer-encoding", hdr)
        self.assertEqual(int(hdr["content-length"]), len(self.image))
        self.assertEqual(body, self.image)

    def test_esp32_headers(self):
        mac = "24:0A:C4:00:00:01"
        self.assertEqual(self.esp_get(esp_headers(mac, version="1.0.0", chip="ESP32"))[0], 304)
        self.rollout([self.esp_id(mac)])
        st, body, hdr = self.esp_get(esp_headers(mac, version="1.0.0", chip="ESP32"))
        self.assertEqual((st, body), (200, self.image))
        # An ESP32 header set with the ESP8266 user agent is not an updater request.
        h = esp_headers(mac, chip="ESP32")
        h["User-Agent"] = "ESP8266-http-Update"
        self.assertEqual(self.esp_get(h)[0], 403)

    def test_token_devices_are_out_of_reach(self):
        """A device registered with a token is never acted on by the credential-less protocols:
        its id and MAC name other devices there (in their own namespace), and nothing of the
        token device is read or confirmed."""
        mac = "AA:BB:CC:DD:EE:FF"
        st, reg, _ = self.s.req("POST", "/api/v1/device/register",
                                {"device_id": "tok-dev", "hw_rev": "a", "version": "1.0.0", "slot": 0, "mac": mac},
                                token=self.p["enroll_token"])
        self.assertEqual(st, 201, reg)
        ro = self.rollout(["tok-dev"])
        st, chk, _ = self.s.req("GET", "/api/v1/device/check?version=1.0.0", token=reg["device_token"])
        self.assertIsNotNone(chk["update"])
        st, body, _ = self.s.req("GET", "/api/v1/mongoose/espy/ota.json?id=tok-dev&version=1.0.1")
        self.assertEqual((st, body["version"], body["size"]), (200, "1.0.1", len(self.image)))  # "Same version"
        self.assertEqual(self.esp_get(esp_headers(mac, version="1.0.1"))[0], 304)
        st, ro, _ = self.s.req("GET", "/api/v1/products/espy/rollouts/%s" % ro["id"], token=self.owner)
        self.assertEqual(ro["state"], "running")
        self.assertEqual(ro["counts"]["confirmed"], 0)
        st, dev, _ = self.s.req("GET", "/api/v1/products/espy/devices/tok-dev", token=self.owner)
        self.assertEqual((dev["via"], dev["version"]), ("token", "1.0.0"))

    def test_versions_that_are_not_printable_ascii_are_refused(self):
        """A version a compat device sends ends up in device views: bytes that are not UTF-8 made
        the device vanish from lists and its page answer 500 (and the Mongoose request got no
        answer at all). They are refused with 400 bad_version and nothing is recorded."""
        for q in ("%FF%FE", "1.0%0A", "1.0%09x", "%C3%A9"):
            st, body, _ = self.s.req("GET", "/api/v1/mongoose/espy/ota.json?id=mg-utf&version=" + q)
            self.assertEqual((st, body["error"]["code"]), (400, "bad_version"), q)
        mac = "18:FE:AA:AA:AA:40"
        st, body, _ = self.s.req("GET", "/api/v1/esp/espy/update", headers=esp_headers(mac, version="1.0\xff\xfe"))
        self.assertEqual((st, body["error"]["code"]), (400, "bad_version"))
        st, body, _ = self.s.req("GET", "/api/v1/products/espy/devices?limit=10000", token=self.owner)
        self.assertEqual(st, 200)
        ids = [d["device_id"] for d in body["devices"]]
        self.assertFalse([i for i in ids if "mg-utf" in i or "AA:AA:40" in i], ids)
        # A good version is still taken, and the views work.
        st, _, _ = self.esp_get(esp_headers(mac, version="1.0.0 (build 7)"))
        self.assertEqual(st, 304)
        st, dev, _ = self.s.req("GET", "/api/v1/products/espy/devices/" + self.esp_id(mac), token=self.owner)
        self.assertEqual((st, dev["version"]), (200, "1.0.0 (build 7)"))

    def test_unknown_two_segment_paths_are_json_404(self):
        for path in ("/no/such", "/api/v1"):
            st, body, h = self.s.req("GET", path)
            self.assertEqual((st, body["error"]["code"]), (404, "not_found"), path)

    def test_unknown_product_and_bad_mac(self):
        st, _, _ = self.s.req("GET", "/api/v1/esp/nope/update", headers=esp_headers())
        self.assertEqual(st, 404)
        self.assertEqual(self.esp_get(esp_headers(mac="not-a-mac"))[0], 403)

    def test_autoconnect_catalog(self):
        st, root, h = self.s.req("GET", "/_catalog?op=list&path=/")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "application/json")
        self.assertIn({"name": "espy", "type": "directory"}, root)
        st, entries, _ = self.s.req("GET", "/_catalog?op=list&path=/espy")
        self.assertEqual(st, 200)
        e = [x for x in entries if x["name"] == "1.0.1.bin"][0]
        self.assertEqual((e["type"], e["size"]), ("bin", len(self.image)))
        self.assertRegex(e["date"], r"^\d\d/\d\d/\d\d$")
        self.assertRegex(e["time"], r"^\d\d:\d\d:\d\d$")
        import json
        self.assertLess(len(json.dumps(e)), 256)  # the client parses each entry into 256 bytes
        self.assertEqual(self.s.req("GET", "/_catalog?op=delete&path=/espy")[0], 400)
        self.assertEqual(self.s.req("GET", "/_catalog?op=list&path=/nope")[0], 404)
        # The binary: 403 without the update headers, the image with them.
        self.assertEqual(self.s.req("GET", "/espy/1.0.1.bin", raw=True)[0], 403)
        st, body, hdr = self.s.req("GET", "/espy/1.0.1.bin", headers=esp_headers("18:FE:AA:AA:AA:20"), raw=True)
        self.assertEqual((st, body), (200, self.image))
        self.assertEqual(hdr["x-md5"], hashlib.md5(self.image).hexdigest())
        self.assertEqual(self.s.req("GET", "/espy/9.9.9.bin", headers=esp_headers(), raw=True)[0], 404)

    def test_mongoose_pull(self):
        st, meta, _ = self.s.req("GET", "/api/v1/mongoose/espy/ota.json?arch=stm32&version=1.0.0&id=mg-1&boot=0")
        # "Same version" (test_peer_mongoose.py): the device's own version, and a size > 0.
        self.assertEqual((st, meta["version"], meta["size"]), (200, "1.0.0", 1))
        self.rollout(["mongoose:mg-1"])
        st, meta, _ = self.s.req("GET", "/api/v1/mongoose/espy/ota.json?arch=stm32&version=1.0.0&id=mg-1&boot=0")
        self.assertEqual(st, 200)
        self.assertEqual((meta["version"], meta["size"]), ("1.0.1", len(self.image)))
        path = re.sub(r"^https?://[^/]+", "", meta["url"])
        st, body, hdr = self.s.req("GET", path, raw=True)
        self.assertEqual((st, body), (200, self.image))
        self.assertEqual(int(hdr["content-length"]), meta["size"])
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/espy/ota.json?version=1&id=bad%20id")[0], 400)
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/nope/ota.json?version=1&id=x")[0], 404)
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/espy/fw/" + "0" * 64, raw=True)[0], 404)
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/espy/fw/..%2f..%2fetc", raw=True)[0], 400)


if __name__ == "__main__":
    unittest.main()
