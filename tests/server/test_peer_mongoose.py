"""Mongoose OTA pull against otakit-server, judged by the real client's decisions (peer_mongoose.py,
from cesanta/mongoose src/ota.c): same-version metadata lets a firmware on trial commit, build
metadata ("2.0.0+0") is the same version as "2.0.0", and a rollback reaches the rollout."""
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import peer_mongoose as mg  # noqa: E402
from otaserver import Server  # noqa: E402
from test_releases import esp8266_image  # noqa: E402

URI = "/api/v1/mongoose/mgp/ota.json"


class MongoosePull(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.owner = cls.s.product("mgp")["owner_token"]
        st, body, _ = cls.s.req("PATCH", "/api/v1/products/mgp",
                                {"compat": {"mongoose": True, "confirm_by_version": True}}, token=cls.owner)
        assert st == 200, body
        cls.image = esp8266_image(size=20000, seed=b"mg2")
        # The release carries build metadata; "+" is %2B in a query the server decodes.
        st, rel, _ = cls.s.req("POST", "/api/v1/products/mgp/releases?version=" + urllib.parse.quote("2.0.0+0"),
                               cls.image, token=cls.owner)
        assert st == 201, rel

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def device(self, name, version="1.0.0"):
        return mg.Device(self.s.port, URI, name, version)

    def rollout(self, ids):
        st, body, _ = self.s.req("POST", "/api/v1/products/mgp/rollouts",
                                 {"release": "2.0.0+0", "target": {"devices": ["mongoose:" + i for i in ids]},
                                  "stages": [{"percent": 100}]}, token=self.owner)
        self.assertEqual(st, 201, body)
        return body["id"]

    def counts(self, ro):
        st, body, _ = self.s.req("GET", "/api/v1/products/mgp/rollouts/%s" % ro, token=self.owner)
        self.assertEqual(st, 200, body)
        return body["state"], {k: v for k, v in body["counts"].items() if v}

    def test_update_then_same_version_commits(self):
        """The device updates, boots on trial, is told "Same version" and commits; otakit records
        installed while on trial and confirmed only once the device reports boot=0."""
        d = self.device("mg-ok")
        self.assertEqual(d.poll()[0], "same")  # first contact, nothing assigned: not "Bad metadata"
        ro = self.rollout(["mg-ok"])
        kind, meta = d.poll()
        self.assertEqual((kind, meta["version"], meta["size"]), ("update", "2.0.0+0", len(self.image)))
        self.assertEqual(d.flashed, ("2.0.0+0", self.image))
        self.assertEqual(self.counts(ro), ("running", {"downloading": 1}))
        d.reboot_into("2.0.0")  # built as 2.0.0: the same version by value
        self.assertEqual(d.poll()[0], "same")
        self.assertTrue(d.autocommit_ok)
        self.assertEqual(self.counts(ro), ("running", {"installed": 1}))  # on trial: not confirmed yet
        d.window_ends()
        self.assertEqual(d.boot, mg.CONFIRMED)
        self.assertEqual(d.poll()[0], "same")  # boot=0 from now on, and no re-download of 2.0.0+0
        self.assertEqual(self.counts(ro), ("finished", {"confirmed": 1}))
        self.assertEqual(d.poll()[0], "same")

    def test_version_with_plus_sent_unescaped(self):
        """A device built as "2.0.0+0" sends version=2.0.0+0 raw: it is the same version, not a
        400 (which the client takes as bad metadata, and never commits)."""
        d = self.device("mg-plus", version="2.0.0+0")
        self.assertEqual(d.poll(), ("same", None))
        st, dev, _ = self.s.req("GET", "/api/v1/products/mgp/devices/mongoose:mg-plus", token=self.owner)
        self.assertEqual(dev["version"], "2.0.0+0")
        # The same-version metadata names that release's image and size (the client needs size > 0).
        st, body, _ = mg.raw_response(self.s.port, mg.metadata_request(URI, "h", "2.0.0+0", "mg-plus", 0))
        import json
        m = json.loads(body)
        self.assertEqual((m["version"], m["size"]), ("2.0.0+0", len(self.image)))

    def test_rollback_after_trial_reaches_rollout(self):
        """The firmware on trial never hears "Same version" (the server is out of reach during its
        window): the watchdog rolls it back, and its boot=3 poll records the rollback."""
        d = self.device("mg-rb")
        d.poll()
        ro = self.rollout(["mg-rb"])
        self.assertEqual(d.poll()[0], "update")
        d.reboot_into("2.0.0")
        self.assertEqual(d.poll()[0], "same")  # seen on trial: installed
        d.autocommit_ok = False  # as if that answer was lost
        d.window_ends()
        self.assertEqual((d.version, d.boot), ("1.0.0", mg.ROLLEDBACK))
        self.assertEqual(d.poll(), ("same", None))  # not offered the release it rolled back from
        # The error threshold paused the rollout: a rollback counts as a failure there.
        self.assertEqual(self.counts(ro), ("paused", {"rolled_back": 1}))
        st, dev, _ = self.s.req("GET", "/api/v1/products/mgp/devices/mongoose:mg-rb", token=self.owner)
        self.assertEqual(dev["version"], "1.0.0")
        # boot=3 stays on every poll: nothing more changes.
        self.assertEqual(d.poll(), ("same", None))
        self.assertEqual(self.counts(ro), ("paused", {"rolled_back": 1}))

    def test_rollback_before_first_poll(self):
        """The new firmware hangs before it ever polls: the next poll (old version, boot=3) is the
        first word the server gets, and it is a rollback of the downloaded update."""
        d = self.device("mg-hang")
        d.poll()
        ro = self.rollout(["mg-hang"])
        self.assertEqual(d.poll()[0], "update")
        d.reboot_into("2.0.0")
        d.window_ends()
        self.assertEqual(d.boot, mg.ROLLEDBACK)
        self.assertEqual(d.poll(), ("same", None))
        self.assertEqual(self.counts(ro), ("paused", {"rolled_back": 1}))

    def test_unknown_boot_values_say_nothing(self):
        d = self.device("mg-boot9")
        d.boot = 9
        self.assertEqual(d.poll(), ("same", None))


if __name__ == "__main__":
    unittest.main()
