"""Helpers of the network tests: run netpull (the simulated device, tests/net/netpull.c), sign
images, make a CA and certificates with openssl, ReleaseCase (a real otakit-server with one signed
release, the fixture of the tests against it), the W5500 emulator's verdict as netpull and
otakit-device print it, and FakeServer: a loopback HTTP(S) server whose every answer a test scripts
(cut the connection after N bytes, ignore Range, change the file, stall, redirect, send oversized
headers...). Standard library only.
"""
import hashlib
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from otaserver import CLI, VECTORS, Server, sign  # noqa: E402,F401

NETPULL = os.environ.get("NETPULL", "build/tests/net/netpull")
KEY_DER = os.path.join(VECTORS, "ec256-pub.der")
PRODUCT = "net-dev"


class Result:
    """What netpull printed: rc, the "key value" lines as a dict, and the raw output."""

    def __init__(self, proc, elapsed):
        self.rc, self.out, self.err, self.elapsed = proc.returncode, proc.stdout, proc.stderr, elapsed
        self.v = {}
        self.commands = []
        for line in proc.stdout.splitlines():
            k, _, rest = line.partition(" ")
            if k == "command":
                self.commands.append(rest.split(" "))
            else:
                self.v[k] = rest
        self.stats = {}
        for kv in self.v.get("stats", "").split():
            k, _, val = kv.partition("=")
            self.stats[k] = int(val) if val.isdigit() else val

    @property
    def result(self):
        return self.v.get("result")

    def __repr__(self):
        return "netpull rc=%s\n%s%s" % (self.rc, self.out, self.err)


def netpull(cmd, *args, timeout=120):
    t = time.time()
    p = subprocess.run([NETPULL, cmd, *[str(a) for a in args]], capture_output=True, text=True, timeout=timeout)
    return Result(p, time.time() - t)


def pull_args(url, img=None, sha=None, size=None, flash=None, extra=()):
    """Arguments of `netpull pull` for an image of this product, pinned by default to img's hash."""
    a = ["--url", url, "--key", KEY_DER, "--product", PRODUCT]
    if img is not None:
        a += ["--size", size if size is not None else len(img)]
        if sha is not False:
            a += ["--sha", sha or hashlib.sha256(img).hexdigest()]
    if flash:
        a += ["--flash", flash]
    return a + list(extra)


def make_image(version, size=80000, seed=1):
    """A signed image of PRODUCT with a pseudo-random payload of size bytes (image: size + 213 bytes)."""
    payload = random.Random(seed).randbytes(size)
    return sign(payload, version, extra=["--product", PRODUCT, "--pad-sig"])  # same size, same image size


def write_tmp(d, name, data):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


class ReleaseCase(unittest.TestCase):
    """A real otakit-server (tests/server/otaserver.py) with PRODUCT and one uploaded release of
    make_image(VERSION, SIZE, SEED): cls.s, cls.owner, cls.enroll, cls.img, cls.sha, cls.img_path
    (in the scratch directory cls.d), cls.art_url (its artifact's URL)."""
    VERSION, SIZE, SEED = "2.0.0", 90000, 11

    @classmethod
    def setUpClass(cls):
        cls.d = tmpdir()
        cls.s = Server().start()
        p = cls.s.product(PRODUCT)
        cls.owner, cls.enroll = p["owner_token"], p["enroll_token"]
        cls.img = make_image(cls.VERSION, size=cls.SIZE, seed=cls.SEED)
        cls.sha = hashlib.sha256(cls.img).hexdigest()
        cls.img_path = write_tmp(cls.d, "fw.img", cls.img)
        st, rel, _ = cls.s.req("POST", "/api/v1/products/%s/releases" % PRODUCT, cls.img, token=cls.owner)
        assert st == 201, (st, rel)
        cls.art_url = cls.s.url + "/api/v1/artifacts/" + cls.sha

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.d, ignore_errors=True)

    def device(self, name):
        """Registers the device with the enrollment token (version 1.0.0 in slot 0): its token."""
        st, body, _ = self.s.req("POST", "/api/v1/device/register", {"device_id": name, "hw_rev": "a", "version": "1.0.0",
                                                                     "slot": 0}, token=self.enroll)
        self.assertEqual(st, 201, body)
        return body["device_token"]

    def offer(self, name):
        """Queues an upgrade to the release for the device: its next check delivers the manifest."""
        st, body, _ = self.s.req("POST", "/api/v1/products/%s/devices/%s/commands" % (PRODUCT, name),
                                 {"type": "upgrade", "release": self.VERSION}, token=self.owner)
        self.assertEqual(st, 201, body)
        return body["command"]


