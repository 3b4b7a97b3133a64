"""OTA over MQTT with real parts: Debian's mosquitto on a loopback port, otakit-device (tools/sim)
holding a broker connection, `otakit push --mqtt` (libmosquitto), Eclipse Paho (python3-paho-mqtt)
sending requests exactly as Mongoose's updater page does, and otakit-server --mqtt publishing
rollout notices.

- push --mqtt delivers a signed image; the device verifies it, resets into it and confirms it;
- the broker is killed mid-transfer and restarted: the device reconnects, push reconnects, asks
  where the device stands and continues there; the image completes;
- the device is killed (SIGKILL) mid-transfer and restarted: push sees its will, asks where it
  stands, and continues at the journal's checkpoint (non-zero); the image that runs is the pushed one;
- a gap, a replayed chunk, a chunk with another total, a wrong total at the end and an image
  signed by an untrusted key each get Mongoose's JSON-RPC error answer and change nothing (the
  transfer continues from where it stood; nothing is marked, the device keeps running 1.0.0);
- a rollout notice reaches an MQTT-connected device within a second (its poll is 60 s);
- otakit-server --mqtt started before its broker connects once the broker is up.
"""
import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sim"))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import paho.mqtt.client as paho  # noqa: E402

import test_device_sim as sim  # noqa: E402
from broker import Broker  # noqa: E402
from otaserver import CLI, Server  # noqa: E402


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Rpc:
    """A JSON-RPC caller on the device's topics, as Mongoose's MQTT updater page: QoS 0, one request
    at a time, waiting for the answer with the same id."""

    def __init__(self, port, prefix):
        self.q = queue.Queue()
        self.subscribed = threading.Event()
        self.c = paho.Client(client_id="otakit-test-%d-%d" % (os.getpid(), id(self)), clean_session=True)
        self.c.on_message = lambda c, u, m: self.q.put(m.payload)
        self.c.on_subscribe = lambda c, u, mid, granted: self.subscribed.set()
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.rx, self.tx = prefix + "/rx", prefix + "/tx"
        self.c.subscribe(self.tx, 1)
        assert self.subscribed.wait(5)
        self.id = 100

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()

    def send(self, req):
        self.c.publish(self.rx, json.dumps(req), qos=0)

    def call(self, method, params=None, timeout=10):
        self.id += 1
        req = {"id": self.id, "method": method}
        if params is not None:
            req["params"] = params
        self.send(req)
        deadline = time.time() + timeout
        while True:
            ans = json.loads(self.q.get(timeout=max(0.01, deadline - time.time())))
            if ans.get("id") == self.id:
                return ans

    def chunk(self, img, off, n, total=None):
        return self.call("ota.update", {"offset": off, "total": len(img) if total is None else total,
                                        "chunk": base64.b64encode(img[off:off + n]).decode()})


