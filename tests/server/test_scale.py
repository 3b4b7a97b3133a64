"""Fleet scale (issue 15): long-polling checks woken by news, checks that take no write lock,
rollouts created in batches, and the connection limit derived from the open-files limit."""
import os
import http.client
import json
import re
import resource
import stat
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import otaserver  # noqa: E402
from otaserver import Server  # noqa: E402
import test_devices as fx  # noqa: E402
from test_rollouts import Fleet  # noqa: E402
from test_rollout_counts import counters, recount  # noqa: E402

DEV = "/api/v1/device"


def metric(s, name):
    st, text, _ = s.req("GET", "/metrics", token=s.admin)
    return int(re.search(r"(?m)^%s (\d+)$" % name, text.decode()).group(1))


class Waiter(threading.Thread):
    """A device check with ?wait=N in the background: its answer and when it came."""

    def __init__(self, dev, wait):
        super().__init__(daemon=True)
        self.dev, self.wait, self.answer, self.at = dev, wait, None, None

    def run(self):
        self.answer = self.dev.check(wait=self.wait)
        self.at = time.monotonic()


class LongPoll(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(args=["--threads", "2"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_a_waiting_check_returns_within_a_second_of_a_rollout_start(self):
        f = Fleet(self.s, "lp-ro", 3)
        names = sorted(f.devs)
        for n in names:  # the first check records last_seen; the waiting ones then find nothing
            self.assertIsNone(f.devs[n].offer())
        waiters = [Waiter(f.devs[n], 30) for n in names]
        for w in waiters:
            w.start()
        time.sleep(1.0)
        self.assertTrue(all(w.answer is None for w in waiters))  # parked: nothing to say yet
        # two threads serve four parked checks and this rollout creation: parked checks hold none
        ro = f.create({"release": "2.0.0", "target": {"devices": names}})
        started = time.monotonic()
        for w in waiters:
            w.join(10)
        for w in waiters:
            st, body = w.answer
            self.assertEqual(st, 200, body)
            self.assertEqual(body["update"]["version"], "2.0.0")
            self.assertLess(w.at - started, 1.0)
        self.assertEqual(f.get(ro["id"])["stages"][0]["counts"]["offered"], 3)

    def test_a_waiting_check_answers_nothing_at_its_timeout(self):
        f = Fleet(self.s, "lp-idle", 1, release=None)
        d = f.devs["lp-idle-00"]
        self.assertIsNone(d.offer())
        t0 = time.monotonic()
        st, body = d.check(wait=2)
        took = time.monotonic() - t0
        self.assertEqual((st, body["update"], body["commands"]), (200, None, []))
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, 3.5)

    def test_a_queued_command_wakes_only_its_device(self):
        f = Fleet(self.s, "lp-cmd", 2, release=None)
        a, b = f.devs["lp-cmd-00"], f.devs["lp-cmd-01"]
        wa, wb = Waiter(a, 4), Waiter(b, 4)
        wa.start()
        wb.start()
        time.sleep(0.5)
        st, cmd, _ = self.s.req("POST", "/api/v1/products/lp-cmd/devices/lp-cmd-00/commands", {"type": "reboot"},
                                token=f.owner)
        self.assertEqual(st, 201, cmd)
        queued = time.monotonic()
        wa.join(10)
        self.assertEqual(wa.answer[0], 200)
        self.assertEqual([c["type"] for c in wa.answer[1]["commands"]], ["reboot"])
        self.assertLess(wa.at - queued, 1.0)
        self.assertIsNone(wb.answer)  # the other device still waits, then answers nothing
        wb.join(10)
        self.assertEqual((wb.answer[1]["update"], wb.answer[1]["commands"]), (None, []))

    def test_bad_wait_is_refused(self):
        f = Fleet(self.s, "lp-bad", 1, release=None)
        d = f.devs["lp-bad-00"]
        for v in ("-1", "301", "x", ""):
            st, body = d.check(wait=v)
            self.assertEqual((st, body["error"]["code"]), (400, "bad_wait"), v)

    def test_an_offer_is_answered_at_once_even_when_waiting(self):
        f = Fleet(self.s, "lp-now", 1)
        f.create({"release": "2.0.0", "target": {"devices": sorted(f.devs)}})
        t0 = time.monotonic()
        st, body = f.devs["lp-now-00"].check(wait=20)
        self.assertEqual((st, body["update"]["version"]), (200, "2.0.0"))
        self.assertLess(time.monotonic() - t0, 2.0)


class StopWhileWaiting(unittest.TestCase):
    def test_a_stop_answers_the_waiting_checks_and_exits_cleanly(self):
        s = Server().start()
        try:
            f = Fleet(s, "lp-stop", 1, release=None)
            w = Waiter(f.devs["lp-stop-00"], 60)
            w.start()
            time.sleep(0.5)
            t0 = time.monotonic()
            self.assertEqual(s.stop(), 0)
            w.join(10)
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual((w.answer[0], w.answer[1]["update"]), (200, None))
        finally:
            s.__exit__(None, None, None)


class ReadOnlyChecks(unittest.TestCase):
    def test_checks_that_change_nothing_take_no_write_lock_and_see_a_rollout(self):
        with Server() as s:
            f = Fleet(s, "ro-read", 2)
            d = f.devs["ro-read-00"]
            self.assertIsNone(d.offer())
            r0, n0 = metric(s, "otakit_checks_read_only_total"), metric(s, "otakit_checks_total")
            for _ in range(10):
                self.assertIsNone(d.offer())
            self.assertEqual(metric(s, "otakit_checks_total") - n0, 10)
            self.assertEqual(metric(s, "otakit_checks_read_only_total") - r0, 10)
            # a new offer is news: that check writes it (write transaction), the next one reads it
            f.create({"release": "2.0.0", "target": {"devices": ["ro-read-00"]}})
            self.assertEqual(d.offer()["version"], "2.0.0")
            self.assertEqual(metric(s, "otakit_checks_read_only_total") - r0, 10)
            self.assertEqual(d.offer()["version"], "2.0.0")
            self.assertEqual(metric(s, "otakit_checks_read_only_total") - r0, 11)


    def test_a_stale_last_seen_is_written_in_a_batch_not_by_the_check(self):
        with Server() as s:
            f = Fleet(s, "seen", 1, release=None)
            d = f.devs["seen-00"]
            self.assertIsNone(d.offer())
            db = otaserver.db_connect(s.data)
            with db:
                db.execute("UPDATE devices SET last_seen = 1000 WHERE device_id = 'seen-00'")
            r0, w0 = metric(s, "otakit_checks_read_only_total"), metric(s, "otakit_checks_writing_total")
            before = int(time.time())
            self.assertIsNone(d.offer())
            self.assertEqual(metric(s, "otakit_checks_read_only_total") - r0, 1)
            self.assertEqual(metric(s, "otakit_checks_writing_total"), w0)
            deadline = time.time() + 10  # the flusher writes it within about 2 s
            while time.time() < deadline:
                seen = db.execute("SELECT last_seen FROM devices WHERE device_id = 'seen-00'").fetchone()[0]
                if seen >= before:
                    break
                time.sleep(0.2)
            self.assertGreaterEqual(seen, before)
            db.close()


class BatchedCreate(unittest.TestCase):
    def test_a_rollout_larger_than_a_batch_is_whole_and_counted(self):
        with Server() as s:
            f = Fleet(s, "big", 1)
            n = 4600  # three batches of 2000
            db = otaserver.db_connect(s.data)
            pid, vv = db.execute("SELECT product, version_value FROM devices").fetchone()
            db.executemany("INSERT INTO devices(device_id, product, token_hash, hw_rev, version, version_value, slot, "
                           "security_counter, mac, groups, state, created_at) "
                           "VALUES (?, ?, ?, 'rev-a', '1.0.0', ?, ?, 0, '', '', 'registered', 1)",
                           [("big-x%05d" % i, pid, "%064x" % i, vv, i % 2) for i in range(n)])
            db.commit()
            # a slow (sanitized, shared) machine may take longer than the usual 30 s client timeout
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=300)
            c.request("POST", "/api/v1/products/big/rollouts",
                      json.dumps({"release": "2.0.0", "target": {}, "stages": [{"percent": 10}, {"percent": 100}]}),
                      {"Authorization": "Bearer " + f.owner, "Content-Type": "application/json"})
            resp = c.getresponse()
            ro = json.loads(resp.read())
            c.close()
            self.assertEqual(resp.status, 201, ro)
            self.assertEqual(ro["state"], "running")
            self.assertEqual([st["devices"] for st in ro["stages"]], [461, n + 1 - 461])
            self.assertEqual(db.execute("SELECT COUNT(*) FROM rollout_targets WHERE rollout = ?",
                                        (ro["id"],)).fetchone()[0], n + 1)
            self.assertEqual(counters(db), recount(db))
            with open(s.log_path, "rb") as lf:
                log = lf.read()
            self.assertIn(b'msg="rollout created" product=big rollout=%d release=2.0.0 devices=%d' % (ro["id"], n + 1),
                          log)
            # an overlapping rollout is still refused, across every batch of the first one
            fx.add_release(s, "big", "3.0.0", slots=(0, 1))
            st, resp, _ = s.req("POST", "/api/v1/products/big/rollouts",
                                {"release": "3.0.0", "target": {"devices": ["big-x04599"]}}, token=f.owner)
            self.assertEqual((st, resp["error"]["code"]), (409, "rollout_overlap"))
            db.close()


class ConnectionLimit(unittest.TestCase):
    def test_the_default_follows_the_open_files_hard_limit(self):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY and hard < 4096 and os.geteuid() != 0:
            self.skipTest("the open-files hard limit is below 4096 and cannot be raised here")
        tmp = tempfile.mkdtemp(prefix="otakit-nofile-")
        wrapper = os.path.join(tmp, "server.sh")
        with open(wrapper, "w") as w:  # soft 256, hard 4096: the server raises soft to hard
            w.write('#!/bin/sh\nulimit -Sn 256 && ulimit -Hn 4096 && exec "%s" "$@"\n'
                    % os.path.abspath(otaserver.SERVER))
        os.chmod(wrapper, stat.S_IRWXU)
        saved, otaserver.SERVER = otaserver.SERVER, wrapper
        try:
            with Server() as s:
                with open("/proc/%d/limits" % s.proc.pid) as lf:
                    self.assertRegex(lf.read(), r"Max open files\s+4096\s+4096")
                with open(s.log_path) as lf:
                    log = lf.read()
                # (4096 - 64) / 2 connections fit, 8/9 of them served and the rest answered 503
                self.assertIn("max_connections=1792 ", log)
        finally:
            otaserver.SERVER = saved


if __name__ == "__main__":
    unittest.main(verbosity=2)
