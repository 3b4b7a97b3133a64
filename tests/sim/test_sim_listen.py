"""otakit-device --push / --arduino-ota: a simulated device that takes pushed updates between its
check-ins, from espota.py's protocol (tests/push/espota_client.py) and from Mongoose's curl-style
push, then reboots into them and confirms them with its self-test against the real server."""
import os
import queue
import socket
import subprocess
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "push"))
import espota_client as espota  # noqa: E402
import test_device_sim as sim  # noqa: E402


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ListeningDevice(sim.DeviceSim):
    def start(self, name, *extra):
        self.lines = queue.Queue()
        self.proc = subprocess.Popen(self.args(name, "--poll", "1", *extra), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=lambda: [self.lines.put(l) for l in self.proc.stdout], daemon=True).start()

    def wait_for(self, text, timeout=60):
        seen = []
        while True:
            line = self.lines.get(timeout=timeout)
            seen.append(line)
            if text in line:
                return seen

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def test_arduino_ota_then_push(self):
        udp, tcp = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
        self.start("listener", "--arduino-ota", str(udp), "--arduino-ota-password", "pw",
                   "--push", str(tcp), "--push-token", "tok-123")
        try:
            self.wait_for("arduino-ota on udp port %d" % udp)
            img2 = self.image("2.0.0", "healthy", upload=False)
            rc, log, _ = espota.upload("127.0.0.1", udp, img2, password="pw")
            self.assertEqual((rc, log[-1]), (0, "Result: OK"), log)
            self.wait_for("self-test passed: confirmed 2.0.0")
            # The push server of the same device: Mongoose's raw upload with the token.
            img3 = self.image("3.0.0", "healthy", upload=False)
            self.wait_for("push endpoints on tcp port %d" % tcp)
            with open(img3, "rb") as f:
                body = f.read()
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", tcp, timeout=30)
            c.request("POST", "/api/ota/update", body=body, headers={"Authorization": "Bearer tok-123"})
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"ok\n"))
            self.wait_for("self-test passed: confirmed 3.0.0")
        finally:
            self.stop()
        self.assertTrue(self.device("listener")["version"].startswith("3.0.0"))

    def test_push_needs_credentials(self):
        p = subprocess.run(self.args("nocred", "--push", "1"), capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)


if __name__ == "__main__":
    unittest.main(defaultTest=["ListeningDevice.test_arduino_ota_then_push", "ListeningDevice.test_push_needs_credentials"])