class MqttDevice(sim.DeviceSim):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        cls.s = Server(args=["--mqtt", "mqtt://" + cls.broker.url]).start()
        p = cls.s.product(sim.PRODUCT)
        cls.owner, cls.enroll = p["owner_token"], p["enroll_token"]
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="otakit-mqtt-")
        cls.factory = cls.image("1.0.0", "healthy", upload=False)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.broker.close()

    def start(self, name, *extra):
        self.lines = queue.Queue()
        self.log = []
        self.proc = subprocess.Popen(self.args(name, "--mqtt", self.broker.url, *extra), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

        def pump():
            for line in self.proc.stdout:
                self.log.append(line)
                self.lines.put(line)
        threading.Thread(target=pump, daemon=True).start()
        self.addCleanup(self.stop)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        out = "".join(self.log)
        self.assertNotIn("runtime error", out)  # UBSan
        self.assertNotIn("Sanitizer", out)

    def wait_for(self, text, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                self.fail("no %r in:\n%s" % (text, "".join(self.log)))
            if text in line:
                return line

    def connected_device(self, name, *extra):
        self.start(name, "--poll", "60", *extra)
        self.wait_for("mqtt: connected to")
        return Rpc(self.broker.port, "mg/" + name)

    # ---- the updater: otakit push --mqtt -------------------------------------------------------
    def test_1_push_over_mqtt(self):
        self.connected_device("mq-push")
        img = self.image("2.0.0", "healthy", size=30000, upload=False)
        p = subprocess.run([CLI, "push", "--mqtt", self.broker.url, "--topic", "mg/mq-push", img],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("100% ", p.stderr)  # the progress, as lines when stderr is not a terminal
        self.assertIn("the device verified the image", p.stdout)
        self.wait_for("self-test passed: confirmed 2.0.0")

    def test_2_broker_drop_mid_transfer_resumes(self):
        self.connected_device("mq-drop")
        img = self.image("2.1.0", "healthy", size=100000, upload=False)
        push = subprocess.Popen([CLI, "push", "--mqtt", self.broker.url, "--topic", "mg/mq-drop", "--chunk", "512",
                                 img], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        err = []
        for line in push.stderr:
            err.append(line)
            if " 30% " in line:
                self.broker.kill()  # every connection drops at once, mid-transfer
                time.sleep(0.5)
                self.broker.start()
                break
        err += push.stderr.readlines()
        out = push.stdout.read()
        self.assertEqual(push.wait(timeout=120), 0, "".join(err))
        text = "".join(err)
        self.assertIn("lost the broker at offset", text)
        held = [int(l.split("holds ")[1].split()[0]) for l in err if "the device holds" in l]
        self.assertTrue(held and held[-1] >= 30000, text)  # it continued, it did not start over
        self.assertIn("the device verified the image", out)
        self.wait_for("self-test passed: confirmed 2.1.0")
        self.assertTrue(any("mqtt: connection lost" in l for l in self.log), "".join(self.log))

    def test_2b_device_killed_mid_transfer_resumes_from_flash(self):
        """kill -9 of the device mid-transfer: its restart answers ota.status with the journal's
        checkpoint (a sector start it programmed before the kill), push continues there, and the
        image that runs is the pushed one byte for byte."""
        self.connected_device("mq-kill")
        path = self.image("2.1.5", "healthy", size=100000, upload=False)
        img = read(path)
        push = subprocess.Popen([CLI, "push", "--mqtt", self.broker.url, "--topic", "mg/mq-kill", "--chunk", "512",
                                 "--retry", "60", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        err, sent = [], 0
        for line in push.stderr:
            err.append(line)
            if " 40% " in line:
                sent = int(line.split("% ")[1].split("/")[0])
                self.proc.kill()  # SIGKILL: no clean shutdown, the flash file holds what was programmed
                self.proc.wait()
                break
        self.assertGreater(sent, 0, "".join(err))
        killed = self.proc
        self.start("mq-kill", "--poll", "60")  # the same flash file
        self.addCleanup(killed.stdout.close)
        err += push.stderr.readlines()
        out = push.stdout.read()
        push.stdout.close()
        push.stderr.close()
        text = "".join(err)
        self.assertEqual(push.wait(timeout=120), 0, text)
        self.assertIn("the device dropped off the broker at offset", text)
        held = [int(l.split("holds ")[1].split()[0]) for l in err if "the device holds" in l]
        self.assertTrue(held, text)
        # It continued from flash, not from zero, and never from beyond what the device had taken.
        self.assertGreater(held[-1], 0, text)
        self.assertLessEqual(held[-1], sent, text)
        self.assertEqual(held[-1] % 4096, 0, text)  # a sector checkpoint of the journal
        self.assertIn("the device verified the image", out)
        self.wait_for("self-test passed: confirmed 2.1.5")
        with open(os.path.join(self.tmp, "mq-kill", "flash.bin"), "rb") as f:
            self.assertIn(img, f.read())  # the running slot holds exactly the pushed image

    # ---- what Mongoose does not check -----------------------------------------------------------
    def test_3_gap_replay_other_total_change_nothing(self):
        rpc = self.connected_device("mq-gap")
        try:
            img = read(self.image("2.2.0", "healthy", size=20000, upload=False))
            K = 4096  # Mongoose's updater page sends 4096-byte chunks
            self.assertEqual(rpc.chunk(img, 0, K), {"id": rpc.id, "result": "ok"})
            self.assertEqual(rpc.chunk(img, K, K)["result"], "ok")
            gap = rpc.chunk(img, 3 * K, K)
            self.assertEqual(gap["error"]["code"], 1, gap)
            self.assertIn("gap before the chunk", gap["error"]["message"])
            self.assertIn("expected offset %d" % (2 * K), gap["error"]["message"])
            replay = rpc.chunk(img, K, K)
            self.assertEqual(replay["error"]["code"], 1, replay)
            self.assertIn("chunk replayed", replay["error"]["message"])
            other = rpc.chunk(img, 2 * K, K, total=len(img) + 1)
            self.assertIn("total differs", other["error"]["message"])
            self.assertEqual(rpc.call("ota.status")["result"], {"offset": 2 * K, "total": len(img)})
            nf = rpc.call("ota.upload", {})
            self.assertEqual(nf["error"], {"code": -32601, "message": "ota.upload not found"})
            rpc.send({"method": "ota.status"})  # no id: no answer (as Mongoose)
            self.assertRaises(queue.Empty, rpc.q.get, True, 1.0)
            # Nothing changed: the transfer continues where it stood and the image is good.
            for off in range(2 * K, len(img), K):
                self.assertEqual(rpc.chunk(img, off, K)["result"], "ok", off)
            self.assertEqual(rpc.chunk(img, len(img), 0)["result"], "ok")
            self.wait_for("self-test passed: confirmed 2.2.0")
        finally:
            rpc.close()

    def test_4_wrong_total_and_bad_image_mark_nothing(self):
        rpc = self.connected_device("mq-bad")
        try:
            boots = sum("boot slot=" in l for l in self.log)
            img = read(self.image("2.3.0", "healthy", size=12000, upload=False))
            K = 4096
            # A total larger than the image: the end comes before it.
            for off in range(0, len(img), K):
                self.assertEqual(rpc.chunk(img, off, K, total=len(img) + 10)["result"], "ok")
            end = rpc.chunk(img, len(img), 0, total=len(img) + 10)
            self.assertIn("end before total", end["error"]["message"], end)
            # A total smaller than the image: the chunk that runs past it is refused.
            small = len(img) - 10
            for off in range(0, len(img), K):
                ans = rpc.chunk(img, off, K, total=small)
                if off + K <= small:
                    self.assertEqual(ans["result"], "ok", off)
                else:
                    self.assertIn("chunk runs past total", ans["error"]["message"], ans)
                    break
            # A whole, well-formed image signed by a key the device does not trust.
            other = os.path.join(self.tmp, "other.pem")
            subprocess.run([CLI, "keygen", "-k", other], check=True, capture_output=True)
            raw = os.path.join(self.tmp, "fw-2.3.0.bin")
            bad_path = os.path.join(self.tmp, "bad.img")
            subprocess.run([CLI, "sign", "-k", other, "-v", "2.3.0", "--product", sim.PRODUCT, raw, bad_path],
                           check=True, capture_output=True)
            bad = read(bad_path)
            for off in range(0, len(bad), K):
                self.assertEqual(rpc.chunk(bad, off, K)["result"], "ok")
            end = rpc.chunk(bad, len(bad), 0)
            self.assertEqual(end["error"]["code"], 1)
            self.assertIn("ota_end() failed: image was signed with a key that is not trusted here",
                          end["error"]["message"])
            # Nothing marked: no reset, nothing in flight, the device still runs 1.0.0.
            self.assertEqual(rpc.call("ota.status")["result"], {"offset": 0, "total": 0})
            time.sleep(1)
            self.assertEqual(sum("boot slot=" in l for l in self.log), boots, "".join(self.log))
            self.assertIsNone(self.proc.poll())
            self.assertTrue(self.device("mq-bad")["version"].startswith("1.0.0"))
        finally:
            rpc.close()

    # ---- the server's rollout notice ------------------------------------------------------------
    def test_5_rollout_notice_within_a_second(self):
        self.connected_device("mq-notice")  # registered, checked, then connected to the broker
        self.image("3.0.0", "healthy")
        t0 = time.time()
        self.rollout("3.0.0", ["mq-notice"])
        line = self.wait_for("rollout notice", timeout=5)
        took = time.time() - t0
        self.assertLess(took, 1.0, line)
        notice = json.loads(line.split("rollout notice ", 1)[1].rsplit(": checking now", 1)[0])
        self.assertEqual((notice["event"], notice["product"]), ("rollout", sim.PRODUCT))
        self.assertTrue(notice["version"].startswith("3.0.0"), notice)
        self.assertTrue(notice["check"].endswith("/api/v1/device/check"))
        self.assertEqual(len(notice["sha256"]), 64)
        # The pull itself is the usual HTTP one, reported as always.
        self.wait_for("self-test passed: confirmed 3.0.0", timeout=60)
        deadline = time.time() + 20
        while self.last_action("mq-notice")["status"] != "confirmed" and time.time() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.last_action("mq-notice")["status"], "confirmed")

    def test_6_server_waits_for_a_broker_that_starts_later(self):
        late = Broker()
        s = Server(args=["--mqtt", "mqtt://" + late.url]).start()
        try:
            time.sleep(1)
            late.start()
            deadline = time.time() + 10
            while time.time() < deadline:
                with open(s.log_path) as f:
                    if "mqtt: connected to the broker" in f.read():
                        break
                time.sleep(0.1)
            else:
                self.fail("the server never connected:\n" + open(s.log_path).read())
        finally:
            s.__exit__(None, None, None)
            late.close()


if __name__ == "__main__":
    # only these: the inherited DeviceSim tests run in tests/sim
    unittest.main(defaultTest=["MqttDevice." + t for t in sorted(dir(MqttDevice))
                               if t.startswith("test_") and t not in dir(sim.DeviceSim)])
