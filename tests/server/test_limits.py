"""What an unauthenticated client can make the server hold: bodies on routes that take none,
oversized request heads, idle connections (per address and in all), the open-files limit, and
what an upload does when the disk is full. Each limit answers with a JSON error, never silence."""
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import Server, raw, raw_response, sign  # noqa: E402


def code_of(body):
    return json.loads(body)["error"]["code"]


class Bodies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(args=["--unauth-timeout", "2"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_body_on_a_bodyless_route_is_refused_before_it_is_read(self):
        """The head announces 1 MiB and no byte of it is sent: the answer comes at once (before,
        the server waited for the body it would buffer)."""
        for path in ("/_catalog?op=list&path=/", "/api/v1/products", "/api/v1/mongoose/x/ota.json?id=a"):
            t0 = time.time()
            st, body = raw(self.s.port, ("GET %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" % path)
                           .encode(), timeout=5)
            self.assertEqual((st, code_of(body)), (413, "body_not_allowed"), path)
            self.assertLess(time.time() - t0, 1.5, path)
        st, body = raw(self.s.port, b"GET /_catalog?op=list&path=/ HTTP/1.1\r\nHost: x\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n", timeout=5)
        self.assertEqual((st, code_of(body)), (413, "body_not_allowed"))
        # An empty body is no body.
        st, _ = raw(self.s.port, b"GET /_catalog?op=list&path=/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n")
        self.assertEqual(st, 200)

    def test_request_heads_are_capped(self):
        st, _ = raw(self.s.port, b"GET /_catalog?op=list&path=/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 +
                    b"\r\n\r\n")
        self.assertIn(st, (413, 431))

    def test_unauthenticated_connections_idle_out_sooner(self):
        """--unauth-timeout 2: a connection that sent half a head is closed after ~2 s; one whose
        request carried a valid token keeps the longer idle timeout."""
        a = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        a.sendall(b"GET /_catalog?op=list&path=/ HTTP/1.1\r\nHost: x\r\n")
        b = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        b.sendall(("GET /api/v1/products HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % self.s.admin)
                  .encode())
        self.assertIn(b" 200 ", b.recv(65536))
        t0 = time.time()
        self.assertEqual(a.recv(100), b"")  # closed by the server
        self.assertLess(time.time() - t0, 6)
        time.sleep(1)
        b.sendall(("GET /api/v1/products HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % self.s.admin)
                  .encode())
        self.assertIn(b" 200 ", b.recv(65536))
        a.close()
        b.close()


class Connections(unittest.TestCase):
    def test_per_address_limit_answers_503(self):
        with Server(args=["--max-connections-per-ip", "4"]) as s:
            idle = [socket.create_connection(("127.0.0.1", s.port), timeout=10) for _ in range(4)]
            time.sleep(0.2)
            st, body = raw(s.port, b"GET /_catalog?op=list&path=/ HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual((st, code_of(body)), (503, "overloaded"))
            # Another address is served; and once one idle connection goes, so is this one.
            st, _ = raw(s.port, b"GET /_catalog?op=list&path=/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        src="127.0.0.2")
            self.assertEqual(st, 200)
            idle.pop().close()
            time.sleep(0.2)
            st, _ = raw(s.port, b"GET /_catalog?op=list&path=/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertEqual(st, 200)
            for c in idle:
                c.close()

    def test_full_server_answers_503(self):
        with Server(args=["--max-connections", "5", "--max-connections-per-ip", "100"]) as s:
            idle = [socket.create_connection(("127.0.0.1", s.port), timeout=10) for _ in range(5)]
            time.sleep(0.2)
            st, body, h = raw_response(s.port, b"GET /_catalog?op=list&path=/ HTTP/1.1\r\nHost: x\r\n\r\n",
                                       src="127.0.0.3")
            self.assertEqual((st, code_of(body), h.get("retry-after")), (503, "overloaded", "5"))
            for c in idle:
                c.close()

    def test_open_files_limit_is_raised_to_the_hard_limit(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard <= 256:
            self.skipTest("the hard open-files limit (%d) leaves nothing to raise" % hard)
        s = Server()
        old = (soft, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # inherited by the server
        try:
            s.start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, old)
        try:
            limits = open("/proc/%d/limits" % s.proc.pid).read()
            line = [l for l in limits.splitlines() if l.startswith("Max open files")][0].split()
            self.assertEqual(int(line[3]), int(line[4]), line)
        finally:
            s.__exit__(None, None, None)


class DiskFull(unittest.TestCase):
    """An upload that does not fit is answered 507 insufficient_storage, and the server goes on."""

    def upload_too_big(self, s):
        p = s.product("full")
        image = sign(os.urandom(6 << 20), "1.0.0")
        st, body, _ = s.req("POST", "/api/v1/products/full/releases", image, token=p["owner_token"])
        self.assertEqual((st, body["error"]["code"]), (507, "insufficient_storage"), body)
        st, _, _ = s.req("GET", "/api/v1/products/full", token=p["owner_token"])
        self.assertEqual(st, 200)
        self.assertEqual(os.listdir(os.path.join(s.data, "tmp")), [])  # the partial upload is gone
        small = sign(b"small" * 100, "1.0.1")
        st, body, _ = s.req("POST", "/api/v1/products/full/releases", small, token=p["owner_token"])
        self.assertEqual(st, 201, body)

    def test_full_tmpfs(self):
        if os.geteuid() != 0 or not shutil.which("mount"):
            self.skipTest("mounting a small tmpfs needs root")
        d = tempfile.mkdtemp(prefix="otakit-full-")
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", d], capture_output=True).returncode:
            os.rmdir(d)
            self.skipTest("cannot mount a tmpfs here (no CAP_SYS_ADMIN in this container?)")
        try:
            s = Server(data=d)
            with s:
                self.upload_too_big(s)
        finally:
            subprocess.run(["umount", d])
            os.rmdir(d)

    def test_file_size_limit(self):
        """RLIMIT_FSIZE (inherited): the write fails with EFBIG, the same answer."""
        old = resource.getrlimit(resource.RLIMIT_FSIZE)
        s = Server()
        resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, old[1]))
        try:
            s.start()
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, old)
        try:
            self.upload_too_big(s)
        finally:
            s.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
