"""Two otakit-server processes on one PostgreSQL database and one shared artifact directory serve
one fleet at once: simulated devices (otakit-device --fleet) reach them through a round-robin TCP
balancer, a staged rollout runs, one node is killed with SIGKILL midway; the devices carry on
through the other node, nothing that was answered is lost, and the rollout finishes there.

Environment: OTAKIT_PG_CLUSTER (scripts/pg-cluster.sh), OTAKIT_DEVICE, OTAKIT_SERVER, OTAKIT_CLI,
OTAKIT_VECTORS (set by CMake).
"""
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import simlib as sl
from simlib import CLI, DEVICE, PUB
from otaserver import PG_CLUSTER, PgConn, Server, new_pg_db  # noqa: E402 (simlib puts tests/server on sys.path)

PRODUCT = "duo"
FLEET = 8  # per otakit-device process; two processes


class Balancer:
    """A TCP balancer on loopback: each new connection goes to the next backend in turn, to the other
    one when that refuses. Counts connections per backend."""

    def __init__(self):
        self.backends, self.served, self.turn = [], {}, 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        with self.lock:
            order = self.backends[self.turn % len(self.backends):] + self.backends[:self.turn % len(self.backends)]
            self.turn += 1
        for port in order:
            try:
                b = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                continue
            with self.lock:
                self.served[port] = self.served.get(port, 0) + 1
            b.settimeout(None)
            threading.Thread(target=self._pipe, args=(b, c), daemon=True).start()
            self._pipe(c, b)
            return
        c.close()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        src.close()


