"""ESP8266 / ESP32 Arduino HTTP update against otakit-server, each answer judged by the updater's own
decision code (peer_esp.py: ESP8266httpUpdate.cpp handleUpdate()/getAvailableVersion(),
arduino-esp32 HTTPUpdate.cpp handleUpdate())."""
import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import peer_esp as esp  # noqa: E402
from otaserver import Server  # noqa: E402
from test_releases import esp8266_image  # noqa: E402

URI = "/api/v1/esp/espp/update"


class EspUpdaters(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.owner = cls.s.product("espp")["owner_token"]
        st, body, _ = cls.s.req("PATCH", "/api/v1/products/espp", {"compat": {"esp": True, "confirm_by_version": True}},
                                token=cls.owner)
        assert st == 200, body
        cls.image = esp8266_image(size=30000, seed=b"peer-esp")
        st, rel, _ = cls.s.req("POST", "/api/v1/products/espp/releases?version=1.0.1", cls.image, token=cls.owner)
        assert st == 201, rel

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def rollout(self, *macs):
        st, body, _ = self.s.req("POST", "/api/v1/products/espp/rollouts",
                                 {"release": "1.0.1", "target": {"devices": ["esp:" + m for m in macs]},
                                  "stages": [{"percent": 100}]}, token=self.owner)
        self.assertEqual(st, 201, body)
        return body["id"]

    def ro(self, rid):
        st, body, _ = self.s.req("GET", "/api/v1/products/espp/rollouts/%s" % rid, token=self.owner)
        self.assertEqual(st, 200, body)
        return body

    def test_get_available_version(self):
        """getAvailableVersion() sends x-ESP8266-mode: version and needs 200 with x-version (a 304
        is HTTP_UE_SERVER_WRONG_HTTP_CODE there)."""
        d = esp.Esp(mac="18:FE:AA:AA:01:01", version="1.0.0")
        self.assertEqual(d.available_version(self.s.port, URI), (esp.OK, "1.0.0"))  # nothing newer: its own
        self.rollout(d.mac)
        self.assertEqual(d.available_version(self.s.port, URI), (esp.OK, "1.0.1"))
        _, st, hdr, body = esp.raw_answer(self.s.port, d.request(URI, "127.0.0.1", self.s.port, mode="version"))
        self.assertEqual((st, hdr["x-md5"], body), (200, hashlib.md5(self.image).hexdigest(), b""))
        # Asking changes nothing the update itself would not: the update still comes.
        self.assertEqual(d.update(self.s.port, URI)[:3], (esp.OK, None, self.image))
        # Without a version header: the one it last reported.
        d2 = esp.Esp(mac="18:FE:AA:AA:01:02", version="0.9.0")
        d2.update(self.s.port, URI)
        d2.version = None
        self.assertEqual(d2.available_version(self.s.port, URI), (esp.OK, "0.9.0"))
        d3 = esp.Esp(mac="18:FE:AA:AA:01:03")
        self.assertEqual(d3.available_version(self.s.port, URI), (esp.FAILED, "HTTP_UE_SERVER_FILE_NOT_FOUND"))

    def test_esp32_without_sketch_md5(self):
        """Older HTTPUpdate never sends x-ESP32-sketch-md5, newer ones only when the core knows it;
        both are updaters, and the SHA-256 they send tells the sketch they run."""
        old = esp.Esp(chip="ESP32", mac="24:0A:C4:00:01:01", version="1.0.0", sketch_md5=None)
        new = esp.Esp(chip="ESP32", mac="24:0A:C4:00:01:02", version="1.0.0", sketch_md5=None,
                      sketch_sha256="AB" * 32)
        for d in (old, new):
            self.assertEqual(d.update(self.s.port, URI)[:2], (esp.NO_UPDATES, None))
        self.rollout(old.mac, new.mac)
        for d in (old, new):
            self.assertEqual(d.update(self.s.port, URI)[:3], (esp.OK, None, self.image))
        # Running that image (by its SHA-256, uppercase as HTTPUpdate writes it): no update.
        new.sketch_sha256 = hashlib.sha256(self.image).hexdigest().upper()
        self.assertEqual(new.update(self.s.port, URI)[:2], (esp.NO_UPDATES, None))
        # The ESP8266 always sends its MD5: without it, not an updater (as the reference server).
        d = esp.Esp(mac="18:FE:AA:AA:01:09", version="1.0.0")
        data = d.request(URI, "127.0.0.1", self.s.port).replace(b"x-ESP8266-sketch-md5: " + b"0" * 32 + b"\r\n", b"")
        self.assertEqual(esp.raw_answer(self.s.port, data)[1], 403)

    def test_image_larger_than_free_space_is_not_offered(self):
        """ESP.getFreeSketchSpace() below the image: the updater would fail TOO_LESS_SPACE on every
        poll. It gets 304 (no update, as the reference server's answer), the action fails with the
        reason, and the rollout counts it."""
        d = esp.Esp(mac="18:FE:AA:AA:02:01", version="1.0.0", free_space=len(self.image) - 1)
        d.update(self.s.port, URI)
        rid = self.rollout(d.mac)
        self.assertEqual(d.update(self.s.port, URI)[:2], (esp.NO_UPDATES, None))
        self.assertEqual(d.available_version(self.s.port, URI), (esp.OK, "1.0.0"))
        ro = self.ro(rid)
        self.assertEqual(ro["counts"]["failed"], 1, ro)
        st, dev, _ = self.s.req("GET", "/api/v1/products/espp/devices/esp:%s" % d.mac, token=self.owner)
        self.assertIn("does not fit the free sketch space", str(dev))
        # Exactly the free space fits.
        d2 = esp.Esp(mac="18:FE:AA:AA:02:02", version="1.0.0", free_space=len(self.image))
        d2.update(self.s.port, URI)
        self.rollout(d2.mac)
        self.assertEqual(d2.update(self.s.port, URI)[:3], (esp.OK, None, self.image))

    def test_http_1_0_status_line(self):
        """useHTTP10(true): the request line says HTTP/1.0, and so does the answer's."""
        d = esp.Esp(mac="18:FE:AA:AA:03:01", version="1.0.0")
        self.assertEqual(d.update(self.s.port, URI), (esp.NO_UPDATES, None, None, "HTTP/1.0"))
        self.rollout(d.mac)
        self.assertEqual(d.update(self.s.port, URI), (esp.OK, None, self.image, "HTTP/1.0"))
        # An HTTP/1.1 client still gets HTTP/1.1.
        st, _, _ = self.s.req("GET", URI, headers={"User-Agent": "curl"})
        line = esp.raw_answer(self.s.port, b"GET /api/v1/esp/espp/update HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0]
        self.assertTrue(line.startswith("HTTP/1.1 403"), line)

    def test_spiffs_and_unknown_modes(self):
        d = esp.Esp(mac="18:FE:AA:AA:04:01", version="1.0.0")
        _, st, _, _ = esp.raw_answer(self.s.port, d.request(URI, "127.0.0.1", self.s.port, mode="spiffs"))
        self.assertEqual(st, 304)  # HTTP_UPDATE_NO_UPDATES: filesystem images are not served
        _, st, _, _ = esp.raw_answer(self.s.port, d.request(URI, "127.0.0.1", self.s.port, mode="flash"))
        self.assertEqual(st, 404)  # the reference server's "Mode not supported"


if __name__ == "__main__":
    unittest.main()
