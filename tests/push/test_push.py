"""Push endpoints on the device (device/net/push.c) over real loopback HTTP: raw POST (Mongoose),
multipart POST /update (ESP8266HTTPUpdateServer), commit, rollback, status; token and Basic auth;
an unauthenticated request changes nothing (the flash file is byte-identical afterwards)."""
import base64
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

HOST = os.environ.get("PUSH_HOST", "build/tests/push/push_host")
CLI = os.environ.get("OTAKIT_CLI", "build/tools/otakit")
TOKEN = "push-token-0123456789"
BASIC = base64.b64encode(b"admin:s3cret").decode()


class PushDevice(unittest.TestCase):
    """A push_host device on a fresh flash (1.0.0 running) and the helpers to talk to it."""
    host_args = ()

    def setUp(self):
        self.d = tempfile.mkdtemp(prefix="otakit-push-")
        run = lambda *a: subprocess.run([CLI, *a], check=True, capture_output=True)
        run("keygen", "-k", self.p("k.pem"), "--pub", self.p("k.pub"))
        run("keygen", "-k", self.p("other.pem"))
        for v, key in (("1.0.0", "k.pem"), ("2.0.0", "k.pem"), ("3.0.0", "k.pem"), ("9.0.0", "other.pem")):
            open(self.p("fw.bin"), "wb").write(hashlib.sha256(v.encode()).digest() * 300)
            run("sign", "-k", self.p(key), "-v", v, "--product", "acme", self.p("fw.bin"), self.p(v + ".img"))
        self.proc = subprocess.Popen([HOST, "--flash", self.p("flash.bin"), "--factory", self.p("1.0.0.img"), "--key",
                                      self.p("k.pub"), "--token", TOKEN, "--basic", BASIC, *self.host_args, *self.net_args()],
                                     stdout=subprocess.PIPE, stderr=open(self.p("stderr.txt"), "w"), text=True)
        first = self.proc.stdout.readline()
        self.assertIn("version=1.0.0+0", first)
        self.port = int(self.proc.stdout.readline().split()[1])
        if "--aota-port" in self.host_args:
            self.aota_port = int(self.proc.stdout.readline().split()[1])

    def tearDown(self):
        alive = self.proc.poll() is None
        self.proc.kill()
        self.proc.wait()
        with open(self.p("stderr.txt")) as f:
            err = f.read()
        shutil.rmtree(self.d)
        # a sanitizer report (ASan, UBSan) fails the test even when the host survived it
        self.assertNotIn("runtime error", err)
        self.assertNotIn("Sanitizer", err)
        self.assertNotIn("w5500 violation", err)  # the W5500 emulator saw a frame or pointer rule broken
        self.assertTrue(alive, err)

    def raw(self, data, timeout=20):
        """Sends data on a fresh connection and returns the answer read until the device closes."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            out += b
        s.close()
        self.served = self.proc.stdout.readline()
        return out

    def net_args(self):
        return []

    def p(self, name):
        return os.path.join(self.d, name)

    def req(self, method, path, body=None, headers=None, auth="token"):
        h = dict(headers or {})
        if auth == "token":
            h["Authorization"] = "Bearer " + TOKEN
        elif auth == "basic":
            h["Authorization"] = "Basic " + BASIC
        elif auth:
            h["Authorization"] = auth
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        self.served = self.proc.stdout.readline()
        return r.status, data.decode(errors="replace"), {k.lower(): v for k, v in r.getheaders()}

    def boot_line(self):
        return self.proc.stdout.readline()

    def status(self):
        st, body, _ = self.req("GET", "/api/ota/status")
        self.assertEqual(st, 200)
        return json.loads(body)

    def flash_sha(self):
        return hashlib.sha256(open(self.p("flash.bin"), "rb").read()).hexdigest()

    def multipart(self, image, field="firmware"):
        b = "----otakitboundary7MA4YWxk"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"fw.bin\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n" % (b, field)).encode() + image + \
            ("\r\n--%s--\r\n" % b).encode()
        return body, {"Content-Type": "multipart/form-data; boundary=" + b}


class Push(PushDevice):
    def test_unauthenticated_requests_change_nothing(self):
        before = self.flash_sha()
        img = open(self.p("2.0.0.img"), "rb").read()
        for auth in (None, "Bearer wrong-token", "Basic " + base64.b64encode(b"admin:nope").decode()):
            for path in ("/api/ota/update", "/update", "/api/ota/commit", "/api/ota/rollback"):
                st, body, h = self.req("POST", path, img, auth=auth)
                self.assertEqual(st, 401, (auth, path))
                self.assertEqual(h["www-authenticate"], 'Basic realm="Login Required"')
            self.assertEqual(self.req("GET", "/api/ota/status", auth=auth)[0], 401)
        self.assertEqual(self.flash_sha(), before)

    def test_raw_push_commit(self):
        img = open(self.p("2.0.0.img"), "rb").read()
        st, body, _ = self.req("POST", "/api/ota/update", img)
        self.assertEqual((st, body), (200, "ok\n"))
        self.assertIn("version=2.0.0+0 state=testing", self.boot_line())
        self.assertEqual(self.status()["state"], "testing")
        self.assertEqual(self.req("POST", "/api/ota/commit", b"")[:2], (200, "ok\n"))
        s = self.status()
        self.assertEqual((s["state"], s["version"]), ("confirmed", "2.0.0+0"))

    def test_multipart_push_and_rollback_with_basic_auth(self):
        body, h = self.multipart(open(self.p("3.0.0.img"), "rb").read())
        st, text, _ = self.req("POST", "/update", body, headers=h, auth="basic")
        self.assertEqual((st, text), (200, "<META http-equiv=\"refresh\" content=\"15;URL=/\">Update Success! Rebooting..."))
        self.assertIn("version=3.0.0+0 state=testing", self.boot_line())
        self.assertEqual(self.req("POST", "/api/ota/rollback", b"", auth="basic")[:2], (200, "ok\n"))
        self.assertIn("version=1.0.0+0 state=failed", self.boot_line())

    def test_bad_images_are_refused_and_nothing_is_marked(self):
        bad = open(self.p("9.0.0.img"), "rb").read()
        st, text, _ = self.req("POST", "/api/ota/update", bad)
        self.assertEqual(st, 500)  # as mg_http_start_ota's default callback answers a failure
        self.assertIn("not trusted", text)
        body, h = self.multipart(bad)
        st, text, _ = self.req("POST", "/update", body, headers=h)
        self.assertEqual(st, 200)
        self.assertTrue(text.startswith("Update error: "), text)
        s = self.status()
        self.assertEqual((s["version"], s["state"]), ("1.0.0+0", "none"))
        body, h = self.multipart(open(self.p("2.0.0.img"), "rb").read(), field="filesystem")
        self.assertTrue(self.req("POST", "/update", body, headers=h)[1].startswith("Update error"))

    def test_longest_multipart_boundary(self):
        """RFC 2046 allows 70 boundary characters: parsed (before authentication) without writing past
        the device's buffer, and 71 are refused with 400."""
        for n, want in ((70, b"HTTP/1.1 401 "), (71, b"HTTP/1.1 400 ")):
            ans = self.raw(b"POST /update HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=" + b"0" * n +
                           b"\r\nContent-Length: 0\r\n\r\n")
            self.assertTrue(ans.startswith(want), (n, ans[:40]))
        img = open(self.p("2.0.0.img"), "rb").read()
        b = "B" * 70
        body = ("--%s\r\nContent-Disposition: form-data; name=\"firmware\"; filename=\"fw.bin\"\r\n\r\n" % b).encode() + \
            img + ("\r\n--%s--\r\n" % b).encode()
        st, text, _ = self.req("POST", "/update", body, headers={"Content-Type": "multipart/form-data; boundary=" + b})
        self.assertEqual((st, text), (200, "<META http-equiv=\"refresh\" content=\"15;URL=/\">Update Success! Rebooting..."))
        self.assertIn("version=2.0.0+0 state=testing", self.boot_line())

    big = 16 << 20  # more than loopback's socket buffers hold: the client blocks until it is read

    def test_answers_reach_a_client_still_sending(self):
        """Answers given before the body is used (405 and 404 with a body, 401, a 400 head, 411, the
        end of a multipart upload) are followed by reading the body, as a client that sends all of
        it before reading (Python's http.client, curl with a small body) needs: the whole answer,
        then a clean end of the connection (FIN), never a reset. Small bodies and 16 MiB ones."""
        bearer = "Authorization: Bearer %s\r\n" % TOKEN
        cases = (("POST /api/ota/status", bearer, b"HTTP/1.1 405 ", b"use GET", 1),
                 ("PUT /nope", bearer, b"HTTP/1.1 404 ", b"not found", 1),
                 ("POST /api/ota/update", "", b"HTTP/1.1 401 ", b"authentication required", 1),
                 ("POST /update", "Authorization: Bearer wrong\r\n", b"HTTP/1.1 401 ", b"authentication required",
                  1),
                 ("POST /api/ota/update", "Content-Length: nine\r\n", b"HTTP/1.1 400 ", b"bad request", 0))
        for line, extra, status, text, big in cases:
            for n in (3000, self.big) if big else (3000,):
                length = "Content-Length: %d\r\n" % n if "Content-Length" not in extra else ""
                ans = self.raw(("%s HTTP/1.1\r\n%s%s\r\n" % (line, extra, length)).encode() + b"\0" * n)
                self.assertTrue(ans.startswith(status) and ans.endswith(text), (line, n, ans[:60]))
        ans = self.raw(("POST /api/ota/update HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n\r\n" % bearer).encode() +
                       b"800\r\n" + b"\0" * 0x800 + b"\r\n0\r\n\r\n")
        self.assertTrue(ans.startswith(b"HTTP/1.1 411 "), ans[:60])
        body, h = self.multipart(open(self.p("2.0.0.img"), "rb").read())
        ans = self.raw(("POST /update HTTP/1.1\r\n%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n" %
                        (bearer, h["Content-Type"], len(body))).encode() + body)
        self.assertTrue(ans.startswith(b"HTTP/1.1 200 ") and ans.endswith(b"Update Success! Rebooting..."), ans[:60])
        self.assertIn("version=2.0.0+0 state=testing", self.boot_line())

    def test_authorization_at_the_end_of_the_line_buffer(self):
        """An Authorization value whose last byte is the last byte the 512-byte line buffer holds:
        the scheme compare must stop at the end of the value, not read past the buffer (509 bytes
        and the CR fill the buffer, the NUL goes where the LF was)."""
        for scheme in (b"B", b"Be", b"Bearer", b"Bas", b"b"):
            pad = 509 - len(b"Authorization:") - len(scheme)
            ans = self.raw(b"POST /api/ota/rollback HTTP/1.1\r\nAuthorization:" + b" " * pad + scheme +
                           b"\r\nContent-Length: 0\r\n\r\n")
            self.assertTrue(ans.startswith(b"HTTP/1.1 401 "), (scheme, ans[:40]))
        self.assertEqual(self.status()["state"], "none")

    def test_idle_client_does_not_block_the_next(self):
        """A client that connects and sends nothing is dropped after the head deadline (3 s in
        push_host), and the next client is served."""
        idle = socket.create_connection(("127.0.0.1", self.port))
        t = time.time()
        self.assertEqual(self.status()["state"], "none")
        self.assertLess(time.time() - t, 8)
        idle.settimeout(1)
        self.assertEqual(idle.recv(100), b"")  # closed by the device
        idle.close()

    def test_dripping_head_is_cut_at_the_deadline(self):
        """One byte of a never-ending head every 0.3 s: each arrives well within the read timeout,
        but the whole head must be in within the head deadline, so a waiting client is served."""
        drip = socket.create_connection(("127.0.0.1", self.port))
        stop = threading.Event()

        def dribble():
            data = b"GET /api/ota/status HTTP/1.1\r\nX-Pad: " + b"a" * 1000
            for b in data:
                if stop.wait(0.3):
                    return
                try:
                    drip.send(bytes([b]))
                except OSError:
                    return
        th = threading.Thread(target=dribble, daemon=True)
        th.start()
        time.sleep(0.5)
        t = time.time()
        try:
            self.assertEqual(self.status()["state"], "none")
            self.assertLess(time.time() - t, 8)
        finally:
            stop.set()
            th.join()
            drip.close()

    def test_form_and_routing(self):
        st, page, h = self.req("GET", "/update")
        self.assertEqual((st, h["content-type"]), (200, "text/html"))
        self.assertIn("multipart/form-data", page)
        self.assertIn("name='firmware'", page)
        self.assertEqual(self.req("GET", "/nope")[0], 404)
        self.assertEqual(self.req("GET", "/api/ota/update")[0], 405)
        self.assertEqual(self.req("POST", "/api/ota/status", b"")[0], 405)


class PushOverW5500(Push):
    """Every push case again with the device's network on the W5500 route (push_host --w5500): the
    driver's listening sockets (ota_w5500_listen/accept) on the strict emulator, RX arriving in random
    sizes of 1..700 bytes with torn Sn_RX_RSR reads; the emulator must see no rule broken."""

    def net_args(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return ["--port", str(port), "--w5500", "torn,chunk=700,seed=5"]

    big = 1 << 18  # the emulated SPI moves 1 MiB in about 1 s: well within the 2 s a 401 reads for

    def test_idle_client_does_not_block_the_next(self):
        """Two chip sockets listen: the next client may be served before or after the idle one, which
        is dropped at the head deadline either way."""
        idle = socket.create_connection(("127.0.0.1", self.port))
        t = time.time()
        self.assertEqual(self.status()["state"], "none")
        self.assertLess(time.time() - t, 8)
        idle.settimeout(8)
        self.assertEqual(idle.recv(100), b"")  # closed by the device
        idle.close()


if __name__ == "__main__":
    unittest.main()
