"""Live rollout updates as Server-Sent Events (issue 14, item 1): GET .../rollouts/{id}/stream
over real HTTP, read as an EventSource reads it. The first event is the rollout as GET shows it;
a device's check-in, a pause and a cancel each arrive as a new event without asking again; the
stream ends after the final state. Streams never hold a server thread: with more streams open
than the server has threads it still answers at once, and it stops cleanly with streams open."""
import http.client
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import Server  # noqa: E402
from test_devices import Device, add_release  # noqa: E402


class Stream:
    """An EventSource: GET with Accept: text/event-stream, events split at blank lines."""

    def __init__(self, s, path, token):
        self.c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        self.c.request("GET", path + "?access_token=" + token, headers={"Accept": "text/event-stream"})
        self.r = self.c.getresponse()
        self.buf = b""

    def event(self, timeout=8):
        """The next event as (name, data JSON); comments (keep-alives) are skipped. None at the end."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.decode().split("\n") if not line.startswith(":"))
                if "data" in fields:
                    return fields.get("event", "message"), json.loads(fields["data"])
            chunk = self.r.read1(65536)
            if not chunk:
                return None
            self.buf += chunk
        raise TimeoutError("no event")

    def close(self):
        self.c.close()


class RolloutEvents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(args=["--threads", "2"]).start()
        p = cls.s.product("sse")
        cls.own, cls.enroll = p["owner_token"], p["enroll_token"]
        add_release(cls.s, "sse", "1.1.0")
        cls.devs = [Device(cls.s, cls.enroll, "sse-%d" % i) for i in range(4)]
        st, cls.ro, _ = cls.s.req("POST", "/api/v1/products/sse/rollouts",
                                  {"release": "1.1.0", "target": {}, "stages": [{"percent": 100}]}, token=cls.own)
        assert st == 201, cls.ro
        cls.path = "/api/v1/products/sse/rollouts/%d/stream" % cls.ro["id"]

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_a_changes_arrive_live_and_the_stream_ends(self):
        es = Stream(self.s, self.path, self.own)
        self.assertEqual((es.r.status, es.r.getheader("Content-Type")), (200, "text/event-stream"))
        name, ro = es.event()
        st, now, _ = self.s.req("GET", "/api/v1/products/sse/rollouts/%d" % self.ro["id"], token=self.own)
        self.assertEqual((name, ro), ("rollout", now))  # what GET shows
        self.assertEqual(ro["counts"].get("offered", 0), 0)

        self.devs[0].offer()  # a check-in: the device is offered the release
        name, ro = es.event()
        self.assertEqual(ro["counts"].get("offered"), 1, ro["counts"])

        self.s.req("POST", "/api/v1/products/sse/rollouts/%d/pause" % self.ro["id"], token=self.own)
        self.assertEqual(es.event()[1]["state"], "paused")
        self.s.req("POST", "/api/v1/products/sse/rollouts/%d/cancel" % self.ro["id"], token=self.own)
        self.assertEqual(es.event()[1]["state"], "cancelled")
        self.assertIsNone(es.event())  # the final state ends the stream
        es.close()

    def test_b_streams_hold_no_thread(self):
        streams = [Stream(self.s, self.path, self.own) for _ in range(8)]  # 4x the server's threads
        for es in streams:
            self.assertEqual(es.r.status, 200)
        t0 = time.time()
        st, _, _ = self.s.req("GET", "/healthz")
        self.assertEqual(st, 200)
        self.assertLess(time.time() - t0, 2.0)
        for es in streams:
            es.close()

    def test_c_tokens(self):
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=10)
        c.request("GET", self.path)
        self.assertEqual(c.getresponse().status, 401)
        c.close()
        other = self.s.product("sse-other")["owner_token"]
        es = Stream(self.s, self.path, other)
        self.assertEqual(es.r.status, 403)
        es.close()
        es = Stream(self.s, "/api/v1/products/sse/rollouts/999/stream", self.own)
        self.assertEqual(es.r.status, 404)
        es.close()

    def test_d_stops_with_streams_open(self):
        s = Server().start()
        try:
            p = s.product("sse2")
            add_release(s, "sse2", "1.1.0")
            Device(s, p["enroll_token"], "d")
            st, ro, _ = s.req("POST", "/api/v1/products/sse2/rollouts",
                              {"release": "1.1.0", "target": {}, "stages": [{"percent": 100}]}, token=p["owner_token"])
            es = Stream(s, "/api/v1/products/sse2/rollouts/%d/stream" % ro["id"], p["owner_token"])
            es.event()
            time.sleep(1.5)  # suspended, waiting for a change
            self.assertEqual(s.stop(), 0)
            es.close()
        finally:
            s.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
