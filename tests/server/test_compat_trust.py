"""The trust model of the credential-less compat routes (docs/server.md, "Trust model"):

- a product answers them only when its owner switched the protocol on (off by default);
- their devices live in their own namespace ("esp:<MAC>", "mongoose:<id>"): a first contact never
  takes the id or MAC a real device enrolls with;
- a version they report confirms an update in a rollout only when the product trusts those reports;
- first contacts are rate limited per source address and per product (429 + Retry-After);
- the Mongoose firmware route serves only what was offered to a Mongoose device, and the
  AutoConnect catalog lists only ESP binaries."""
import hashlib
import http.client
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import VECTORS, Server, sign  # noqa: E402
from test_compat import esp_headers  # noqa: E402
from test_releases import esp8266_image  # noqa: E402

ALL_ON = {"esp": True, "mongoose": True, "confirm_by_version": True}


def req_from(s, src, path):
    """GET path from source address src (another loopback address)."""
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30, source_address=(src, 0))
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    h = {k.lower(): v for k, v in r.getheaders()}
    return r.status, json.loads(body) if h.get("content-type") == "application/json" else body, h


class Trust(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def product(self, name, compat=None, image=True):
        p = self.s.product(name)
        if compat is not None:
            st, body, _ = self.s.req("PATCH", "/api/v1/products/" + name, {"compat": compat}, token=p["owner_token"])
            self.assertEqual(st, 200, body)
        if image:
            st, rel, _ = self.s.req("POST", "/api/v1/products/%s/releases?version=1.0.1" % name,
                                    esp8266_image(size=3000, seed=name.encode()), token=p["owner_token"])
            self.assertEqual(st, 201, rel)
        return p

    def rollout(self, name, owner, devices):
        st, ro, _ = self.s.req("POST", "/api/v1/products/%s/rollouts" % name,
                               {"release": "1.0.1", "target": {"devices": devices}}, token=owner)
        self.assertEqual(st, 201, ro)
        return ro

    def test_compat_is_off_until_the_owner_switches_it_on(self):
        p = self.product("closed")
        owner = p["owner_token"]
        self.assertEqual(p["compat"], {"esp": False, "mongoose": False, "confirm_by_version": False})
        mac = "18:FE:CC:00:00:01"
        self.assertEqual(self.s.req("GET", "/api/v1/esp/closed/update", headers=esp_headers(mac))[0], 404)
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/closed/ota.json?id=m1&version=1")[0], 404)
        st, root, _ = self.s.req("GET", "/_catalog?op=list&path=/")
        self.assertNotIn({"name": "closed", "type": "directory"}, root)
        self.assertEqual(self.s.req("GET", "/_catalog?op=list&path=/closed")[0], 404)
        self.assertEqual(self.s.req("GET", "/closed/1.0.1.bin", headers=esp_headers(mac), raw=True)[0], 404)
        st, devs, _ = self.s.req("GET", "/api/v1/products/closed/devices", token=owner)
        self.assertEqual(devs["devices"], [])
        # Only the product's owner (or the admin) changes it; bad settings are refused.
        other = self.s.product("closed-other")
        self.assertEqual(self.s.req("PATCH", "/api/v1/products/closed", {"compat": {"esp": True}},
                                    token=other["owner_token"])[0], 403)
        for bad in ({"compat": {"esp": 1}}, {"compat": {"ftp": True}}, {"compat": True}, {"name": "x"}):
            st, body, _ = self.s.req("PATCH", "/api/v1/products/closed", bad, token=owner)
            self.assertEqual(st, 400, bad)
            self.assertIn(body["error"]["code"], ("bad_compat", "bad_field"))
        st, body, _ = self.s.req("PATCH", "/api/v1/products/closed", {"compat": {"esp": True}}, token=owner)
        self.assertEqual((st, body["compat"]), (200, {"esp": True, "mongoose": False, "confirm_by_version": False}))
        st, body, _ = self.s.req("GET", "/api/v1/products/closed", token=owner)
        self.assertTrue(body["compat"]["esp"])
        self.assertEqual(self.s.req("GET", "/api/v1/esp/closed/update", headers=esp_headers(mac))[0], 304)
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/closed/ota.json?id=m1&version=1")[0], 404)
        st, root, _ = self.s.req("GET", "/_catalog?op=list&path=/")
        self.assertIn({"name": "closed", "type": "directory"}, root)
        # It can also be set when the product is created.
        with open(os.path.join(VECTORS, "ec256-pub.pem")) as f:
            pem = f.read()
        st, body, _ = self.s.req("POST", "/api/v1/products", {"product_id": "born-open", "name": "b",
                                                              "public_key": pem, "compat": {"mongoose": True}},
                                 token=self.s.admin)
        self.assertEqual((st, body["compat"]["mongoose"]), (201, True), body)

    def test_cli_sets_the_compat_policy(self):
        import subprocess
        from otaserver import CLI
        p = self.product("by-cli", image=False)
        env = dict(os.environ, OTAKIT_SERVER_URL=self.s.url, OTAKIT_TOKEN=p["owner_token"])
        r = subprocess.run([CLI, "product", "set", "by-cli", "--compat-mongoose", "on",
                            "--compat-confirm-by-version", "on", "--json"], capture_output=True, env=env)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(json.loads(r.stdout)["compat"], {"esp": False, "mongoose": True, "confirm_by_version": True})
        r = subprocess.run([CLI, "product", "set", "by-cli", "--compat-esp", "yes"], capture_output=True, env=env)
        self.assertEqual(r.returncode, 2, r)
        st, body, _ = self.s.req("GET", "/api/v1/products/by-cli", token=p["owner_token"])
        self.assertEqual(body["compat"], {"esp": False, "mongoose": True, "confirm_by_version": True})

    def test_compat_devices_never_take_token_ids_or_macs(self):
        """Before, a fake first contact with a real device's id or MAC squatted it: the real
        device's enrollment then failed with 409."""
        p = self.product("squat", ALL_ON)
        mac = "18:FE:CC:00:00:02"
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/squat/ota.json?id=real-1&version=1.0.0")[0], 200)
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/squat/ota.json?id=%s&version=1.0.0" % mac)[0], 200)
        self.assertEqual(self.s.req("GET", "/api/v1/esp/squat/update", headers=esp_headers(mac, "1.0.0"))[0], 304)
        for dev_id in ("real-1", mac):
            st, body, _ = self.s.req("POST", "/api/v1/device/register",
                                     {"device_id": dev_id, "hw_rev": "a", "version": "1.0.0", "slot": 0, "mac": mac},
                                     token=p["enroll_token"])
            self.assertEqual(st, 201, body)
        st, devs, _ = self.s.req("GET", "/api/v1/products/squat/devices", token=p["owner_token"])
        self.assertEqual(sorted((d["device_id"], d["via"]) for d in devs["devices"]),
                         [("%s" % mac, "token"), ("esp:" + mac, "esp"), ("mongoose:" + mac, "mongoose"),
                          ("mongoose:real-1", "mongoose"), ("real-1", "token")])
        # The compat namespaces are not for token devices.
        for dev_id in ("esp:" + mac, "mongoose:x"):
            st, body, _ = self.s.req("POST", "/api/v1/device/register",
                                     {"device_id": dev_id, "hw_rev": "a", "version": "1.0.0", "slot": 0},
                                     token=p["enroll_token"])
            self.assertEqual((st, body["error"]["code"]), (400, "bad_device_id"))
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/squat/ota.json?id=%s&version=1" % ("x" * 56))[0], 400)

    def test_reported_version_confirms_only_when_the_product_says_so(self):
        """Before, anyone could send the new version for a compat device of the first stage and the
        rollout counted it as a confirmed canary."""
        p = self.product("canary", {"esp": True, "mongoose": True})
        owner = p["owner_token"]
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/canary/ota.json?id=c1&version=1.0.0")[0], 200)
        mac = "18:FE:CC:00:00:03"
        self.assertEqual(self.s.req("GET", "/api/v1/esp/canary/update", headers=esp_headers(mac, "1.0.0"))[0], 304)
        ro = self.rollout("canary", owner, ["mongoose:c1", "esp:" + mac])
        st, meta, _ = self.s.req("GET", "/api/v1/mongoose/canary/ota.json?id=c1&version=1.0.0")
        self.assertEqual(meta["version"], "1.0.1")
        self.assertEqual(self.s.req("GET", "/api/v1/esp/canary/update",
                                    headers=esp_headers(mac, "1.0.0"), raw=True)[0], 200)
        # The "new" version, reported: installed (unverified), not confirmed; the rollout waits.
        self.s.req("GET", "/api/v1/mongoose/canary/ota.json?id=c1&version=1.0.1")
        self.s.req("GET", "/api/v1/esp/canary/update", headers=esp_headers(mac, "1.0.1"))
        st, body, _ = self.s.req("GET", "/api/v1/products/canary/rollouts/%d" % ro["id"], token=owner)
        self.assertEqual((body["state"], body["counts"]["confirmed"], body["counts"]["up_to_date"],
                          body["counts"]["installed"]), ("running", 0, 0, 2), body)
        # The owner says these reports are to be trusted: the next one confirms.
        st, _, _ = self.s.req("PATCH", "/api/v1/products/canary", {"compat": {"confirm_by_version": True}},
                              token=owner)
        self.assertEqual(st, 200)
        self.s.req("GET", "/api/v1/mongoose/canary/ota.json?id=c1&version=1.0.1")
        self.s.req("GET", "/api/v1/esp/canary/update", headers=esp_headers(mac, "1.0.1"))
        st, body, _ = self.s.req("GET", "/api/v1/products/canary/rollouts/%d" % ro["id"], token=owner)
        self.assertEqual((body["state"], body["counts"]["confirmed"]), ("finished", 2), body)

    def test_up_to_date_by_report_needs_trust_too(self):
        """A compat target that reports the release's version without an action in flight was
        counted up_to_date (a success) from its word alone."""
        p = self.product("word", {"mongoose": True})
        owner = p["owner_token"]
        for i in range(2):
            self.s.req("GET", "/api/v1/mongoose/word/ota.json?id=w%d&version=1.0.0" % i)
        ro = self.rollout("word", owner, ["mongoose:w0", "mongoose:w1"])
        self.s.req("GET", "/api/v1/mongoose/word/ota.json?id=w0&version=1.0.1")  # no offer taken: just the word
        st, body, _ = self.s.req("GET", "/api/v1/products/word/rollouts/%d" % ro["id"], token=owner)
        self.assertEqual((body["counts"]["up_to_date"], body["counts"]["confirmed"]), (0, 0), body)

    def test_mongoose_serves_only_what_it_offered_and_the_catalog_only_esp_binaries(self):
        p = self.product("mixed", ALL_ON)
        owner = p["owner_token"]
        esp_sha = hashlib.sha256(esp8266_image(size=3000, seed=b"mixed")).hexdigest()
        img = sign(b"otakit firmware for the device API\n" * 40, "1.0.2")
        st, rel, _ = self.s.req("POST", "/api/v1/products/mixed/releases", img, token=owner)
        self.assertEqual(st, 201, rel)
        ota_sha = rel["artifacts"][0]["sha256"]
        st, entries, _ = self.s.req("GET", "/_catalog?op=list&path=/mixed")
        self.assertEqual([e["name"] for e in entries], ["1.0.1.bin"])
        self.assertEqual({e["type"] for e in entries}, {"bin"})
        for sha in (ota_sha, esp_sha):  # nothing was offered to a Mongoose device yet
            self.assertEqual(self.s.req("GET", "/api/v1/mongoose/mixed/fw/" + sha, raw=True)[0], 404, sha)
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/mixed/ota.json?id=mx&version=1.0.0")[0], 200)
        self.rollout("mixed", owner, ["mongoose:mx"])
        st, meta, _ = self.s.req("GET", "/api/v1/mongoose/mixed/ota.json?id=mx&version=1.0.0")
        self.assertEqual(meta["url"].rsplit("/", 1)[1], esp_sha + "?id=mx")
        st, body, _ = self.s.req("GET", re.sub(r"^https?://[^/]+", "", meta["url"]), raw=True)
        self.assertEqual((st, hashlib.sha256(body).hexdigest()), (200, esp_sha))
        self.assertEqual(self.s.req("GET", "/api/v1/mongoose/mixed/fw/" + ota_sha, raw=True)[0], 404)


class FirstContacts(unittest.TestCase):
    def test_first_contacts_are_rate_limited_per_address_and_per_product(self):
        """Before, 300,000 fake devices joined in 39 s."""
        with Server(args=["--first-contacts-per-ip", "3", "--first-contacts-per-product", "5"]) as s:
            for name in ("flood", "flood-2"):
                p = s.product(name)
                st, _, _ = s.req("PATCH", "/api/v1/products/" + name, {"compat": ALL_ON}, token=p["owner_token"])
                self.assertEqual(st, 200)
            path = "/api/v1/mongoose/flood/ota.json?version=1.0.0&id="
            for i in range(3):
                self.assertEqual(req_from(s, "127.0.0.1", path + "a%d" % i)[0], 200)
            st, body, h = req_from(s, "127.0.0.1", path + "a3")
            self.assertEqual((st, body["error"]["code"]), (429, "too_many_requests"))
            self.assertGreaterEqual(int(h["retry-after"]), 1)
            self.assertEqual(req_from(s, "127.0.0.1", path + "a0")[0], 200)  # known devices are served
            # Another address: its own budget, until the product's is spent.
            for i in range(2):
                self.assertEqual(req_from(s, "127.0.0.2", path + "b%d" % i)[0], 200)
            self.assertEqual(req_from(s, "127.0.0.2", path + "b2")[0], 429)
            st, _, _ = req_from(s, "127.0.0.3", "/api/v1/esp/flood/update")  # not an updater: 403, no device
            self.assertEqual(st, 403)
            self.assertEqual(req_from(s, "127.0.0.3", "/api/v1/mongoose/flood-2/ota.json?version=1&id=c0")[0], 200)
            st, devs, _ = s.req("GET", "/api/v1/products/flood/devices", token=s.admin)
            self.assertEqual(len(devs["devices"]), 5)


if __name__ == "__main__":
    unittest.main()
