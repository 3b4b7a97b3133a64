"""AutoConnect's update client against otakit-server (Hieromon/AutoConnect src/AutoConnectUpdate.cpp,
checked at f21f57d4, 2023-02-22), judged as the client decides, and as its own
src/updateserver/python3/updateserver.py answers the same requests.

AutoConnectUpdateAct::_onCatalog(): GET /_catalog?op=list&path=<uri> (uri as configured, default
"."); finds "[", then parses one JSON object at a time (a 256-byte ArduinoJson buffer) until
findUntil(",", "]") ends the list, offering the entries whose type is "bin".
AutoConnectUpdateAct::update(): uriBin = "/" + name when uri is ".", else uri + "/" + name (so a
relative uri gives "GET fw/app.bin HTTP/1.0"), then ESP8266httpUpdate/HTTPUpdate::update() with the
updater's headers (peer_esp.py judges that answer). updateserver.py joins both to its catalog
directory (os.path.join(catalog_dir, path), path.lstrip('/')).
"""
import hashlib
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import peer_esp as esp  # noqa: E402
from otaserver import Server, raw_response, sign  # noqa: E402
from test_releases import esp8266_image  # noqa: E402

ENTRY_BUFFER = 256  # AUTOCONNECT_UPDATE_CATALOG_JSONBUFFER_SIZE


def catalog_request(uri, host):
    """HTTPClient::begin(host, port, qs) + GET(): HTTP/1.1, ESP8266HTTPClient's default agent."""
    return ("GET /_catalog?op=list&path=%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ESP8266HTTPClient\r\n"
            "Accept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\nConnection: keep-alive\r\n\r\n" % (uri, host)).encode()


def parse_catalog(status, body, hdr):
    """_onCatalog()'s reading of the answer: the list of offered firmware names, or the caption's
    error."""
    if status != 200:
        return "Update server responds (%d)" % status
    if "chunked" in hdr.get("transfer-encoding", ""):
        return "chunked: the client reads the raw stream"
    text = body.decode("utf-8", "replace")
    pos = text.find("[")
    if pos < 0:
        return "Invalid catalog list"
    pos += 1
    names = []
    dec = json.JSONDecoder()
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        try:
            obj, end = dec.raw_decode(text, pos)
        except ValueError:
            return "Invalid catalog list"
        if len(text[pos:end]) >= ENTRY_BUFFER:
            return "Invalid catalog list: NoMemory"
        if isinstance(obj, dict) and str(obj.get("type", "")).lower() == "bin":
            names.append(obj["name"])
        pos = end
        comma, close = text.find(",", pos), text.find("]", pos)
        if comma < 0 or (0 <= close < comma):
            return names
        pos = comma + 1


def update_uri(uri, name):
    """AutoConnectUpdateAct::update()."""
    return "/" + name if uri == "." else uri + "/" + name


class AutoConnectClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.owner = cls.s.product("acfw")["owner_token"]
        st, body, _ = cls.s.req("PATCH", "/api/v1/products/acfw", {"compat": {"esp": True}}, token=cls.owner)
        assert st == 200, body
        cls.image = esp8266_image(size=20000, seed=b"ac")
        st, rel, _ = cls.s.req("POST", "/api/v1/products/acfw/releases?version=2.1.0", cls.image, token=cls.owner)
        assert st == 201, rel

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def catalog(self, uri):
        return parse_catalog(*raw_response(self.s.port, catalog_request(uri, "127.0.0.1:%d" % self.s.port)))

    def test_relative_uri_lists_and_downloads(self):
        """uri "acfw" (relative, as the AutoConnect docs configure it for a catalog subdirectory)."""
        for uri in ("acfw", "/acfw", "./acfw", "acfw/"):
            self.assertEqual(self.catalog(uri), ["2.1.0.bin"], uri)
        target = update_uri("acfw", "2.1.0.bin")
        self.assertEqual(target, "acfw/2.1.0.bin")  # no leading slash on the request line
        d = esp.Esp(mac="18:FE:AA:AC:00:01")
        result, err, img, line = d.update(self.s.port, target)
        self.assertEqual((result, err, img, line), (esp.OK, None, self.image, "HTTP/1.0"))
        d32 = esp.Esp(chip="ESP32", mac="24:0A:C4:AC:00:01", sketch_md5="1" * 32)
        self.assertEqual(d32.update(self.s.port, target)[:3], (esp.OK, None, self.image))

    def test_default_uri_is_the_root(self):
        """uri "." lists the catalog root: the products as directories, nothing to flash there."""
        self.assertEqual(self.catalog("."), [])
        st, body, _ = raw_response(self.s.port, catalog_request(".", "h"))
        self.assertIn({"name": "acfw", "type": "directory"}, json.loads(body))
        self.assertEqual(update_uri(".", "x.bin"), "/x.bin")

    def test_traversal_in_a_relative_target_is_refused(self):
        d = esp.Esp(mac="18:FE:AA:AC:00:02")
        self.assertEqual(d.update(self.s.port, "../acfw/2.1.0.bin")[1], "HTTP_UE_SERVER_WRONG_HTTP_CODE")  # 400


