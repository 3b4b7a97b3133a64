"""Requests libmicrohttpd itself refuses, before any route sees them, answer with the same JSON
errors as the rest of the API (not its built-in HTML pages): a malformed or overflowing
Content-Length, a request head or request line too large for the connection's buffer, a malformed
request line, an HTTP version the server does not speak, a malformed chunked body. Each is sent
over a raw socket, since no HTTP client library would send it."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import Server, raw_response  # noqa: E402


class MhdErrors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def expect(self, data, status, code):
        st, body, headers = raw_response(self.s.port, data)
        self.assertEqual(st, status, body[:200])
        self.assertTrue(headers.get("content-type", "").startswith("application/json"), (headers, body[:200]))
        doc = json.loads(body)
        self.assertEqual(set(doc), {"error"})
        self.assertEqual(doc["error"]["code"], code)
        self.assertTrue(doc["error"]["message"])
        self.assertEqual(headers.get("connection", "").lower(), "close")
        return doc

    def test_malformed_content_length(self):
        for cl in (b"abc", b"12x", b"-1", b""):
            with self.subTest(content_length=cl):
                self.expect(b"POST /api/v1/products HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl + b"\r\n\r\n",
                            400, "bad_content_length")

    def test_content_length_beyond_64_bits(self):
        self.expect(b"POST /api/v1/products HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                    413, "too_large")

    def test_request_head_too_large(self):
        self.expect(b"GET /api/v1/products HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n",
                    431, "head_too_large")

    def test_request_line_too_large(self):
        self.expect(b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long")

    def test_malformed_request_line(self):
        self.expect(b"GET / HTTP/x.y\r\nHost: x\r\n\r\n", 400, "bad_request")

    def test_unsupported_http_version(self):
        self.expect(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported")

    def test_malformed_chunked_body(self):
        st, body, _ = raw_response(self.s.port, b"POST /api/v1/products HTTP/1.1\r\nHost: x\r\n"
                                                b"Authorization: Bearer " + self.s.admin.encode() +
                                   b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n")
        self.assertEqual((st, json.loads(body)["error"]["code"]), (400, "bad_request"))

    def test_the_server_still_answers(self):
        st, body, _ = raw_response(self.s.port, b"GET /api/v1/products HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual((st, json.loads(body)["error"]["code"]), (401, "unauthorized"))


if __name__ == "__main__":
    unittest.main()
