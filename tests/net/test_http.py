"""The HTTP client over real loopback sockets: connect and read timeouts fire on time, redirects are
refused unless enabled, oversized or malformed headers are rejected cleanly (a specific error, no
hang), and the pull agent reports each of these as its own error."""
import hashlib
import os
import shutil
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib as nl  # noqa: E402


class Http(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = nl.tmpdir()
        cls.body = os.urandom(20000)
        cls.etag = '"%s"' % hashlib.sha256(cls.body).hexdigest()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.d, ignore_errors=True)

    def test_connect_timeout(self):
        """A SYN nobody answers (a listener whose accept queue is full): OTA_ERR_TIMEOUT on time."""
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(0)
        port = s.getsockname()[1]
        fill = []
        for _ in range(4):  # fill the accept queue; later SYNs are dropped
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fill.append(c)
        time.sleep(0.1)
        try:
            r = nl.netpull("get", "--url", "http://127.0.0.1:%d/x" % port, "--connect-timeout", 400)
        finally:
            for c in fill:
                c.close()
            s.close()
        self.assertEqual((r.rc, r.result), (1, "OTA_ERR_TIMEOUT"), r)
        self.assertTrue(0.35 < r.elapsed < 3, r.elapsed)
        # refused (nobody listens): a network error at once
        r = nl.netpull("get", "--url", "http://127.0.0.1:%d/x" % port)
        self.assertEqual(r.result, "OTA_ERR_NET", r)
        self.assertLess(r.elapsed, 3)

    def test_read_timeout(self):
        """A server that accepts and never answers, and one that stalls in the middle of the body."""
        with nl.FakeServer(lambda req, i: nl.Answer(b"", stall=5)) as srv:
            r = nl.netpull("get", "--url", srv.url + "/x", "--read-timeout", 300)
        self.assertEqual((r.rc, r.result), (1, "OTA_ERR_TIMEOUT"), r)
        self.assertTrue(0.25 < r.elapsed < 3, r.elapsed)
        with nl.FakeServer(lambda req, i: nl.Answer(nl.serve_file(req, self.body, self.etag)[:5000], stall=5)) as srv:
            r = nl.netpull("get", "--url", srv.url + "/x", "--read-timeout", 300)
        self.assertEqual((r.v["status"], r.result), ("200", "OTA_ERR_TIMEOUT"), r)
        self.assertLess(r.elapsed, 3)

    def test_pull_read_timeout_then_resume(self):
        """The pull treats a stalled transfer like a dropped one: it reconnects and continues.
        The read timeout leaves the server's answer (a Python thread, slow on a loaded machine)
        2 s to arrive: a timeout before its first body byte is a failure with nothing to resume,
        not the case tested here."""
        img = nl.make_image("4.0.0", size=30000, seed=31)
        etag = '"%s"' % hashlib.sha256(img).hexdigest()
        with nl.FakeServer(lambda req, i: nl.Answer(nl.serve_file(req, img, etag)[:12000], stall=10) if i == 0
                           else nl.serve_file(req, img, etag)) as srv:
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/fw", img, extra=["--read-timeout", 2000]))
            self.assertEqual(srv.requests[1].headers["if-range"], etag)
        self.assertEqual((r.result, r.v["state_after"]), ("OTA_OK", "new"), r)
        self.assertEqual((r.stats["resumes"], r.stats["failures"], r.stats["last_error"]), (1, 1, "OTA_ERR_TIMEOUT"))

    def test_redirects_refused_by_default(self):
        hits = []

        def target(req, i):
            hits.append(req.path)
            return nl.serve_file(req, self.body, self.etag)
        with nl.FakeServer(target) as t, \
                nl.FakeServer(lambda req, i: nl.response(302, b"", ["Location: %s/real" % t.url])) as srv:
            r = nl.netpull("get", "--url", srv.url + "/fw")
            self.assertEqual((r.rc, r.result), (1, "OTA_ERR_REDIRECT"), r)
            self.assertEqual(hits, [])  # the Location was never followed
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/fw"))
            self.assertEqual((r.result, r.stats["requests"]), ("OTA_ERR_REDIRECT", 1), r)
            # enabled: followed, to the URL the server named
            r = nl.netpull("get", "--url", srv.url + "/fw", "--redirects", 2)
            self.assertEqual((r.result, r.v["status"], r.v["final_url"]), ("OTA_OK", "200", t.url + "/real"), r)
            self.assertEqual(r.v["body_sha256"], hashlib.sha256(self.body).hexdigest())
        # a loop ends after max_redirects; a relative Location stays on the server
        with nl.FakeServer(lambda req, i: nl.response(301, b"", ["Location: /again"])) as srv:
            r = nl.netpull("get", "--url", srv.url + "/fw", "--redirects", 3)
            self.assertEqual((r.result, len(srv.requests)), ("OTA_ERR_REDIRECT", 4), r)
            self.assertEqual(srv.requests[-1].path, "/again")

    def test_redirect_drops_the_token_across_origins(self):
        """Like curl: the bearer token goes to the URL's own origin (scheme, host, port) only. A
        redirect to another port gets no Authorization, nor do the pull's retries after it; a
        redirect on the same origin keeps it."""
        img = nl.make_image("3.0.0", size=20000, seed=5)
        etag = '"%s"' % hashlib.sha256(img).hexdigest()
        auth = []

        def target(req, i):
            auth.append(req.headers.get("authorization"))
            return nl.Answer(nl.serve_file(req, img, etag), cut=3000 if i == 1 else None)

        def origin(req, i):
            if req.path == "/same":
                return nl.response(302, b"", ["Location: %s/real" % t.url])
            return nl.response(302, b"", ["Location: /same" if req.path == "/fw" else "Location: %s/real" % t.url])
        with nl.FakeServer(target) as t, nl.FakeServer(origin) as srv:
            r = nl.netpull("get", "--url", srv.url + "/fw", "--redirects", 3, "--token", "s3cret")
            self.assertEqual((r.result, r.v["final_url"]), ("OTA_OK", t.url + "/real"), r)
            self.assertEqual([q.headers.get("authorization") for q in srv.requests], ["Bearer s3cret"] * 2)
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/other", img,
                                                 extra=["--redirects", 3, "--token", "s3cret"]))
            self.assertEqual((r.result, r.stats["resumes"]), ("OTA_OK", 1), r)
            self.assertEqual(len(auth), 3)
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/other", img,
                                                 extra=["--redirects", 3, "--token", "s3cret", "--precheck"]))
            self.assertEqual(r.result, "OTA_OK", r)
            self.assertEqual(len(auth), 6)  # the pre-check's two requests and the pull's
            self.assertTrue(all(q.headers.get("authorization") == "Bearer s3cret" for q in srv.requests))
        self.assertEqual(auth, [None] * 6)

    def test_oversized_headers(self):
        cases = {
            "one huge line": "X-Big: " + "a" * 20000,
            "too many lines": "\r\n".join("X-L%d: %s" % (i, "b" * 60) for i in range(400)),
        }
        for what, hdr in cases.items():
            with nl.FakeServer(lambda req, i: ("HTTP/1.1 200 OK\r\n%s\r\nContent-Length: 2\r\n\r\nok" % hdr).encode()
                               ) as srv:
                r = nl.netpull("get", "--url", srv.url + "/x")
                self.assertEqual((r.rc, r.result), (1, "OTA_ERR_HEADERS_TOO_BIG"), (what, r))
                r = nl.netpull("pull", *nl.pull_args(srv.url + "/x"))
                self.assertEqual((r.result, r.stats["requests"]), ("OTA_ERR_HEADERS_TOO_BIG", 1), (what, r))
        # headers that never end: refused after the limit, not read forever
        endless = b"HTTP/1.1 200 OK\r\n" + b"X-Endless: 0123456789\r\n" * 100000
        with nl.FakeServer(lambda req, i: nl.Answer(endless, stall=5)) as srv:
            r = nl.netpull("get", "--url", srv.url + "/x")
        self.assertEqual(r.result, "OTA_ERR_HEADERS_TOO_BIG", r)
        self.assertLess(r.elapsed, 3)

    def test_malformed_answers(self):
        for raw in (b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            with nl.FakeServer(lambda req, i: raw) as srv:
                r = nl.netpull("get", "--url", srv.url + "/x")
            self.assertEqual((r.rc, r.result), (1, "OTA_ERR_HTTP"), (raw, r))
        with nl.FakeServer(lambda req, i: b"") as srv:  # accepted and closed at once
            r = nl.netpull("get", "--url", srv.url + "/x")
        self.assertEqual(r.result, "OTA_ERR_NET", r)

    def test_bad_urls(self):
        for url in ("ftp://h/x", "http://h:99999/", "http://user@h/", "http://h/a b"):
            r = nl.netpull("get", "--url", url)
            self.assertEqual(r.result, "OTA_ERR_URL", url)
        r = nl.netpull("get", "--url", "https://127.0.0.1:1/x")  # no TLS transport configured
        self.assertEqual(r.result, "OTA_ERR_TLS", r)
        r = nl.netpull("get", "--url", "http://no-such-host.invalid/x")
        self.assertEqual(r.result, "OTA_ERR_NET", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
