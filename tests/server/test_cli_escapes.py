"""Terminal escapes from devices never reach the operator's terminal through the otakit CLI.

Whatever a device once managed to store (the ESP8266 version header was kept as sent before the
server learnt to refuse it; an older database may still hold such text) is put straight into the
server's database here: a version that carries ESC[2J (clear screen), CR, BEL, DEL and a C1 CSI. `otakit device
list` (a table), `device show` (indented JSON) and `--json` must print no raw control byte, and
--json must still be valid JSON that decodes to the very string the device sent. A stub server
answering with hostile JSON covers the table cells and the error line too, whatever the real
server accepts."""
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import CLI, Server, db_connect  # noqa: E402

HOSTILE = "v1\x1b[2J\x1b]0;pwned\x07\rX\x7f\u009b31m"
# C0 controls but newline, DEL and C1 controls (U+0080..U+009F); output must also be UTF-8 (so no
# raw 8-bit C1 byte either)
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
MAC = "18:FE:AA:AA:AA:01"


def store_device(data, product, device_id, version):
    """A device row holding version as it is, written into the running server's SQLite file."""
    db = db_connect(data)
    try:
        with db:
            pid = db.execute("SELECT id FROM products WHERE product_id = ?", (product,)).fetchone()[0]
            db.execute("INSERT INTO devices(device_id, product, token_hash, version, version_value, created_at) "
                       "VALUES (?, ?, ?, ?, 0, 0)", (device_id, pid, "0" * 64, version))
    finally:
        db.close()


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
            store_device(s.data, "esc", MAC, HOSTILE)
            st, body, _ = s.req("GET", "/api/v1/products/esc/devices", token=owner)
            self.assertEqual(st, 200, body)
            stored = [d["version"] for d in body["devices"] if d["device_id"] == MAC]
            self.assertEqual(len(stored), 1, body)

            r = cli(s.url, owner, "device", "list", "--product", "esc")
            self.assertEqual(r.returncode, 0, r)
            self.assertIn(MAC.encode(), r.stdout)
            self.assertClean(r.stdout, "device list")
            self.assertEqual(stored[0], HOSTILE)
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
                if self.path.split("?")[0].endswith("/devices"):  # the CLI pages: ?limit=                if self.path.endswith("/devices"):offset=
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
            self.assertEqual(r.returncode, 4, r)  # not found
            self.assertClean(r.stderr, "the server's error line")
            self.assertIn(b"server said 404 nope\\u001b[31m: gone\\u001b]0;t\\u0007\\u009b1m", r.stderr)
        finally:
            srv.shutdown()
            srv.server_close()


if __name__ == "__main__":
    unittest.main()