def w5500_verdicts(out):
    """The W5500 emulator's verdicts in a program's output (one per power-on of the chip): a list of
    (violations, {stat: value}) from the "w5500_violations N" and "w5500_stats k=v ..." lines."""
    v = [int(x) for x in re.findall(r"^w5500_violations (\d+)$", out, re.M)]
    st = [dict(kv.split("=") for kv in line.split()) for line in re.findall(r"^w5500_stats (.*)$", out, re.M)]
    return list(zip(v, st))


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(d, name):
    """A self-signed P-256 CA: (cert path, key path)."""
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", cert, "-days", "2", "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def make_cert(d, name, ca, cn="127.0.0.1"):
    """A server certificate for cn signed by ca=(cert, key): (cert path, key path)."""
    cert, key, csr = (os.path.join(d, name + ext) for ext in (".pem", ".key", ".csr"))
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=%s\n" %
                ("IP:" + cn if cn[0].isdigit() else "DNS:" + cn))
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=" + cn)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial", "-out", cert, "-days", "2",
            "-extfile", ext)
    return cert, key


# ---- HTTP answers ---------------------------------------------------------------------------

REASONS = {200: "OK", 206: "Partial Content", 302: "Found", 404: "Not Found", 416: "Range Not Satisfiable",
           500: "Internal Server Error", 503: "Service Unavailable"}


def response(status, body=b"", headers=(), chunked=False, rng=None, length=True):
    """Bytes of a whole HTTP/1.1 answer; chunked bodies are cut in random chunk sizes."""
    h = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "X"))] + list(headers)
    if chunked:
        h.append("Transfer-Encoding: chunked")
        rng = rng or random.Random(5)
        out, i = b"", 0
        while i < len(body):
            n = rng.randint(1, 3000)
            ext = ";x=1" if rng.random() < 0.2 else ""
            out += b"%x%s\r\n" % (len(body[i:i + n]), ext.encode()) + body[i:i + n] + b"\r\n"
            i += n
        body = out + b"0\r\nX-Trailer: t\r\n\r\n"
    elif length:
        h.append("Content-Length: %d" % len(body))
    h.append("Connection: close")
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def serve_file(req, data, etag, honour_range=True, chunked=False):
    """Answers a GET of data as an otakit server does: Range "bytes=N-" with If-Range, 206/200/416."""
    hdrs = ['ETag: %s' % etag, "Accept-Ranges: bytes"] if etag else []
    rng, ifr = req.headers.get("range"), req.headers.get("if-range")
    if honour_range and rng and rng.startswith("bytes=") and rng.endswith("-") and (ifr is None or ifr == etag):
        start = int(rng[6:-1])
        if start >= len(data):
            return response(416, b"", hdrs + ["Content-Range: bytes */%d" % len(data)])
        return response(206, data[start:], hdrs + ["Content-Range: bytes %d-%d/%d" % (start, len(data) - 1, len(data))],
                        chunked=chunked)
    return response(200, data, hdrs, chunked=chunked)


def head_len(raw):
    return raw.index(b"\r\n\r\n") + 4


class Answer:
    """What FakeServer sends: data, cut after `cut` bytes (then close), or stall for `stall` seconds
    after sending data (the connection stays silent); with `drip`, the body after the head goes one
    byte every `drip` seconds."""

    def __init__(self, data=b"", cut=None, stall=0.0, drip=0.0):
        self.data, self.cut, self.stall, self.drip = data, cut, stall, drip


class Request:
    def __init__(self, raw):
        self.raw = raw
        lines = raw.decode("latin-1").split("\r\n")
        self.method, self.path, self.version = lines[0].split(" ")
        self.headers = {}
        for ln in lines[1:]:
            if ln:
                k, _, v = ln.partition(":")
                self.headers[k.strip().lower()] = v.strip()


class FakeServer:
    """Loopback HTTP(S) server: handler(request, index) -> Answer (or bytes) for each request.
    requests lists every request received; sent lists the bytes sent for each."""

    def __init__(self, handler, tls=None):
        self.handler, self.requests, self.sent = handler, [], []
        self.ctx = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(*tls)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.lock = threading.Lock()
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            if self.ctx:
                c.settimeout(10)
                c = self.ctx.wrap_socket(c, server_side=True)
            c.settimeout(30)
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            req = Request(buf[:buf.index(b"\r\n\r\n")])
            with self.lock:
                idx = len(self.requests)
                self.requests.append(req)
            ans = self.handler(req, idx)
            if isinstance(ans, bytes):
                ans = Answer(ans)
            data = ans.data if ans.cut is None else ans.data[:ans.cut]
            with self.lock:
                self.sent.append(data)
            if ans.drip:
                n = head_len(data)
                c.sendall(data[:n])
                for i in range(n, len(data)):
                    time.sleep(ans.drip)
                    c.sendall(data[i:i + 1])
            else:
                c.sendall(data)
            if ans.stall:
                time.sleep(ans.stall)
        except (OSError, ssl.SSLError):
            pass
        finally:
            c.close()

    def close(self):
        self.stopping = True
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def upstream(port, raw):
    """Sends a raw request to 127.0.0.1:port and returns the whole raw answer (until close)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(raw)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out


def tmpdir():
    return tempfile.mkdtemp(prefix="otakit-net-")
