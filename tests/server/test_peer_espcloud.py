"""The Espressif cloud FOTA device wire API (seed 004 "ESP8266 FOTA Introduction" v1.5, section
4.4), replayed byte for byte as the SDK's IoT_Demo user/user_esp_platform.c writes it: the frames
of its format strings (ACTIVE_FRAME, FIRST_FRAME, BEACON_FRAME, RPC_RESPONSE_FRAME, UPGRADE_FRAME)
on the TCP line channel, its HTTP/1.0 download request with its header block, and the server's
answers judged by that file's own decision code (strstr at fixed offsets, its nonce parser)."""
import hashlib
import json
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import Server, raw_response  # noqa: E402
from test_devices import Device, add_release  # noqa: E402

ACTIVE_FRAME = ('{"nonce": %d,"path": "/v1/device/activate/", "method": "POST", "body": {"encrypt_method": "PLAIN", '
                '"token": "%s", "bssid": "%s","rom_version":"%s"}, "meta": {"Authorization": "token %s"}}\n')
FIRST_FRAME = '{"nonce": %d, "path": "/v1/device/identify", "method": "GET","meta": {"Authorization": "token %s"}}\n'
BEACON_FRAME = '{"path": "/v1/ping/", "method": "POST","meta": {"Authorization": "token %s"}}\n'
RPC_RESPONSE_FRAME = '{"status": 200, "nonce": %d, "deliver_to_device": true}\n'
UPGRADE_FRAME = ('{"path": "/v1/messages/", "method": "POST", "meta": {"Authorization": "token %s"},'
                 '"get":{"action":"%s"},"body":{"pre_rom_version":"%s","rom_version":"%s"}}\n')
PHEAD = ("Connection: keep-alive\r\nCache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (Windows NT 5.1) "
         "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/30.0.1599.101 Safari/537.36 \r\nAccept: */*\r\n"
         "Authorization: token %s\r\nAccept-Encoding: gzip,deflate,sdch\r\nAccept-Language: zh-CN,zh;q=0.8\r\n\r\n")

V0, V1, V2 = "v1.0.0t45772(a)", "v1.0.1t45772(a)", "v1.0.2t45772(a)"


def value(label):
    a, b, c = label[1:].split("t")[0].split(".")
    return int(a) * 1000000 + int(b) * 1000 + int(c)


def parse_nonce(buf):
    """user_esp_platform_parse_nonce(): the digits after '"nonce": ' up to ',' (or '}', ']')."""
    i = buf.find('"nonce": ')
    if i < 0:
        return 0
    rest = buf[i + 9:]
    for end in (",", "}", "]"):
        j = rest.find(end)
        if j >= 0:
            return int(rest[:j])
    return 0


class Esp8266:
    """The device of user_esp_platform.c: one TCP connection, what it sends, how it reads."""

    def __init__(self, port, key):
        self.key = key
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.pending = b""

    def send(self, frame):
        self.sock.sendall(frame.encode())

    def recv(self, timeout=6):
        """The next message (one line), as the receive callback sees it."""
        deadline = time.time() + timeout
        while b"\n" not in self.pending:
            self.sock.settimeout(max(0.05, deadline - time.time()))
            chunk = self.sock.recv(2048)
            if not chunk:
                raise EOFError("server closed the connection")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()

    def close(self):
        self.sock.close()


