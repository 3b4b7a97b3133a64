"""Operations: GET /healthz, GET /metrics (Prometheus text), the access log, --version, the online
backup (and a restore from it), the dashboard's files, and the device list's search and total."""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import PG_CLUSTER, SERVER, Server  # noqa: E402


class Ops(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.p = cls.s.product("ops-1")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def register(self, device_id, version="1.0.0", hw="revA"):
        st, body, _ = self.s.req("POST", "/api/v1/device/register", {"device_id": device_id, "hw_rev": hw,
                                 "version": version, "slot": 0}, token=self.p["enroll_token"])
        self.assertEqual(st, 201, body)
        return body

    def test_healthz(self):
        st, body, _ = self.s.req("GET", "/healthz")
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["database"], "ok")
        self.assertGreater(body["disk_free_bytes"], 64 << 20)

    def test_metrics_count_requests_and_need_the_admin_token(self):
        self.register("m-1")
        for _ in range(3):
            self.s.req("GET", "/api/v1/products/ops-1", token=self.p["owner_token"])
        self.s.req("GET", "/api/v1/products/nope", token=self.s.admin)
        st, _, _ = self.s.req("GET", "/metrics", token=self.p["owner_token"])
        self.assertEqual(st, 403)
        deadline = time.time() + 10  # a request is counted once its answer is sent: poll a moment
        while True:
            st, text, h = self.s.req("GET", "/metrics", token=self.s.admin)
            self.assertEqual(st, 200)
            self.assertTrue(h["content-type"].startswith("text/plain; version=0.0.4"))
            text = text.decode()
            m = re.search(r'^otakit_http_requests_total\{route="/api/v1/products/\{product\}",method="GET",'
                          r'status="200"\} (\d+)$', text, re.M)
            if (m and int(m.group(1)) >= 3 and
                    'route="/api/v1/products/{product}",method="GET",status="404"' in text) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertTrue(m and int(m.group(1)) >= 3, text)
        self.assertRegex(text, r'(?m)^otakit_http_requests_total\{route="/api/v1/products/\{product\}",method="GET",status="404"\} [1-9]')
        self.assertRegex(text, r'(?m)^otakit_devices\{state="registered"\} [1-9]')
        self.assertRegex(text, r'(?m)^otakit_connections_open [1-9]')
        self.assertRegex(text, r'(?m)^otakit_db_query_seconds \d+\.\d+$')
        self.assertRegex(text, r'(?m)^otakit_checkins_total \d+$')
        for line in text.splitlines():  # every sample line is NAME{labels} VALUE
            if not line.startswith("#"):
                self.assertRegex(line, r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$')

    def check_metrics(self):
        st, text, _ = self.s.req("GET", "/metrics", token=self.s.admin)
        self.assertEqual(st, 200)
        return {k: int(re.search(r"(?m)^%s (\d+)$" % k, text.decode()).group(1))
                for k in ("otakit_checks_total", "otakit_checks_read_only_total", "otakit_checks_writing_total",
                          "otakit_check_rows_written_total")}

    def test_a_check_that_changes_nothing_writes_nothing(self):
        tok = self.register("w-1")["device_token"]
        check = lambda v: self.s.req("GET", "/api/v1/device/check?version=%s&slot=0" % v, token=tok)  # noqa: E731
        self.assertEqual(check("1.0.0")[0], 200)  # the first one records last_seen
        before = self.check_metrics()
        for _ in range(5):
            self.assertEqual(check("1.0.0")[0], 200)
        after = self.check_metrics()
        self.assertEqual(after["otakit_checks_total"] - before["otakit_checks_total"], 5)
        # and takes no write lock: all five answered from a read transaction
        self.assertEqual(after["otakit_checks_read_only_total"] - before["otakit_checks_read_only_total"], 5)
        self.assertEqual(after["otakit_checks_writing_total"], before["otakit_checks_writing_total"])
        self.assertEqual(after["otakit_check_rows_written_total"], before["otakit_check_rows_written_total"])
        st, body, _ = self.s.req("GET", "/api/v1/products/ops-1/devices/w-1", token=self.p["owner_token"])
        self.assertEqual(body["version"], "1.0.0")
        # a new version is a change: written at once, with its history event
        self.assertEqual(check("1.0.1")[0], 200)
        last = self.check_metrics()
        self.assertEqual(last["otakit_checks_writing_total"], after["otakit_checks_writing_total"] + 1)
        self.assertEqual(last["otakit_checks_read_only_total"], after["otakit_checks_read_only_total"])
        self.assertGreaterEqual(last["otakit_check_rows_written_total"] - after["otakit_check_rows_written_total"], 2)
        st, body, _ = self.s.req("GET", "/api/v1/products/ops-1/devices/w-1", token=self.p["owner_token"])
        self.assertEqual(body["version"], "1.0.1")

    def test_access_log_has_one_line_per_request_and_no_token(self):
        marker = "/api/v1/products/ops-1/devices"
        self.s.req("GET", marker + "?q=zz", token=self.p["owner_token"])
        deadline = time.time() + 10  # the line is written once the answer is sent: it may come just after
        while True:
            with open(self.s.log_path) as f:
                log = f.read()
            lines = [l for l in log.splitlines() if 'msg="request"' in l and 'path="%s"' % marker in l]
            if lines or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertTrue(lines, log[-2000:])
        self.assertRegex(lines[-1], r'method=GET route="/api/v1/products/\{product\}/devices" path="[^"]+" status=200 ms=')
        self.assertNotIn(self.p["owner_token"], log)
        self.assertNotIn(self.s.admin, log)
        self.assertNotIn("q=zz", log)

    def test_version(self):
        r = subprocess.run([SERVER, "--version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^otakit-server \d+\.\d+\.\d+\n$")

    def test_dashboard_is_served_with_a_strict_policy(self):
        st, _, h = self.s.req("GET", "/")
        self.assertEqual((st, h["location"]), (302, "/ui/"))
        st, page, h = self.s.req("GET", "/ui/")
        self.assertEqual(st, 200)
        self.assertIn(b'<script type="module" src="app.js">', page)
        self.assertIn("default-src 'self'", h["content-security-policy"])
        for f in re.findall(rb"from '\./([a-z]+\.js)'", self.s.req("GET", "/ui/app.js")[1]):
            st, _, h = self.s.req("GET", "/ui/" + f.decode())
            self.assertEqual((st, h["content-type"]), (200, "text/javascript; charset=utf-8"), f)
        st, body, _ = self.s.req("GET", "/ui/nope.js")
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))

    def test_device_search_and_total(self):
        for i in range(12):
            self.register("srch-%02d" % i, version="2.0.0" if i % 3 == 0 else "1.0.0")
        path = "/api/v1/products/ops-1/devices"
        st, body, _ = self.s.req("GET", path + "?q=srch-&limit=5&offset=10", token=self.p["owner_token"])
        self.assertEqual(st, 200)
        self.assertEqual(body["total"], 12)
        self.assertEqual([d["device_id"] for d in body["devices"]], ["srch-10", "srch-11"])
        st, body, _ = self.s.req("GET", path + "?q=srch-&version=2.0.0", token=self.p["owner_token"])
        self.assertEqual((body["total"], len(body["devices"])), (4, 4))
        st, body, _ = self.s.req("GET", path + "?q=%25", token=self.p["owner_token"])  # no wildcard
        self.assertEqual(body["total"], 0)

    def test_operator_sets_groups(self):
        self.register("grp-1")
        path = "/api/v1/products/ops-1/devices/grp-1"
        st, body, _ = self.s.req("PATCH", path, {"groups": ["lab", "ring-1"]}, token=self.p["owner_token"])
        self.assertEqual((st, body["groups"]), (200, ["lab", "ring-1"]))
        st, body, _ = self.s.req("GET", "/api/v1/products/ops-1/devices?group=ring-1", token=self.p["owner_token"])
        self.assertEqual([d["device_id"] for d in body["devices"]], ["grp-1"])
        for bad, code in [({"groups": ["no spaces"]}, "bad_groups"), ({"groups": "lab"}, "bad_groups"),
                          ({"groups": [], "version": "9"}, "bad_field")]:
            st, body, _ = self.s.req("PATCH", path, bad, token=self.p["owner_token"])
            self.assertEqual((st, body["error"]["code"]), (400, code), bad)
        st, body, _ = self.s.req("GET", path, token=self.p["owner_token"])
        self.assertEqual(body["groups"], ["lab", "ring-1"])  # the refused ones changed nothing
        self.assertIn("groups_set", [e["kind"] for e in body["events"]])
        st, body, _ = self.s.req("PATCH", path, {"groups": []}, token=self.p["owner_token"])
        self.assertEqual((st, body["groups"]), (200, []))

    @unittest.skipIf(PG_CLUSTER, "SQLite's online backup; on PostgreSQL see test_backup_on_postgresql")
    def test_backup_while_serving_and_restore(self):
        self.register("bk-1")
        out = os.path.join(tempfile.mkdtemp(prefix="otakit-bk-"), "backup.db")
        stop = threading.Event()

        def writer():  # registrations keep writing while the backup runs
            i = 0
            while not stop.is_set() and i < 200:
                self.register("bkw-%03d" % i)
                i += 1
        t = threading.Thread(target=writer)
        t.start()
        try:
            r = subprocess.run([SERVER, "--data", self.s.data, "backup", out], capture_output=True, text=True,
                               timeout=60)
        finally:
            stop.set()
            t.join()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("backed up", r.stdout)
        db = sqlite3.connect(out)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        self.assertEqual(db.execute("SELECT COUNT(*) FROM devices WHERE device_id = 'bk-1'").fetchone()[0], 1)
        db.close()
        r = subprocess.run([SERVER, "--data", self.s.data, "backup", out], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists already", r.stderr)
        # Restore: a new data directory with the backup as its database serves the same product.
        d = tempfile.mkdtemp(prefix="otakit-restore-")
        shutil.copy(out, os.path.join(d, "otakit.db"))
        with Server(data=d) as s2:
            st, body, _ = s2.req("GET", "/api/v1/products/ops-1/devices/bk-1", token=self.p["owner_token"])
            self.assertEqual(st, 200, body)

    @unittest.skipUnless(PG_CLUSTER, "a server on PostgreSQL")
    def test_backup_on_postgresql(self):
        """The backup command does not pretend: on PostgreSQL it says to use pg_dump, and writes nothing."""
        with open(os.path.join(self.s.data, "pg.uri")) as f:
            uri = f.read().strip()
        out = os.path.join(tempfile.mkdtemp(prefix="otakit-bk-"), "backup.db")
        r = subprocess.run([SERVER, "--data", self.s.data, "--db", uri, "backup", out], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("pg_dump", r.stderr)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main(verbosity=2)
