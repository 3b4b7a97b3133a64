"""HTTPS with a pinned CA (made with openssl here): the device checks and downloads from otakit-server
--tls-cert through the TLS transport (mbedTLS) and ota_end() accepts the image; a server whose
certificate comes from another CA, or names another host, is refused with OTA_ERR_TLS before a
single byte is written; a download over TLS survives dropped connections with Range resume."""
import hashlib
import http.client
import os
import shutil
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib as nl  # noqa: E402

DEV = "/api/v1/device"


class TlsServer(nl.Server):
    """otakit-server over HTTPS; the harness's requests go through TLS too (certificate not checked:
    the harness is not the device under test)."""

    def conn(self):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=ssl._create_unverified_context(),
                                           timeout=30)


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = nl.tmpdir()
        cls.ca = nl.make_ca(cls.d, "fleet-ca")
        cls.other_ca = nl.make_ca(cls.d, "other-ca")
        cls.cert = nl.make_cert(cls.d, "server", cls.ca, cn="localhost")
        cls.rogue = nl.make_cert(cls.d, "rogue", cls.other_ca, cn="localhost")
        cls.s = TlsServer(args=["--tls-cert", cls.cert[0], "--tls-key", cls.cert[1]]).start()
        assert cls.s.url.startswith("https://"), cls.s.url
        p = cls.s.product(nl.PRODUCT)
        cls.owner, cls.enroll = p["owner_token"], p["enroll_token"]
        cls.img = nl.make_image("5.0.0", size=60000, seed=41)
        cls.sha = hashlib.sha256(cls.img).hexdigest()
        st, rel, _ = cls.s.req("POST", "/api/v1/products/%s/releases" % nl.PRODUCT, cls.img, token=cls.owner)
        assert st == 201, (st, rel)
        st, body, _ = cls.s.req("POST", DEV + "/register", {"device_id": "tls-1", "hw_rev": "a", "version": "1.0.0",
                                                            "slot": 0}, token=cls.enroll)
        assert st == 201, body
        cls.tok = body["device_token"]

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.d, ignore_errors=True)

    def tls_args(self, ca=None, name="localhost"):
        a = ["--ca", (ca or self.ca)[0]]
        return a + ["--servername", name] if name else a

    def test_check_and_download_over_https(self):
        st, body, _ = self.s.req("POST", "/api/v1/products/%s/devices/tls-1/commands" % nl.PRODUCT,
                                 {"type": "upgrade", "release": "5.0.0"}, token=self.owner)
        self.assertEqual(st, 201, body)
        dump = os.path.join(self.d, "tls.bin")
        r = nl.netpull("update", "--server", self.s.url, "--token", self.tok, "--version", "1.0.0", "--key", nl.KEY_DER,
                       "--product", nl.PRODUCT, "--dump", dump, *self.tls_args())
        self.assertEqual((r.rc, r.result, r.v["state_after"]), (0, "OTA_OK", "new"), r)
        self.assertTrue(r.v["url"].startswith("https://"), r)
        with open(dump, "rb") as f:
            self.assertEqual(f.read(), self.img)
        # by host name: the certificate's name is checked against the URL's host
        url = "https://localhost:%d/api/v1/artifacts/%s" % (self.s.port, self.sha)
        r = nl.netpull("pull", *nl.pull_args(url, self.img, extra=["--token", self.tok, *self.tls_args(name=None)]))
        self.assertEqual((r.result, r.v["state_after"]), ("OTA_OK", "new"), r)

    def test_untrusted_server_is_refused(self):
        url = self.s.url + "/api/v1/artifacts/" + self.sha
        for what, args in (("certificate from another CA", self.tls_args(ca=self.other_ca)),
                           ("certificate for another name", self.tls_args(name="ota.example.com"))):
            r = nl.netpull("pull", *nl.pull_args(url, self.img, extra=["--token", self.tok, *args]))
            self.assertEqual((r.rc, r.result, r.stats["requests"]), (1, "OTA_ERR_TLS", 1), (what, r))
            self.assertEqual(r.v["state_after"], "none", (what, r))
            r = nl.netpull("check", "--server", self.s.url, "--token", self.tok, "--version", "1.0.0", *args)
            self.assertEqual(r.result, "OTA_ERR_TLS", (what, r))
        # a server presenting a certificate of another CA for the right name (man in the middle)
        with nl.FakeServer(lambda req, i: nl.serve_file(req, self.img, '"x"'), tls=self.rogue) as mitm:
            r = nl.netpull("pull", *nl.pull_args(mitm.url + "/fw", self.img, extra=self.tls_args()))
            self.assertEqual((r.result, mitm.requests), ("OTA_ERR_TLS", []), r)  # no request was ever sent

    def test_resume_over_tls(self):
        etag = '"%s"' % self.sha
        cuts = [7000, 14000, 20000]  # bytes of each answer before the connection drops
        with nl.FakeServer(lambda req, i: nl.Answer(nl.serve_file(req, self.img, etag),
                                                    cut=cuts[i] if i < len(cuts) else None), tls=self.cert) as srv:
            r = nl.netpull("pull", *nl.pull_args(srv.url + "/fw", self.img, extra=self.tls_args()))
            ranges = [q.headers.get("range") for q in srv.requests]
        self.assertEqual((r.result, r.v["state_after"]), ("OTA_OK", "new"), r)
        self.assertEqual((r.stats["resumes"], r.stats["restarts"]), (3, 0), r)
        self.assertEqual(ranges[0], None)
        self.assertTrue(all(x.startswith("bytes=") for x in ranges[1:]), ranges)

    def test_no_step_down_to_http(self):
        with nl.FakeServer(lambda req, i: nl.response(302, b"", ["Location: http://127.0.0.1:1/fw"]),
                           tls=self.cert) as srv:
            r = nl.netpull("get", "--url", srv.url + "/fw", "--redirects", 3, *self.tls_args())
        self.assertEqual(r.result, "OTA_ERR_REDIRECT", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