class EspressifCloudWire(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(args=["--espcloud-listen", "127.0.0.1:0"]).start()
        with open(cls.s.log_path) as f:
            m = re.findall(r"espcloud listening\" listen=\S+ port=(\d+)", f.read())
        cls.ec_port = int(m[-1])
        p = cls.s.product("plug", version_rule="espressif")
        cls.own, cls.enroll = p["owner_token"], p["enroll_token"]
        st, body, _ = cls.s.req("PATCH", "/api/v1/products/plug", {"compat": {"esp": True}}, token=cls.own)
        assert st == 200, body
        cls.images = {}
        for label in (V0, V1, V2):
            arts = add_release(cls.s, "plug", label, slots=(0, 1), value=value(label))
            for slot, a in arts.items():
                payload = ("%s/%s/%d" % ("plug", label, slot)).encode() * 50
                assert hashlib.sha256(payload).hexdigest() == a["sha256"]
                with open(os.path.join(cls.s.data, "artifacts", a["sha256"]), "wb") as f:
                    f.write(payload)
                cls.images[(label, slot)] = payload

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def rpc(self, query, key):
        """The PC's curl of section 4.4 (GET with Content-Type and Authorization: token)."""
        req = ("GET /v1/device/rpc/?deliver_to_device=true&%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\n"
               "Accept: */*\r\nContent-Type:application/json\r\nAuthorization: token %s\r\nConnection: close\r\n\r\n"
               % (query, key))
        st, body, hdrs = raw_response(self.s.port, req.encode())
        return st, json.loads(body), hdrs

    def api(self, path):
        st, body, _ = self.s.req("GET", "/api/v1/products/plug" + path, token=self.own)
        self.assertEqual(st, 200, body)
        return body

    def download(self, key, version, filename):
        req = ("GET /v1/device/rom/?action=download_rom&version=%s&filename=%s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
               % (version, filename, self.s.port)) + PHEAD % key
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        sock.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:  # it asked for keep-alive: the body ends at Content-Length
            data += sock.recv(65536)
        head, body = data.split(b"\r\n\r\n", 1)
        head = head.decode()
        m = re.search(r"(?i)content-length: (\d+)", head)
        while m and len(body) < int(m.group(1)):
            body += sock.recv(65536)
        sock.close()
        return head, body

    def wait_version(self, name, want):
        deadline = time.time() + 5
        while True:
            v = self.api("/devices/" + name)["version"]
            if v == want or time.time() > deadline:
                return v
            time.sleep(0.1)

    def expect_rpc(self, dev, action):
        """Waits for the pushed RPC the way the device's receive callback finds it."""
        msg = dev.recv()
        self.assertIn('"action": "%s"' % action, msg)
        self.assertIn('"deliver_to_device": true', msg)
        return msg

    def test_activate_upgrade_download_reboot(self):
        """Section 4.4 end to end: activation with an unknown key on an opted-in product, the PC's
        sys_upgrade, the device's answer and download of user2.bin, device_upgrade_success,
        the sys_reboot the server sends (no consent asked), and the device coming back."""
        key = "k" * 40
        dev = Esp8266(self.ec_port, key)
        dev.send(ACTIVE_FRAME % (123457, "plug", "18:fe:34:a1:b2:c3", V0, key))
        ans = dev.recv()
        i = ans.find('"activate_status": ')
        self.assertTrue(i >= 0 and ans[i + 19] == "1", ans)
        self.assertEqual(parse_nonce(ans), 123457)
        name = "esp:18:FE:34:A1:B2:C3"
        self.assertEqual(self.wait_version(name, V0), V0)  # recorded by its first check

        st, body, _ = self.rpc("action=sys_upgrade&version=%s&device=%s" % (V1, name), self.own)
        self.assertEqual(st, 201, body)
        msg = self.expect_rpc(dev, "sys_upgrade")
        i = msg.find('"version":')
        self.assertEqual(msg[i + 12:i + 12 + 16][:15], V1)  # os_memcpy(upgrade_version, pstr + 12, 16)
        nonce = parse_nonce(msg)
        self.assertGreater(nonce, 0)
        dev.send(RPC_RESPONSE_FRAME % nonce)

        head, image = self.download(key, V1, "user2.bin")  # it runs user1.bin
        self.assertTrue(head.startswith("HTTP/1.0 200"), head)
        self.assertIn("Content-Length: %d" % len(image), head)
        self.assertEqual(image, self.images[(V1, 1)])

        dev.send(UPGRADE_FRAME % (key, "device_upgrade_success", V0, V1))
        self.assertIn("send message success", dev.recv())
        self.expect_rpc(dev, "sys_reboot")
        dev.close()

        dev = Esp8266(self.ec_port, key)  # rebooted into user2.bin, activated: it identifies
        dev.send(FIRST_FRAME % (99, key))
        self.assertEqual(parse_nonce(dev.recv()), 99)
        dev.send(BEACON_FRAME % key)
        self.assertIn("ping success", dev.recv())
        dev.close()
        self.assertEqual(self.wait_version(name, V1), V1)
        cmds = self.api("/devices/%s/commands" % name)["commands"]
        self.assertEqual([(c["type"], c["status"]) for c in cmds], [("reboot", "done"), ("upgrade", "done")])

        # Upgrades go only forward (section 3): the PC's sys_upgrade back to V0 is refused.
        st, body, _ = self.rpc("action=sys_upgrade&version=%s&device=%s" % (V0, name), self.own)
        self.assertEqual((st, body["error"]["code"]), (409, "downgrade"), body)

    def test_rollout_offer_is_pushed_to_a_token_device(self):
        """A device registered with the native API uses its device token as its key: identify,
        and a rollout's offer arrives as sys_upgrade; its failed download is reported."""
        d = Device(self.s, self.enroll, "native-1", version=V1, slot=1)
        st, ro, _ = self.s.req("POST", "/api/v1/products/plug/rollouts",
                               {"release": V2, "target": {"devices": ["native-1"]}, "stages": [{"percent": 100}]},
                               token=self.own)
        self.assertEqual(st, 201, ro)
        dev = Esp8266(self.ec_port, d.token)
        dev.send(FIRST_FRAME % (7, d.token))
        self.assertEqual(parse_nonce(dev.recv()), 7)
        msg = self.expect_rpc(dev, "sys_upgrade")
        self.assertIn('"version": "%s"' % V2, msg)
        dev.send(RPC_RESPONSE_FRAME % parse_nonce(msg))
        head, image = self.download(d.token, V2, "user1.bin")  # it runs user2.bin
        self.assertEqual(image, self.images[(V2, 0)])
        dev.send(UPGRADE_FRAME % (d.token, "device_upgrade_failed", V1, V2))
        self.assertIn("send message success", dev.recv())
        dev.close()
        st, r, _ = self.s.req("GET", "/api/v1/products/plug/rollouts/%d" % ro["id"], token=self.own)
        self.assertEqual(r["counts"].get("failed"), 1, r["counts"])

    def test_http_message_and_refusals(self):
        """POST /v1/messages/ over HTTP as well; unknown keys get nothing."""
        d = Device(self.s, self.enroll, "native-2", version=V0, slot=0)
        st, body, _ = self.rpc("action=sys_upgrade&version=%s&device=native-2" % V1, "not-a-key")
        self.assertEqual(st, 401, body)
        st, body, _ = self.rpc("action=sys_upgrade&version=%s&device=native-2" % V1, self.own)
        self.assertEqual(st, 201, body)
        dev = Esp8266(self.ec_port, d.token)
        dev.send(FIRST_FRAME % (8, d.token))
        dev.recv()
        self.expect_rpc(dev, "sys_upgrade")
        dev.close()
        st, body, _ = self.s.req("POST", "/v1/messages/?action=device_upgrade_success",
                                 {"pre_rom_version": V0, "rom_version": V1}, headers={"Authorization": "token " + d.token})
        self.assertEqual((st, body["message"]), (200, "send message success"), body)
        st, _, _ = self.s.req("POST", "/v1/messages/?action=device_upgrade_success",
                              {"pre_rom_version": V0, "rom_version": V1}, headers={"Authorization": "token nobody"})
        self.assertEqual(st, 401)
        head, _ = self.download("nobody", V1, "user1.bin")
        self.assertTrue(head.startswith("HTTP/1.0 401"), head)
        # The device line channel: an unknown key is refused, nothing is bound.
        dev = Esp8266(self.ec_port, "x" * 40)
        dev.send(FIRST_FRAME % (5, "x" * 40))
        ans = dev.recv()
        self.assertIn('"status": 403', ans)
        dev.close()

    def test_activation_needs_the_opt_in(self):
        """An unknown key activates only into a product whose owner switched the ESP protocols on."""
        self.s.product("closed")
        dev = Esp8266(self.ec_port, "c" * 40)
        dev.send(ACTIVE_FRAME % (11, "closed", "18:fe:34:00:00:01", V0, "c" * 40))
        ans = dev.recv()
        i = ans.find('"activate_status": ')
        self.assertEqual(ans[i + 19], "0", ans)
        dev.close()
        st, _, _ = self.s.req("GET", "/api/v1/products/closed/devices/esp:18:FE:34:00:00:01", token=self.s.admin)
        self.assertEqual(st, 404)


if __name__ == "__main__":
    unittest.main()
