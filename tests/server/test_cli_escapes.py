"""Terminal escapes from devices never reach the operator's terminal through the otakit CLI.

A device speaking the ESP8266 HTTP update protocol reports its version in a header the server
stores as it is; here it carries ESC[2J (clear screen), CR, BEL, DEL and a C1 CSI. `otakit device
list` (a table), `device show` (indented JSON) and `--json` must print no raw control byte, and
--json must still be valid JSON that decodes to the very string the device sent. A stub server
answering with hostile JSON covers the table cells and the error line too, whatever the real
server accepts."""
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import CLI, Server  # noqa: E402

HOSTILE = "v1\x1b[2J\x1b]0;pwned\x07\rX\x7f\u009b31m"
# C0 controls but newline, DEL and C1 controls (U+0080..U+009F); output must also be UTF-8 (so no
# raw 8-bit C1 byte either)
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
MAC = "18:FE:AA:AA:AA:01"


def esp_checkin(port, product, version):
    """One ESP8266 update check-in with raw header bytes (as a device sends them)."""
    hdrs = {"User-Agent": "ESP8266-http-Update", "x-ESP8266-STA-MAC": MAC, "x-ESP8266-AP-MAC": "1A:FE:AA:AA:AA:01",
            "x-ESP8266-free-space": "100000", "x-ESP8266-sketch-size": "1000",
            "x-ESP8266-sketch-md5": "0" * 32, "x-ESP8266-chip-size": "4194304", "x-ESP8266-sdk-version": "2.2",
            "x-ESP8266-mode": "sketch", "x-ESP8266-version": version, "Connection": "close"}
    req = "GET /api/v1/esp/%s/update HTTP/1.1\r\nHost: x\r\n" % product
    req = req.encode() + b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in hdrs.items()) + b"\r\n"
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(req)
        return s.recv(4096).split(b" ", 2)[1]


def cli(url, token, *args):
    env = dict(os.environ, OTAKIT_SERVER_URL=url, OTAKIT_TOKEN=token)
    return subprocess.run([CLI, *args], env=env, capture_output=True, timeout=60)


class CliEscapes(unittest.TestCase):
    def assertClean(self, out, what):
        m = RAW_CONTROL.search(out.decode("utf-8"))
        self.assertIsNone(m, "%s printed a raw control byte %r in %r" % (what, m and m.group(), out))

    def test_device_strings_are_escaped(self):
        with Server() as s:
            owner = s.product("esc")["owner_token"]
            self.assertIn(esp_checkin(s.port, "esc", HOSTILE), (b"304", b"200"))
            st, body, _ = s.req("GET", "/api/v1/products/esc/devices", token=owner)
            self.assertEqual(st, 200, body)
            stored = [d["version"] for d in body["devices"] if d["device_id"] == MAC]
            self.assertEqual(len(stored), 1, body)

            r = cli(s.url, owner, "device", "list", "--product", "esc")
            self.assertEqual(r.returncode, 0, r)
            self.assertIn(MAC.encode(), r.stdout)
            self.assertClean(r.stdout, "device list")
            if stored[0] == HOSTILE:  # the server kept the bytes: the CLI shows them escaped
                self.assertIn(b"v1\\u001b[2J\\u001b]0;pwned\\u0007\\u000dX\\u007f\\u009b31m", r.stdout)

            r = cli(s.url, owner, "device", "show", "--product", "esc", MAC)
            self.assertEqual(r.returncode, 0, r)
            self.assertClean(r.stdout, "device show")
            self.assertEqual(json.loads(r.stdout)["version"], stored[0])

            r = cli(s.url, owner, "device", "list", "--product", "esc", "--json")
            self.assertEqual(r.returncode, 0, r)
            self.assertClean(r.stdout, "device list --json")
            self.assertEqual([d["version"] for d in json.loads(r.stdout)["devices"]], stored)

    def test_hostile_server_answers_are_escaped(self):
        class Stub(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.endswith("/devices"):
                    st, body = 200, {"devices": [{"device_id": "d\x1b[2J", "version": HOSTILE, "slot": 0,
                                                  "state": "idle\r\x07", "last_seen": 1}]}
                else:
                    st, body = 404, {"error": {"code": "nope\x1b[31m", "message": "gone\x1b]0;t\x07\u009b1m"}}
                data = json.dumps(body).encode()
                self.send_response(st)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        srv = http.server.HTTPServer(("127.0.0.1", 0), Stub)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            url = "http://127.0.0.1:%d" % srv.server_port
            r = cli(url, "t", "device", "list", "--product", "p")
            self.assertEqual(r.returncode, 0, r)
            self.assertClean(r.stdout, "device list table")
            self.assertIn(b"d\\u001b[2J", r.stdout)
            self.assertIn(b"idle\\u000d\\u0007", r.stdout)
            r = cli(url, "t", "device", "show", "--product", "p", "x")
            self.assertEqual(r.returncode, 1, r)
            self.assertClean(r.stderr, "the server's error line")
            self.assertIn(b"server said 404 nope\\u001b[31m: gone\\u001b]0;t\\u0007\\u009b1m", r.stderr)
        finally:
            srv.shutdown()
            srv.server_close()


if __name__ == "__main__":
    unittest.main()
