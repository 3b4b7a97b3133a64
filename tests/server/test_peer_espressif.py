"""The Espressif cloud FOTA rules of seed 004 ("ESP8266 FOTA Introduction" v1.5) that the
management API must keep: upgrades only to newer versions (section 3) unless an explicit
downgrade, the running firmware's own mode (6.1: o/l/a/n), one product type per product (6.1:
tPTYPE), labels named exactly, and user1.bin/user2.bin that fit the flash layout their header
declares (section 2: 236 KB on 512 KB flash, 492 KB on 1 MB)."""
import os
import struct
import subprocess
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import CLI, VECTORS, Server  # noqa: E402
from test_devices import Device, add_release  # noqa: E402


def value(label):
    a, b, c = label[1:].split("t")[0].split(".")
    return int(a) * 1000000 + int(b) * 1000 + int(c)


def user_bin(size, flash_code):
    """An ESP8266 (0xE9) image of size bytes whose header declares flash size code flash_code."""
    body = size - 8 - 8 - 16
    return bytes([0xE9, 1, 0, flash_code << 4]) + struct.pack("<I", 0x40100000) + \
        struct.pack("<II", 0x40100000, body) + bytes(body) + b"\x00" * 15 + b"\x5a"


class EspressifCloud(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        pem = subprocess.run([CLI, "getpub", "-k", os.path.join(VECTORS, "ec256-pub.pem"), "-e", "pem"],
                             check=True, capture_output=True).stdout.decode()
        st, p, _ = cls.s.req("POST", "/api/v1/products", {"product_id": "fota", "name": "fota", "public_key": pem,
                                                          "version_rule": "espressif"}, token=cls.s.admin)
        assert st == 201, p
        cls.own, cls.enroll = p["owner_token"], p["enroll_token"]
        for label in ("v1.0.1t45772(a)", "v1.0.2t45772(a)", "v1.0.3t45772(a)"):
            add_release(cls.s, "fota", label, slots=(0, 1), value=value(label))

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def command(self, dev, release, **extra):
        body = {"type": "upgrade", "release": release}
        body.update(extra)
        return self.s.req("POST", "/api/v1/products/fota/devices/%s/commands" % dev, body, token=self.own)[:2]

    def test_upgrade_command_to_an_older_version(self):
        Device(self.s, self.enroll, "older", version="v1.0.2t45772(a)", slot=0)
        st, body = self.command("older", "v1.0.1t45772(a)")
        self.assertEqual((st, body["error"]["code"]), (409, "downgrade"), body)
        st, body = self.command("older", "v1.0.1t45772(a)", downgrade=True)
        self.assertEqual(st, 201, body)
        st, body = self.command("older", "v1.0.3t45772(a)", downgrade="yes")
        self.assertEqual((st, body["error"]["code"]), (400, "bad_command"))

    def test_queued_downgrade_is_not_delivered(self):
        """A command queued while the device ran an older version, delivered after it moved past
        that version: the delivery refuses it as a downgrade."""
        d = Device(self.s, self.enroll, "mover", version="v1.0.1t45772(a)", slot=0)
        st, cmd = self.command("mover", "v1.0.2t45772(a)")
        self.assertEqual(st, 201, cmd)
        d.version = "v1.0.3t45772(a)"
        st, chk = d.check()
        self.assertEqual((st, chk["update"], chk["commands"]), (200, None, []))
        st, cmds, _ = self.s.req("GET", "/api/v1/products/fota/devices/mover/commands", token=self.own)
        self.assertEqual(cmds["commands"][0]["status"], "failed")
        self.assertIn("older", cmds["commands"][0]["message"])

    def test_running_firmware_mode(self):
        """A device running an (n) or (l) firmware gets no online upgrade: commands are refused,
        a rollout offers it nothing."""
        for mode in ("n", "l"):
            name = "mode-" + mode
            d = Device(self.s, self.enroll, name, version="v1.0.1t45772(%s)" % mode, slot=0)
            st, body = self.command(name, "v1.0.3t45772(a)")
            self.assertEqual((st, body["error"]["code"]), (409, "not_upgradable"), body)
            st, ro, _ = self.s.req("POST", "/api/v1/products/fota/rollouts",
                                   {"release": "v1.0.3t45772(a)", "target": {"devices": [name]}}, token=self.own)
            if st == 201:
                self.assertIsNone(d.offer())
            else:
                self.assertEqual(st, 409, ro)
        d = Device(self.s, self.enroll, "mode-a", version="v1.0.1t45772(a)", slot=0)
        st, ro, _ = self.s.req("POST", "/api/v1/products/fota/rollouts",
                               {"release": "v1.0.3t45772(a)", "target": {"devices": ["mode-a"]}}, token=self.own)
        self.assertEqual(st, 201, ro)
        self.assertEqual(d.offer()["version"], "v1.0.3t45772(a)")

    def test_exact_label_resolution(self):
        Device(self.s, self.enroll, "exact", version="v1.0.1t45772(a)", slot=0)
        for name in ("v1.0.2t45772(o)", "b1.0.2t45772(a)", "v1.0.2t23701(a)", "1.0.2"):
            st, body = self.command("exact", name)
            self.assertEqual((st, body["error"]["code"]), (404, "release_not_found"), name)
            st, body, _ = self.s.req("POST", "/api/v1/products/fota/rollouts",
                                     {"release": name, "target": {"devices": ["exact"]}}, token=self.own)
            self.assertEqual(st, 404, (name, body))
        st, body = self.command("exact", "v1.0.2t45772(a)")
        self.assertEqual(st, 201, body)

    def test_ptype(self):
        """The product's labels are t45772: a t99999 label is refused at upload, and a device
        running a t23701 firmware is offered nothing."""
        st, body, _ = self.s.req("POST", "/api/v1/products/fota/releases?slot=0&version=" +
                                 urllib.parse.quote("v2.0.0t99999(a)"), user_bin(4096, 2), token=self.own)
        self.assertEqual((st, body["error"]["code"]), (400, "wrong_product"), body)
        self.assertIn("45772", body["error"]["message"])
        d = Device(self.s, self.enroll, "foreign", version="v1.0.0t23701(a)", slot=0)
        st, body = self.command("foreign", "v1.0.3t45772(a)")
        self.assertEqual((st, body["error"]["code"]), (409, "not_upgradable"), body)
        st, ro, _ = self.s.req("POST", "/api/v1/products/fota/rollouts",
                               {"release": "v1.0.3t45772(a)", "target": {"devices": ["foreign"]}}, token=self.own)
        if st == 201:
            self.assertIsNone(d.offer())

    def test_user_bin_must_fit_its_flash_layout(self):
        for code, kb, limit in ((0, 512, 236), (2, 1024, 492)):
            label = urllib.parse.quote("v3.%d.0t45772(a)" % code)
            st, body, _ = self.s.req("POST", "/api/v1/products/fota/releases?slot=0&version=" + label,
                                     user_bin(limit * 1024 + 4096, code), token=self.own)
            self.assertEqual((st, body["error"]["code"]), (400, "bad_image"), body)
            self.assertIn("%d KB flash" % kb, body["error"]["message"])
            st, body, _ = self.s.req("POST", "/api/v1/products/fota/releases?slot=0&version=" + label,
                                     user_bin(limit * 1024, code), token=self.own)
            self.assertEqual(st, 201, body)
        # 256 KB flash has no FOTA layout at all.
        st, body, _ = self.s.req("POST", "/api/v1/products/fota/releases?slot=0&version=" +
                                 urllib.parse.quote("v3.9.0t45772(a)"), user_bin(4096, 1), token=self.own)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_image"), body)


if __name__ == "__main__":
    unittest.main()