@unittest.skipUnless(PG_CLUSTER, "needs the PostgreSQL test cluster (OTAKIT_PG_CLUSTER)")
class TwoNodes(unittest.TestCase):
    def test_rollout_survives_kill9_of_a_node(self):
        tmp = tempfile.mkdtemp(prefix="otakit-duo-")
        uri = new_pg_db()
        artifacts = os.path.join(tmp, "shared-artifacts")
        lb = Balancer()
        url = "http://127.0.0.1:%d" % lb.port
        token = secrets.token_hex(16)
        env = dict(os.environ, OTAKIT_ADMIN_TOKEN=token)
        nodes = [Server(data=os.path.join(tmp, "node-%s" % n), env=env,
                        args=["--db", uri, "--artifacts", artifacts, "--public-url", url]) for n in "ab"]
        fleets = []
        try:
            for n in nodes:
                os.makedirs(n.data)
                n.start()
                n.admin = token
            lb.backends = [n.port for n in nodes]
            a, b = nodes
            st, p, _ = a.req("POST", "/api/v1/products", {"product_id": PRODUCT, "name": PRODUCT, "public_key":
                             subprocess.run([CLI, "getpub", "-k", PUB, "-e", "pem"], check=True,
                                            capture_output=True).stdout.decode()}, token=token)
            self.assertEqual(st, 201, p)
            owner, enroll = p["owner_token"], p["enroll_token"]
            # The product made on node a is node b's too.
            self.assertEqual(b.req("GET", "/api/v1/products/" + PRODUCT, token=owner)[0], 200)

            def image(version, upload):
                img = sl.firmware(tmp, version, PRODUCT, size=60000)
                if upload:  # uploaded to node b, stored in the shared directory, offered by both
                    sl.upload(b, PRODUCT, owner, img)
                return img

            factory = image("1.0.0", False)

            def fleet_args(name, *extra):
                return [DEVICE, "--server", url, "--enroll", enroll, "--id", name, "--dir", os.path.join(tmp, name),
                        "--key", PUB, "--product", PRODUCT, "--factory", factory, "--fleet", str(FLEET),
                        "--poll", "1", "--retry-max", "1500", "--commit-window", "1500", "--progress", "5", "--slow",
                        *extra]

            for name in ("fa", "fb"):  # provision and register every device
                r = subprocess.run(fleet_args(name, "--once"), capture_output=True, text=True, timeout=180)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            image("2.0.0", True)
            devices = ["%s-%03d" % (n, i) for n in ("fa", "fb") for i in range(FLEET)]
            st, ro, _ = a.req("POST", "/api/v1/products/%s/rollouts" % PRODUCT,
                              {"release": "2.0.0", "target": {"devices": devices},
                               "stages": [{"percent": 25}, {"percent": 100}]}, token=owner)
            self.assertEqual(st, 201, ro)
            rpath = "/api/v1/products/%s/rollouts/%d" % (PRODUCT, ro["id"])
            served_before = dict(lb.served)
            fleets = [subprocess.Popen(fleet_args(name), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                      for name in ("fa", "fb")]
            db = PgConn(uri)
            # Midway: node a dies as soon as the first stage is confirmed, while the second stage's
            # devices (polling every second, each update taking seconds) are still to come. Waiting
            # for one of them as well let an idle machine finish the whole rollout between samples.
            deadline = time.time() + 120
            while time.time() < deadline:
                (confirmed,) = db.execute("SELECT COUNT(*) FROM actions WHERE rollout = ? AND status = 'confirmed'",
                                          (ro["id"],)).fetchone()
                if confirmed >= len(devices) // 4:
                    break
                time.sleep(0.05)
            self.assertLess(confirmed, len(devices), "the rollout ended before the kill: nothing was tested")
            a.kill9()
            killed_at = confirmed
            # The devices (polling every second) carry on through node b until the rollout is over.
            deadline = time.time() + 300
            while time.time() < deadline:
                st, ro, _ = b.req("GET", rpath, token=owner)
                if ro["state"] != "running" or any(f.poll() is not None for f in fleets):
                    break
                time.sleep(0.5)
            for f in fleets:
                if f.poll() is None:
                    f.terminate()
            outs = [f.communicate(timeout=30)[0] for f in fleets]
            self.assertNotIn("runtime error", "".join(outs))  # UBSan (SANITIZE=ON) reports and goes on
            # Both nodes served the fleet during the rollout.
            self.assertTrue(all(lb.served.get(n.port, 0) > served_before.get(n.port, 0) for n in nodes), lb.served)
            self.assertEqual((ro["state"], ro["reason"], ro["counts"]["confirmed"], ro["devices"]),
                             ("finished", "completed", len(devices), len(devices)), (ro, killed_at, outs[0][-3000:]))
            # Nothing lost: one action per device, confirmed, with its reports in the history; the
            # counters the triggers keep agree with the rows.
            rows = db.execute("SELECT d.device_id, COUNT(a.id), MIN(a.status), MAX(a.status) FROM devices d "
                              "LEFT JOIN actions a ON a.device = d.id AND a.rollout = ? GROUP BY d.device_id",
                              (ro["id"],)).fetchall()
            self.assertEqual(sorted(rows), sorted((d, 1, "confirmed", "confirmed") for d in devices))
            (missing,) = db.execute("SELECT COUNT(*) FROM actions a WHERE a.rollout = ? AND NOT EXISTS (SELECT 1 "
                                    "FROM events e WHERE e.action = a.id AND e.kind = 'confirmed')",
                                    (ro["id"],)).fetchone()
            self.assertEqual(missing, 0)
            counts = dict((s, n) for s, n in db.execute("SELECT status, SUM(n) FROM rollout_counts WHERE rollout = ? "
                                                        "AND n <> 0 GROUP BY status", (ro["id"],)))
            self.assertEqual(counts, {"confirmed": len(devices)})
            for d in devices:
                st, dev, _ = b.req("GET", "/api/v1/products/%s/devices/%s" % (PRODUCT, d), token=owner)
                self.assertTrue(dev["version"].startswith("2.0.0"), dev)
        finally:
            for f in fleets:
                if f.poll() is None:
                    f.kill()
                    f.wait()
            for n in nodes:
                if n.proc:
                    n.stop()
            lb.sock.close()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
