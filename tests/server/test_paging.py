"""Paging with totals for the lists that can grow without bound (issue 14, item 4): products,
a device's commands and a device's whole history, over real HTTP and through the otakit CLI
(which fetches every page)."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import CLI, Server  # noqa: E402
from test_devices import Device  # noqa: E402

BASE = "/api/v1/products/pg-0"


class Paging(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.owners = [cls.s.product("pg-%d" % i)["owner_token"] for i in range(5)]
        p0 = cls.owners[0]
        st, p, _ = cls.s.req("POST", BASE + "/enroll-token", token=p0)
        cls.dev = Device(cls.s, p["enroll_token"], "pg-dev")
        for _ in range(7):  # reboot commands: each one queued, each one an event
            st, body, _ = cls.s.req("POST", BASE + "/devices/pg-dev/commands", {"type": "reboot"}, token=p0)
            assert st == 201, body

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def get(self, path, token=None):
        st, body, _ = self.s.req("GET", path, token=token or self.owners[0])
        self.assertEqual(st, 200, body)
        return body

    def cli(self, token, *args):
        r = subprocess.run([CLI, *args, "--server", self.s.url, "--token", token, "--json"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_products(self):
        page = self.get("/api/v1/products?limit=2&offset=1", self.s.admin)
        self.assertEqual(([p["product_id"] for p in page["products"]], page["total"]), (["pg-1", "pg-2"], 5))
        self.assertEqual(self.get("/api/v1/products?offset=4", self.s.admin)["products"][0]["product_id"], "pg-4")
        own = self.get("/api/v1/products?limit=10")
        self.assertEqual((len(own["products"]), own["total"]), (1, 1))  # an owner sees its own only
        st, body, _ = self.s.req("GET", "/api/v1/products?limit=0", token=self.s.admin)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_limit"))
        out = self.cli(self.s.admin, "product", "list")
        self.assertEqual((len(out["products"]), out["total"]), (5, 5))

    def test_commands(self):
        page = self.get(BASE + "/devices/pg-dev/commands?limit=3&offset=2")
        allc = self.get(BASE + "/devices/pg-dev/commands")
        self.assertEqual((len(page["commands"]), page["total"], allc["total"]), (3, 7, 7))
        self.assertEqual([c["id"] for c in page["commands"]], [c["id"] for c in allc["commands"][2:5]])
        st, body, _ = self.s.req("GET", BASE + "/devices/pg-dev/commands?offset=-1", token=self.owners[0])
        self.assertEqual((st, body["error"]["code"]), (400, "bad_offset"))
        out = self.cli(self.owners[0], "device", "commands", "--product", "pg-0", "pg-dev")
        self.assertEqual((len(out["commands"]), out["total"]), (7, 7))

    def test_history(self):
        d = self.get(BASE + "/devices/pg-dev")
        allev = self.get(BASE + "/devices/pg-dev/events?limit=10000")
        self.assertEqual(allev["total"], d["events_total"])
        self.assertGreaterEqual(allev["total"], 7)
        page = self.get(BASE + "/devices/pg-dev/events?limit=2&offset=3")
        self.assertEqual([e["id"] for e in page["events"]], [e["id"] for e in allev["events"][3:5]])
        self.assertEqual(page["total"], allev["total"])
        out = self.cli(self.owners[0], "device", "history", "--product", "pg-0", "pg-dev")
        self.assertEqual([e["id"] for e in out["events"]], [e["id"] for e in allev["events"]])
        st, _, _ = self.s.req("GET", BASE + "/devices/pg-dev/events", token=self.owners[1])
        self.assertEqual(st, 403)


if __name__ == "__main__":
    unittest.main()