class DeviceCatalog(unittest.TestCase):
    """GET /api/v1/device/catalog: the same list for a device of otakit images (its update page,
    otakit-device --catalog otakit), scoped by its device token to its own product's otakit
    releases that it could install."""

    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.a, cls.b = cls.s.product("dcat-a"), cls.s.product("dcat-b")
        st, body, _ = cls.s.req("PATCH", "/api/v1/products/dcat-a", {"compat": {"esp": True}},
                                token=cls.a["owner_token"])
        assert st == 200, body
        cls.imgs = {}
        for pid, ver, counter in (("dcat-a", "1.0.0", "0"), ("dcat-a", "2.0.0", "3"), ("dcat-b", "9.0.0", "0")):
            img = sign(os.urandom(3000), ver, extra=["--product", pid, "-s", counter])
            tok = (cls.a if pid == "dcat-a" else cls.b)["owner_token"]
            st, rel, _ = cls.s.req("POST", "/api/v1/products/%s/releases" % pid, img, token=tok)
            assert st == 201, rel
            cls.imgs[ver] = img
        st, rel, _ = cls.s.req("POST", "/api/v1/products/dcat-a/releases?version=2.1.0",
                               esp8266_image(size=20000, seed=b"dc"), token=cls.a["owner_token"])
        assert st == 201, rel
        cls.tok = {}
        for p, dev in ((cls.a, "dc-a1"), (cls.b, "dc-b1")):
            st, reg, _ = cls.s.req("POST", "/api/v1/device/register", {"device_id": dev, "hw_rev": "a",
                                   "version": "0.9.0", "slot": 0}, token=p["enroll_token"])
            assert st == 201, reg
            cls.tok[dev] = reg["device_token"]

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def listed(self, dev):
        st, body, _ = self.s.req("GET", "/api/v1/device/catalog", token=self.tok[dev])
        self.assertEqual(st, 200, body)
        return body

    def test_only_the_devices_own_product_and_its_otakit_images(self):
        a = self.listed("dc-a1")
        self.assertEqual([e["name"] for e in a], ["2.0.0+0.bin", "1.0.0+0.bin"])  # newest first; no ESP 2.1.0
        self.assertEqual([e["name"] for e in self.listed("dc-b1")], ["9.0.0+0.bin"])
        e = a[0]
        self.assertEqual((e["type"], e["version"], e["size"]), ("bin", "2.0.0+0", len(self.imgs["2.0.0"])))
        self.assertEqual(e["sha256"], hashlib.sha256(self.imgs["2.0.0"]).hexdigest())
        self.assertRegex(e["date"], r"^\d\d/\d\d/\d\d$")
        self.assertRegex(e["time"], r"^\d\d:\d\d:\d\d$")
        # The url is the device-token download: the bytes listed, for this device only.
        path = e["url"][e["url"].index("/api/"):]
        st, body, _ = self.s.req("GET", path, token=self.tok["dc-a1"], raw=True)
        self.assertEqual((st, body), (200, self.imgs["2.0.0"]))
        self.assertEqual(self.s.req("GET", path, token=self.tok["dc-b1"], raw=True)[0], 403)
        # AutoConnect's own catalog of the product still lists only what an ESP updater flashes.
        st, body, hdr = raw_response(self.s.port, catalog_request("dcat-a", "h"))
        self.assertEqual(parse_catalog(st, body, hdr), ["2.1.0.bin"])

    def test_needs_a_device_token(self):
        self.assertEqual(self.s.req("GET", "/api/v1/device/catalog")[0], 401)
        for other in (self.a["owner_token"], self.a["enroll_token"]):  # not a device's token
            self.assertIn(self.s.req("GET", "/api/v1/device/catalog", token=other)[0], (401, 403))

    def test_images_below_the_devices_counter_are_not_offered(self):
        st, reg, _ = self.s.req("POST", "/api/v1/device/register", {"device_id": "dc-a2", "hw_rev": "a",
                                "version": "0.9.0", "slot": 0}, token=self.a["enroll_token"])
        self.assertEqual(st, 201, reg)
        tok = reg["device_token"]
        st, _, _ = self.s.req("GET", "/api/v1/device/check?version=2.0.0&slot=0&security_counter=3", token=tok)
        self.assertEqual(st, 200)
        st, body, _ = self.s.req("GET", "/api/v1/device/catalog", token=tok)
        self.assertEqual([e["name"] for e in body], ["2.0.0+0.bin"])  # 1.0.0 (counter 0) would be refused


if __name__ == "__main__":
    unittest.main()
