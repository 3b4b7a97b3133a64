"""Test harness for otakit-server: starts a real server on a free loopback port with its own data
directory, and makes HTTP requests to it (stdlib only: http.client, json, subprocess).

    with Server() as s:
        st, body = s.req("GET", "/api/v1/products", token=s.admin)

Environment: OTAKIT_SERVER (path to the binary), OTAKIT_CLI (path to otakit), OTAKIT_VECTORS.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SERVER = os.environ.get("OTAKIT_SERVER", "build/server/otakit-server")
CLI = os.environ.get("OTAKIT_CLI", "build/tools/otakit")
VECTORS = os.environ.get("OTAKIT_VECTORS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "imgtool"))


class Server:
    def __init__(self, data=None, args=(), env=None):
        self.own_data = data is None
        self.data = data or tempfile.mkdtemp(prefix="otakit-test-")
        self.args = list(args)
        self.env = env
        self.proc = None

    def start(self):
        self.log_path = os.path.join(self.data, "server.log")
        self.log = open(self.log_path, "ab")
        start_at = self.log.tell()  # only this run's lines count
        self.proc = subprocess.Popen([SERVER, "--listen", "127.0.0.1:0", "--data", self.data] + self.args,
                                     stderr=self.log, stdout=self.log, env=self.env)
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(start_at)
                m = re.findall(rb"otakit-server started\" url=(\S+) port=(\d+)", f.read())
            if m:
                self.url = m[-1][0].decode()
                self.port = int(m[-1][1])
                break
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + open(self.log_path).read())
            time.sleep(0.02)
        else:
            raise RuntimeError("server did not start: " + open(self.log_path).read())
        tok = os.path.join(self.data, "admin.token")
        self.admin = None
        if os.path.exists(tok):
            with open(tok) as f:
                self.admin = f.read().strip()
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self.own_data:
            shutil.rmtree(self.data, ignore_errors=True)

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def req(self, method, path, body=None, token=None, headers=None, raw=False):
        """One request. body: dict (sent as JSON), bytes, or None. Returns (status, parsed JSON or bytes, headers)."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = self.conn()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        if not raw and hdrs.get("content-type", "").startswith("application/json") and data:
            data = json.loads(data)
        return r.status, data, hdrs

    # ---- fixtures ----------------------------------------------------------------------
    def product(self, product_id="acme-x1", key=None, **fields):
        """Creates a product signed by key (PEM path; default the imgtool vectors key), with any
        other fields of the request (version_rule=...). Returns its JSON."""
        key = key or os.path.join(VECTORS, "ec256-pub.pem")
        pem = subprocess.run([CLI, "getpub", "-k", key, "-e", "pem"], check=True, capture_output=True).stdout
        fields.update({"product_id": product_id, "name": product_id, "public_key": pem.decode()})
        st, body, _ = self.req("POST", "/api/v1/products", fields, token=self.admin)
        assert st == 201, (st, body)
        return body


def raw_response(port, data, timeout=10, src="127.0.0.1"):
    """Sends data (bytes, any HTTP or not) on a new connection; returns (status or None, body bytes,
    {lowercase header: value}) of what comes back."""
    return raw_exchange(port, data, timeout, src)[1:]


def raw_exchange(port, data, timeout=10, src="127.0.0.1"):
    """raw_response() with the status line first: (status line or "", status or None, body,
    {lowercase header: value})."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))
    try:
        sock.sendall(data)
        got = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got:
                head, _, body = got.partition(b"\r\n\r\n")
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
    finally:
        sock.close()
    if not got:
        return "", None, b"", {}
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return lines[0], int(lines[0].split(" ")[1]), body, headers


def raw(port, data, timeout=10, src="127.0.0.1"):
    """raw_response() without the headers: (status or None, body bytes)."""
    return raw_response(port, data, timeout, src)[:2]


def sign(payload, version, key=None, out_dir=None, extra=()):
    """Signs payload bytes with otakit sign; returns the image bytes."""
    key = key or os.path.join(VECTORS, "ec256-key.pem")
    d = out_dir or tempfile.mkdtemp(prefix="otakit-img-")
    src, dst = os.path.join(d, "fw.bin"), os.path.join(d, "fw.img")
    open(src, "wb").write(payload)
    subprocess.run([CLI, "sign", "-k", key, "-v", version, *extra, src, dst], check=True, capture_output=True)
    data = open(dst, "rb").read()
    if out_dir is None:
        shutil.rmtree(d)
    return data
