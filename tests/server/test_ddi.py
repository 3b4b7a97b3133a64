"""hawkBit DDI details the real clients do not all reach: Range and .MD5SUM on artifacts, feedback
on a closed action (410), malformed feedback and configData (400, nothing changes), configData
modes, the gateway token's life, and which artifacts a controller may fetch."""
import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import Server  # noqa: E402


def swu(payload):
    """A minimal cpio "newc" archive whose first member is sw-description (what the upload checks)."""
    name = b"sw-description\0"
    hdr = b"070701" + b"".join(b"%08X" % v for v in (1, 0o100644, 0, 0, 1, 0, len(payload), 0, 0, 0, 0,
                                                         len(name), 0))
    pad = lambda n: b"\0" * (-n % 4)  # noqa: E731
    return hdr + name + pad(110 + len(name)) + payload + pad(len(payload))


class Ddi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        p = cls.s.product("lx")
        cls.owner, cls.enroll = p["owner_token"], p["enroll_token"]
        cls.bundle = swu(os.urandom(5000))
        st, cls.rel, _ = cls.s.req("POST", "/api/v1/products/lx/releases?kind=swu&version=1.2.0&filename=a.swu",
                                   cls.bundle, token=cls.owner)
        assert st == 201, cls.rel

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def register(self, name):
        st, body, _ = self.s.req("POST", "/api/v1/device/register",
                                 {"device_id": name, "hw_rev": "1", "version": "1.0.0", "slot": 0}, token=self.enroll)
        self.assertEqual(st, 201, body)
        return {"Authorization": "TargetToken " + body["device_token"]}

    def ddi(self, method, name, path, auth, body=None):
        return self.s.req(method, "/lx/controller/v1/%s%s" % (name, path), body, headers=auth)

    def offer(self, name, auth):
        st, body, _ = self.s.req("POST", "/api/v1/products/lx/rollouts",
                                 {"release": "1.2.0", "target": {"devices": [name]}}, token=self.owner)
        self.assertEqual(st, 201, body)
        st, poll, _ = self.ddi("GET", name, "", auth)
        href = poll["_links"]["deploymentBase"]["href"]
        st, dep, _ = self.s.req("GET", href[href.index("/lx/"):], headers=auth)
        self.assertEqual(st, 200, dep)
        return int(dep["id"]), dep["deployment"]["chunks"][0]["artifacts"][0]

    def test_uploads_of_other_kinds(self):
        st, body, _ = self.s.req("POST", "/api/v1/products/lx/releases?kind=swu&version=9.0.0", b"not a cpio" * 20,
                                 token=self.owner)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_image"))
        st, body, _ = self.s.req("POST", "/api/v1/products/lx/releases?kind=swu", self.bundle, token=self.owner)
        self.assertEqual((st, body["error"]["code"]), (400, "version_required"))
        st, body, _ = self.s.req("POST", "/api/v1/products/lx/releases?kind=tarball&version=9.0.0", self.bundle,
                                 token=self.owner)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_kind"))
        st, body, _ = self.s.req("POST", "/api/v1/products/lx/releases?kind=file&version=9.1.0&filename=app.tar.gz",
                                 b"\x1f\x8b anything", token=self.owner)
        self.assertEqual((st, body["artifacts"][0]["format"]), (201, "file"))

    def test_artifact_range_md5sum_and_scope(self):
        auth = self.register("lx-a")
        action, art = self.offer("lx-a", auth)
        self.assertEqual(art["hashes"], {"sha1": hashlib.sha1(self.bundle).hexdigest(),
                                         "md5": hashlib.md5(self.bundle).hexdigest(),
                                         "sha256": hashlib.sha256(self.bundle).hexdigest()})
        self.assertIsInstance(art["size"], int)
        dl = art["_links"]["download"]["href"]
        dl = dl[dl.index("/lx/"):]
        st, part, h = self.s.req("GET", dl, headers=dict(auth, Range="bytes=100-"), raw=True)
        self.assertEqual((st, part, h["content-range"]), (206, self.bundle[100:],
                                                          "bytes 100-%d/%d" % (len(self.bundle) - 1, len(self.bundle))))
        st, md5, _ = self.s.req("GET", dl + ".MD5SUM", headers=auth, raw=True)
        self.assertEqual((st, md5), (200, ("%s  a.swu\n" % hashlib.md5(self.bundle).hexdigest()).encode()))
        # Without a token, with another device's token, or for a release not offered to it: refused.
        self.assertEqual(self.s.req("GET", dl, raw=True)[0], 401)
        other = self.register("lx-other")
        self.assertEqual(self.s.req("GET", dl.replace("/lx-a/", "/lx-other/"), headers=other, raw=True)[0], 404)
        self.assertEqual(self.s.req("GET", dl, headers=other, raw=True)[0], 401)

    def test_feedback_mapping_and_gone(self):
        auth = self.register("lx-f")
        action, _ = self.offer("lx-f", auth)
        fb = "/deploymentBase/%d/feedback" % action
        st, body, _ = self.ddi("POST", "lx-f", fb, auth, {"status": {"result": {"finished": "none"}}})
        self.assertEqual((st, body["error"]["code"]), (400, "bad_feedback"))
        st, _, _ = self.ddi("POST", "lx-f", fb, auth, {"id": str(action), "time": "20261122T085049", "extra": 1,
                                                       "status": {"execution": "proceeding",
                                                                  "result": {"finished": "none",
                                                                             "progress": {"cnt": 1, "of": 2}},
                                                                  "details": ["half"]}})
        self.assertEqual(st, 200)
        st, dev, _ = self.ddi("POST", "lx-f", fb, auth, {"status": {"execution": "closed",
                                                                    "result": {"finished": "failure"},
                                                                    "details": ["disk full"]}})
        self.assertEqual(st, 200)
        st, body, _ = self.ddi("POST", "lx-f", fb, auth, {"status": {"execution": "closed",
                                                                     "result": {"finished": "success"}}})
        self.assertEqual((st, body["error"]["code"]), (410, "action_gone"))
        st, body, _ = self.ddi("GET", "lx-f", "/deploymentBase/%d" % action, auth)
        self.assertEqual(st, 404)
        st, poll, _ = self.ddi("GET", "lx-f", "", auth)
        self.assertNotIn("deploymentBase", poll["_links"])

    def test_config_data_modes(self):
        auth = self.register("lx-c")
        st, body, _ = self.ddi("PUT", "lx-c", "/configData", auth, {"mode": "merge", "data": {"a": 1}})
        self.assertEqual((st, body["error"]["code"]), (400, "bad_config_data"))
        st, body, _ = self.ddi("PUT", "lx-c", "/configData", auth, {"mode": "squash", "data": {}})
        self.assertEqual((st, body["error"]["code"]), (400, "bad_config_data"))
        self.assertIn("configData", self.ddi("GET", "lx-c", "", auth)[1]["_links"])
        self.assertEqual(self.ddi("PUT", "lx-c", "/configData", auth, {"data": {"a": "1", "b": "2"}})[1],
                         {"a": "1", "b": "2"})
        self.assertNotIn("configData", self.ddi("GET", "lx-c", "", auth)[1]["_links"])
        self.assertEqual(self.ddi("PUT", "lx-c", "/configData", auth, {"mode": "merge", "data": {"c": "3"}})[1],
                         {"a": "1", "b": "2", "c": "3"})
        self.assertEqual(self.ddi("PUT", "lx-c", "/configData", auth, {"mode": "remove", "data": {"a": ""}})[1],
                         {"b": "2", "c": "3"})
        self.assertEqual(self.ddi("PUT", "lx-c", "/configData", auth, {"mode": "replace", "data": {"z": "9"}})[1],
                         {"z": "9"})

    def test_gateway_token_and_registration(self):
        st, body, _ = self.s.req("GET", "/api/v1/products/lx/ddi", token=self.owner)
        self.assertEqual((st, body), (200, {"register": False, "gateway_token_set": False}))
        st, body, _ = self.s.req("PUT", "/api/v1/products/lx/ddi", {"gateway_token": "new"}, token=self.owner)
        gw = {"Authorization": "GatewayToken " + body["gateway_token"]}
        # Registration is off: an unknown controller is 404 and nothing is created.
        self.assertEqual(self.ddi("GET", "gw-1", "", gw)[0], 404)
        self.assertEqual(self.s.req("GET", "/api/v1/products/lx/devices/gw-1", token=self.owner)[0], 404)
        st, body, _ = self.s.req("PUT", "/api/v1/products/lx/ddi", {"register": "yes"}, token=self.owner)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_ddi"))
        self.s.req("PUT", "/api/v1/products/lx/ddi", {"register": True}, token=self.owner)
        self.assertEqual(self.ddi("GET", "gw-1", "", gw)[0], 200)
        st, dev, _ = self.s.req("GET", "/api/v1/products/lx/devices/gw-1", token=self.owner)
        self.assertEqual((st, dev["via"]), (200, "ddi"))
        # Compat namespaces stay closed; a wrong tenant or token is refused.
        self.assertEqual(self.ddi("GET", "esp:AABBCCDDEEFF", "", gw)[0], 404)
        self.assertEqual(self.s.req("GET", "/other/controller/v1/gw-1", headers=gw)[0], 404)
        self.assertEqual(self.ddi("GET", "gw-1", "", {"Authorization": "GatewayToken " + "0" * 64})[0], 401)
        self.assertEqual(self.ddi("GET", "gw-1", "", {"Authorization": "Bearer " + self.owner})[0], 401)
        # Removing the gateway token locks its devices out.
        self.s.req("PUT", "/api/v1/products/lx/ddi", {"gateway_token": "none"}, token=self.owner)
        self.assertEqual(self.ddi("GET", "gw-1", "", gw)[0], 401)


if __name__ == "__main__":
    unittest.main()
