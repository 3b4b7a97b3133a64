"""hawkBit DDI as Zephyr's hawkBit client speaks it (peer_zephyr_hawkbit.py replays its requests
and checks from subsys/mgmt/hawkbit/hawkbit.c): the tenant it polls is "default" and the
download link it accepts must say "/DEFAULT/controller/v1", so the product is DEFAULT; the
controller id is <BOARD>-<device id>; an MCUboot image is the chunk part "bApp"."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import peer_zephyr_hawkbit as zephyr  # noqa: E402
from otaserver import Server, sign  # noqa: E402

BOARD = "mps2_an385"


class ZephyrHawkbit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        p = cls.s.product("DEFAULT")
        cls.owner, cls.enroll = p["owner_token"], p["enroll_token"]
        cls.image = sign(os.urandom(30000), "1.1.0")
        st, body, _ = cls.s.req("POST", "/api/v1/products/DEFAULT/releases", cls.image, token=cls.owner)
        assert st == 201, body

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def register(self, dev_id):
        st, body, _ = self.s.req("POST", "/api/v1/device/register",
                                 {"device_id": "%s-%s" % (BOARD, dev_id), "hw_rev": "1", "version": "1.0.0",
                                  "slot": 0}, token=self.enroll)
        self.assertEqual(st, 201, body)
        return zephyr.Device(self.s.port, BOARD, dev_id, body["device_token"])

    def rollout(self, devices):
        st, body, _ = self.s.req("POST", "/api/v1/products/DEFAULT/rollouts",
                                 {"release": "1.1.0", "target": {"devices": devices}, "stages": [{"percent": 100}]},
                                 token=self.owner)
        self.assertEqual(st, 201, body)
        return body["id"]

    def rollout_state(self, ro):
        st, body, _ = self.s.req("GET", "/api/v1/products/DEFAULT/rollouts/%s" % ro, token=self.owner)
        return body["state"], {k: v for k, v in body["counts"].items() if v}

    def test_update_then_confirm_after_reboot(self):
        d = self.register("00c0ffee")
        self.assertEqual(d.probe(), "no_update")  # configData sent on the way
        st, dev, _ = self.s.req("GET", "/api/v1/products/DEFAULT/devices/" + d.controller, token=self.owner)
        self.assertEqual(dev["attributes"], {"VIN": "00c0ffee", "hwRevision": "3"})
        self.assertEqual(d.probe(), "no_update")
        self.assertNotIn(("PUT", "%s/%s/configData" % (zephyr.JSON_URL, d.controller), 200), d.log[2:])
        ro = self.rollout([d.controller])
        self.assertEqual(d.probe(), "installed")
        self.assertEqual(d.slot1, self.image)
        self.assertEqual(self.rollout_state(ro), ("running", {"downloading": 1}))
        # Reboot into the update (MCUboot test swap, confirmed by the app): the next probe closes it.
        self.assertEqual(d.probe(), "ok")
        self.assertEqual(self.rollout_state(ro), ("finished", {"confirmed": 1}))
        st, dev, _ = self.s.req("GET", "/api/v1/products/DEFAULT/devices/" + d.controller, token=self.owner)
        self.assertEqual(dev["version"], "1.1.0+0")
        self.assertEqual(d.probe(), "no_update")

    def test_cancel_is_acknowledged_without_fetching(self):
        d = self.register("0badcafe")
        ro = self.rollout([d.controller])
        # The offer starts at a poll (one whose answer the device lost), then the owner cancels.
        st, body, _ = self.s.req("GET", "/DEFAULT/controller/v1/" + d.controller, headers={"Authorization": d.auth})
        self.assertIn("deploymentBase", body["_links"])
        st, body, _ = self.s.req("POST", "/api/v1/products/DEFAULT/rollouts/%s/cancel" % ro, token=self.owner)
        self.assertEqual(st, 200, body)
        self.assertEqual(d.probe(), "cancel")
        self.assertEqual(d.probe(), "no_update")  # acknowledged: the link is gone
        self.assertIsNone(d.slot1)

    def test_refusals(self):
        d = self.register("0000beef")
        d.auth = "TargetToken " + "0" * 64
        with self.assertRaises(zephyr.ZephyrError) as e:
            d.probe()
        self.assertIn(": 401", str(e.exception))
        # Another device's token does not reach this controller.
        other = self.register("0000feed")
        other.device_id = "0000beef"
        with self.assertRaises(zephyr.ZephyrError):
            other.probe()
        # A GatewayToken the product does not have, and an unknown controller with it.
        g = zephyr.Device(self.s.port, BOARD, "11112222", "f" * 64, gateway=True)
        with self.assertRaises(zephyr.ZephyrError):
            g.probe()


if __name__ == "__main__":
    unittest.main()
