"""The device agent's AutoConnect catalog client (device/agent/catalog.c: ota_catalog_check(), then
ota_esp_update()) against a server that answers as AutoConnect's own update server does
(Hieromon/AutoConnect src/updateserver/python3/updateserver.py, checked at f21f57d4):
  - GET /_catalog?op=list&path=P: a JSON array of the entries of <catalog>/P, each {"name","type"};
    type "bin" (with date, time, size) for a .bin whose first byte is 0xE9, else "file"; an unknown
    op or a path outside the catalog: 403.
  - any other GET: 403 unless the User-Agent is (ESP8266|ESP32)-http-Update and the x-*-STA-MAC,
    AP-MAC, FREE-SPACE, SKETCH-SIZE, SKETCH-MD5, CHIP-SIZE, SDK-VERSION headers are there; else
    <catalog>/<path without its leading "/"> with Content-Type, Content-Disposition, Content-Length
    and x-MD5 (a missing file: 500).
An otakit image starts with the MCUboot magic, so that server lists it as a "file"; the agent takes
*.bin files as binaries too, and ota_end() verifies what it downloads."""
import hashlib
import os
import posixpath
import shutil
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib as nl  # noqa: E402

MAC = "18:FE:AA:AA:AC:42"
NEED = ("STA-MAC", "AP-MAC", "FREE-SPACE", "SKETCH-SIZE", "SKETCH-MD5", "CHIP-SIZE", "SDK-VERSION")


def update_server(files):
    """files: {"dir/name.bin": bytes} under the catalog root."""
    def listing(path):
        d = posixpath.normpath(path.strip("/")) if path.strip("/") else "."
        if d.startswith(".."):
            return None
        out = []
        for rel, data in files.items():
            parent, name = posixpath.split(rel)
            if (parent or ".") != d:
                continue
            e = {"name": name, "type": "file"}
            if name.endswith(".bin") and data[:1] == b"\xe9":
                e.update(type="bin", date=time.strftime("%x"), time=time.strftime("%X"), size=len(data))
            out.append(e)
        return out

    def handler(req, i):
        u = urllib.parse.urlparse(req.path)
        if u.path == "/_catalog":
            q = urllib.parse.parse_qs(u.query)
            if q.get("op", [""])[0] != "list":
                return nl.response(403)
            entries = listing(q.get("path", ["."])[0])
            if entries is None:
                return nl.response(403)
            import json
            return nl.response(200, json.dumps(entries).encode(), ["Content-Type: application/json"])
        ua = req.headers.get("user-agent", "")
        arch = ua.split("-")[0] if ua in ("ESP8266-http-Update", "ESP32-http-Update") else None
        if not arch or any(("x-%s-%s" % (arch, n)).lower() not in req.headers for n in NEED):
            return nl.response(403)
        rel = req.path.lstrip("/")
        if rel not in files:
            return nl.response(500)
        data = files[rel]
        return nl.response(200, data, ["Content-Type: application/octet-stream",
                                       "Content-Disposition: attachment; filename=" + posixpath.basename(rel),
                                       "x-MD5: " + hashlib.md5(data).hexdigest()])
    return nl.FakeServer(handler)


class CatalogPull(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = nl.tmpdir()
        cls.v2 = nl.make_image("2.0.0", size=30000, seed=31)
        cls.v3 = nl.make_image("3.1.0", size=30000, seed=32)
        cls.v3_path = nl.write_tmp(cls.d, "v3.img", cls.v3)
        cls.esp = b"\xe9\x01\x00\x20" + bytes(100)  # an ESP image: "bin", but not this device's format

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.d, ignore_errors=True)

    def pull(self, url, path, version="1.0.0", dump=None):
        a = ["--catalog", url, "--path", path, "--mac", MAC, "--version", version, "--key", nl.KEY_DER,
             "--product", nl.PRODUCT, "--expect", self.v3_path] + (["--dump", dump] if dump else [])
        return nl.netpull("compat", *a)

    def test_newest_binary_is_picked_and_installed(self):
        files = {"fw/app-2.0.0.bin": self.v2, "fw/app-3.1.0.bin": self.v3, "fw/readme.txt": b"x",
                 "fw/app-0.9.0.bin": self.v2}
        dump = os.path.join(self.d, "got.bin")
        with update_server(files) as px:
            r = self.pull(px.url, "fw", dump=dump)
            self.assertEqual((r.rc, r.v["cat_name"], r.v["cat_version"], r.v["cat_entries"]),
                             (0, "app-3.1.0.bin", "3.1.0", "3"), r)
            self.assertEqual((r.result, r.v["state_after"]), ("OTA_OK", "new"), r)
            with open(dump, "rb") as f:
                self.assertEqual(f.read(), self.v3)
            self.assertEqual(px.requests[0].path, "/_catalog?op=list&path=fw")
            got = px.requests[-1]
            self.assertEqual((got.path, got.headers["user-agent"]), ("/fw/app-3.1.0.bin", "ESP8266-http-Update"))
            # Running that version already: nothing is downloaded.
            n = len(px.requests)
            r = self.pull(px.url, "fw", version="3.1.0")
            self.assertEqual((r.rc, r.v["cat_has_update"], r.result), (0, "0", "OTA_OK"), r)
            self.assertEqual(len(px.requests), n + 1)

    def test_root_path_and_esp_images(self):
        """AutoConnect's default uri "." is the catalog root; an ESP image listed there as "bin" is
        picked by version like any binary, and ota_end() refuses it (not signed for this device)."""
        with update_server({"app-3.1.0.bin": self.v3, "esp-4.0.0.bin": self.esp}) as px:
            r = self.pull(px.url, ".")
            self.assertEqual((r.v["cat_name"], r.v["cat_url"]), ("esp-4.0.0.bin", px.url + "/esp-4.0.0.bin"), r)
            self.assertEqual(r.rc, 1)
            self.assertNotEqual(r.result, "OTA_OK")

    def test_refusals(self):
        with update_server({"fw/app-3.1.0.bin": self.v3}) as px:
            r = self.pull(px.url, "../etc")
            self.assertEqual((r.rc, r.result), (1, "OTA_ERR_ARG"), r)
            r = self.pull(px.url, "nowhere")
            self.assertEqual((r.rc, r.v.get("cat_has_update"), r.v.get("cat_entries")), (0, "0", "0"), r)


if __name__ == "__main__":
    unittest.main()
