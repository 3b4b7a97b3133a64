"""The pull agent against servers that misbehave on purpose (tests/net/netlib.py FakeServer), each case
checking what a user relies on: the final image is the offered one, verified by ota_end(), and no
byte of another file (or of another position) is ever programmed into the slot ("gens": one letter
per download generation, A or B for the file its bytes matched, X for a mix)."""
import hashlib
import os
import random
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib as nl  # noqa: E402


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = nl.tmpdir()
        cls.a = nl.make_image("3.0.0", size=70000, seed=21)
        cls.b = nl.make_image("3.0.1", size=70000, seed=22)  # same size, other content
        cls.c = nl.make_image("3.0.2", size=50000, seed=23)  # other size
        cls.pa, cls.pb = nl.write_tmp(cls.d, "a.img", cls.a), nl.write_tmp(cls.d, "b.img", cls.b)
        cls.ea, cls.eb, cls.ec = ('"%s"' % hashlib.sha256(x).hexdigest() for x in (cls.a, cls.b, cls.c))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.d, ignore_errors=True)

    def pull(self, srv, img=None, sha=None, extra=(), expect=None):
        dump = os.path.join(self.d, "dump.bin")
        if os.path.exists(dump):
            os.unlink(dump)
        args = nl.pull_args(srv.url + "/fw", img, sha=sha, extra=["--dump", dump, "--retries", "3", *extra])
        for e in expect or [self.pa, self.pb]:
            args += ["--expect", e]
        r = nl.netpull("pull", *args)
        r.image = open(dump, "rb").read() if os.path.exists(dump) else None
        return r

    def assert_ok(self, r, img):
        self.assertEqual((r.rc, r.result, r.v["state_after"]), (0, "OTA_OK", "new"), r)
        self.assertEqual(r.image, img)

    def assert_refused(self, r, err):
        self.assertEqual((r.rc, r.result), (1, err), r)
        self.assertEqual(r.v["state_after"], "none", r)  # abandoned: nothing pending
        self.assertIsNone(r.image)

    def test_server_ignores_range(self):
        """Always 200 with the whole file: each retry restarts from zero, never appending to old bytes."""
        cuts = [5000, 30000, 65000]
        srv = nl.FakeServer(lambda req, i: nl.Answer(nl.serve_file(req, self.a, self.ea, honour_range=False),
                                                     cut=cuts[i] + 200 if i < len(cuts) else None))
        with srv:
            r = self.pull(srv, self.a)
        self.assert_ok(r, self.a)
        self.assertEqual((r.stats["requests"], r.stats["restarts"], r.stats["resumes"]), (4, 3, 0), r)
        self.assertEqual(r.v["gens"], "AAAA")
        self.assertTrue(all(q.headers.get("range") for q in srv.requests[1:]))  # it asked; the server said 200

    def test_etag_change_restarts(self):
        """The file changes between attempts (unpinned download: no sha256 from a manifest): If-Range
        with the old ETag gets the new file with 200, and the agent starts over with it."""
        def handler(req, i):
            if i == 0:
                return nl.Answer(nl.serve_file(req, self.a, self.ea), cut=30000)
            return nl.serve_file(req, self.b, self.eb)
        with nl.FakeServer(handler) as srv:
            r = self.pull(srv)  # neither size nor sha256: both learned from the server
            self.assertEqual(srv.requests[1].headers["if-range"], self.ea)
        self.assert_ok(r, self.b)
        self.assertEqual((r.v["gens"], r.stats["restarts"]), ("AB", 1), r)

    def test_etag_change_of_a_pinned_download_is_refused(self):
        """With the manifest's sha256 pinned, another file at the URL is not the offered update."""
        def handler(req, i):
            if i == 0:
                return nl.Answer(nl.serve_file(req, self.a, self.ea), cut=30000)
            return nl.serve_file(req, self.b, self.eb)
        with nl.FakeServer(handler) as srv:
            r = self.pull(srv, self.a)
        self.assert_refused(r, "OTA_ERR_CHANGED")
        self.assertEqual(r.v["gens"], "A")  # not one byte of B was programmed

    def test_416_restarts_from_zero(self):
        def handler(req, i):
            if i == 0:
                return nl.Answer(nl.serve_file(req, self.a, self.ea), cut=20000)
            if i == 1:
                return nl.response(416, b"", ["Content-Range: bytes */%d" % len(self.a)])
            return nl.serve_file(req, self.a, self.ea)
        with nl.FakeServer(handler) as srv:
            r = self.pull(srv, self.a)
            ranges = [q.headers.get("range") for q in srv.requests]
        self.assert_ok(r, self.a)
        self.assertEqual(ranges[0], None)
        self.assertTrue(ranges[1].startswith("bytes="))
        self.assertEqual(ranges[2], None)  # after 416: the whole file
        self.assertEqual((r.v["gens"], r.stats["restarts"]), ("AA", 1), r)
        # a 416 saying the file has another size: not the offered image
        def shrunk(req, i):
            if i == 0:
                return nl.Answer(nl.serve_file(req, self.a, self.ea), cut=20000)
            return nl.response(416, b"", ["Content-Range: bytes */%d" % len(self.c)])
        with nl.FakeServer(shrunk) as srv:
            self.assert_refused(self.pull(srv, self.a), "OTA_ERR_CHANGED")

    def test_206_at_the_wrong_offset_is_not_written(self):
        """A 206 that does not start where the download stopped is never appended."""
        def handler(req, i):
            if i == 0:
                return nl.Answer(nl.serve_file(req, self.a, self.ea), cut=25000)
            if i == 1:
                start = int(req.headers["range"][6:-1]) - 100
                return nl.response(206, self.a[start:], ["ETag: " + self.ea, "Content-Range: bytes %d-%d/%d" % (
                    start, len(self.a) - 1, len(self.a))])
            return nl.serve_file(req, self.a, self.ea)
        with nl.FakeServer(handler) as srv:
            r = self.pull(srv, self.a)
            self.assertNotIn("range", srv.requests[2].headers)
        self.assert_ok(r, self.a)
        self.assertEqual(r.v["gens"], "AA")

    def test_sha256_in_capitals_is_the_same_entity(self):
        with nl.FakeServer(lambda req, i: nl.Answer(nl.serve_file(req, self.a, self.ea), cut=9000 if i == 0 else None)
                           ) as srv:
            r = self.pull(srv, self.a, sha=hashlib.sha256(self.a).hexdigest().upper())
            self.assertEqual(srv.requests[1].headers["if-range"], self.ea)
        self.assert_ok(r, self.a)
        self.assertEqual((r.stats["resumes"], r.stats["restarts"]), (1, 0), r)

    def test_chunked(self):
        """Transfer-Encoding: chunked, random chunk sizes with extensions and a trailer, cut twice mid-chunk."""
        cuts = [12345, 23456]
        with nl.FakeServer(lambda req, i: nl.Answer(nl.serve_file(req, self.a, self.ea, chunked=True),
                                                    cut=cuts[i] if i < len(cuts) else None)) as srv:
            r = self.pull(srv, self.a)
            self.assertEqual(len(srv.requests), 3)
            g = nl.netpull("get", "--url", srv.url + "/fw")
        self.assert_ok(r, self.a)
        self.assertEqual((r.stats["resumes"], r.stats["restarts"], r.v["gens"]), (2, 0, "A"), r)
        self.assertEqual((g.v["chunked"], g.v["body_sha256"]), ("1", hashlib.sha256(self.a).hexdigest()), g)

    def test_corrupted_bytes_are_never_accepted(self):
        """One flipped byte: refused by the pinned hash before ota_end(), or by ota_end() without it."""
        bad = bytearray(self.a)
        bad[40000] ^= 0x20
        with nl.FakeServer(lambda req, i: nl.serve_file(req, bytes(bad), self.ea)) as srv:
            self.assert_refused(self.pull(srv, self.a), "OTA_ERR_HASH")
            r = self.pull(srv, self.a, sha=False)
            self.assert_refused(r, "OTA_ERR_HASH")  # the image's own SHA-256 TLV, checked from flash

    def test_resume_onto_another_prefix_starts_over(self):
        """A reset mid-download of A, then the manifest offers B (same size): the journal's partial
        download is resumed, the hash of the whole does not match B, and the agent starts over."""
        flash = os.path.join(self.d, "swap.flash")
        if os.path.exists(flash):
            os.unlink(flash)
        with nl.FakeServer(lambda req, i: nl.serve_file(req, self.a, self.ea)) as srv:
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/fw", self.a, flash=flash, extra=["--cut-op", 40]))
            self.assertEqual(r.v["dead"], "1", r)
        with nl.FakeServer(lambda req, i: nl.serve_file(req, self.b, self.eb)) as srv:
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/fw", self.b, flash=flash,
                                                 extra=["--expect", self.pa, "--expect", self.pb]))
        self.assertEqual((r.rc, r.result, r.v["state_after"]), (0, "OTA_OK", "new"), r)
        self.assertGreater(r.stats["reset_offset"], 0)
        self.assertEqual((r.stats["restarts"], r.v["gens"]), (1, "BB"), r)

    def test_retries_then_gives_up_resumable(self):
        """Connections that die before any byte: retried max_retries times, then the last error; the
        partial download stays in the journal and a later pull resumes it."""
        flash = os.path.join(self.d, "retry.flash")
        if os.path.exists(flash):
            os.unlink(flash)
        with nl.FakeServer(lambda req, i: nl.Answer(nl.serve_file(req, self.a, self.ea),
                                                    cut=20000 if i == 0 else 0)) as srv:
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/fw", self.a, flash=flash, extra=["--retries", "2"]))
        self.assertEqual((r.result, r.stats["requests"], r.v["state_after"]), ("OTA_ERR_NET", 4, "downloading"), r)
        with nl.FakeServer(lambda req, i: nl.serve_file(req, self.a, self.ea)) as srv:
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/fw", self.a, flash=flash))
            self.assertTrue(srv.requests[0].headers["range"].startswith("bytes="))
        self.assertEqual((r.result, r.v["state_after"], r.stats["resumes"]), ("OTA_OK", "new", 1), r)

    def test_server_that_always_truncates_gives_up(self):
        """Whole-file answers framed by the end of the connection that always stop at the same byte:
        every retry writes bytes again but gets no further, so the retry limit still ends it."""
        with nl.FakeServer(lambda req, i: nl.Answer(nl.response(200, self.a, [], length=False), cut=30000)) as srv:
            r = self.pull(srv, self.a, sha=False)
        self.assertEqual((r.result, r.stats["requests"], r.v["state_after"]), ("OTA_ERR_NET", 5, "downloading"), r)
        self.assertEqual(r.v["gens"], "AAAAA")

    def test_one_byte_per_connection_gives_up(self):
        """Every answer is cut one body byte in: a byte is not progress (min_progress, default 1 KiB),
        so the retry limit ends it after 4 requests, not one request per byte; the partial download
        stays resumable. A server giving 5000 bytes per connection still gets the image through."""
        img = nl.make_image("3.0.3", size=12000, seed=24)
        etag = '"%s"' % hashlib.sha256(img).hexdigest()

        def one_byte(req, i):
            raw = nl.serve_file(req, img, etag)
            return nl.Answer(raw, cut=nl.head_len(raw) + 1)
        flash = os.path.join(self.d, "drip1.flash")
        if os.path.exists(flash):
            os.unlink(flash)
        with nl.FakeServer(one_byte) as srv:
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/fw", img, flash=flash, extra=["--retries", "3"]))
        self.assertEqual((r.result, r.stats["requests"], r.v["state_after"]), ("OTA_ERR_NET", 4, "downloading"), r)

        def five_k(req, i):
            raw = nl.serve_file(req, img, etag)
            return nl.Answer(raw, cut=nl.head_len(raw) + 5000)
        with nl.FakeServer(five_k) as srv:
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/fw", img, flash=flash, extra=["--retries", "1"]))
        self.assertEqual((r.result, r.v["state_after"]), ("OTA_OK", "new"), r)

    def test_drip_ends_at_the_deadline(self):
        """One body byte every 0.2 s never trips the read timeout; the pull's overall deadline
        (--deadline 2000) ends it, with the partial download resumable."""
        img = nl.make_image("3.0.4", size=12000, seed=25)
        etag = '"%s"' % hashlib.sha256(img).hexdigest()
        flash = os.path.join(self.d, "drip2.flash")
        if os.path.exists(flash):
            os.unlink(flash)
        with nl.FakeServer(lambda req, i: nl.Answer(nl.serve_file(req, img, etag), drip=0.2)) as srv:
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/fw", img, flash=flash, extra=["--deadline", 2000]),
                           timeout=60)
        self.assertEqual((r.result, r.v["state_after"]), ("OTA_ERR_TIMEOUT", "downloading"), r)
        self.assertLess(r.elapsed, 6, r)

    def test_status_codes(self):
        """5xx is retried; 404 and 401 are final and leave nothing pending."""
        with nl.FakeServer(lambda req, i: nl.response(503, b"busy") if i < 2 else nl.serve_file(req, self.a, self.ea)
                           ) as srv:
            r = self.pull(srv, self.a)
        self.assert_ok(r, self.a)
        self.assertEqual((r.stats["requests"], r.stats["failures"]), (3, 2))
        for st in (404, 401):
            with nl.FakeServer(lambda req, i: nl.response(st, b"{}")) as srv:
                r = self.pull(srv, self.a)
                self.assertEqual(len(srv.requests), 1)
            self.assertEqual((r.result, r.v["state_after"]), ("OTA_ERR_HTTP_STATUS", "none"), r)

    def test_random_cuts_no_etag_server(self):
        """A server without ETags cannot validate a resume: every drop starts over, still never a mix."""
        rnd = random.Random(3)
        cuts = [rnd.randint(1000, 60000) for _ in range(4)]
        with nl.FakeServer(lambda req, i: nl.Answer(nl.serve_file(req, self.a, None),
                                                    cut=cuts[i] if i < len(cuts) else None)) as srv:
            r = self.pull(srv, self.a, sha=False, extra=["--retries", "6"])  # a retry counts if it got further
            self.assertFalse(any("range" in q.headers for q in srv.requests))
        self.assert_ok(r, self.a)
        self.assertEqual((r.stats["restarts"], r.v["gens"]), (4, "AAAAA"), r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
