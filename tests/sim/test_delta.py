"""Delta updates end to end: otakit-device (the library's agent) against a real otakit-server
started with --delta-key, through a loopback proxy that counts, cuts or alters what the device
downloads. The device updates by a signed patch against the image it runs; it takes the full image
when it runs another build of the base release or does not ask for deltas; a connection dropped in
the middle of the patch continues with a Range request from the block it broke in; a patch altered
on the way is refused (its block fails the hash chain) and the full image is installed instead.

Environment: OTAKIT_DEVICE, OTAKIT_SERVER, OTAKIT_CLI, OTAKIT_VECTORS (set by CMake).
"""
import hashlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

import simlib as sl
from simlib import DEVICE, KEY, PUB
from otaserver import Server  # noqa: E402 (simlib puts tests/server and tests/net on sys.path)
import netlib as nl  # noqa: E402

PRODUCT = "delta"


class Proxy:
    """Forwards every request, body included, to the server (Connection: close), optionally
    altering the first answer for a delta patch: cut after `cut` body bytes, or one byte of the body
    flipped at `flip`. log: (path, Range header, bytes sent) per request."""

    def __init__(self):
        self.port = None
        self.cut = self.flip = None
        self.log = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            c.settimeout(30)
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            head, _, body = buf.partition(b"\r\n\r\n")
            req = nl.Request(head)
            want = int(req.headers.get("content-length", "0"))
            while len(body) < want:
                d = c.recv(65536)
                if not d:
                    return
                body += d
            lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
            data = nl.upstream(self.port, b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body)
            if req.path.startswith("/api/v1/deltas/") and (self.cut or self.flip):
                at = nl.head_len(data)
                if self.cut:
                    data, self.cut = data[:at + self.cut], None
                else:
                    b = bytearray(data)
                    b[at + self.flip] ^= 0x01
                    data, self.flip = bytes(b), None
            self.log.append((req.path, req.headers.get("range"), len(data)))
            c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()

    def got(self, prefix):
        return [e for e in self.log if e[0].startswith(prefix)]


class Delta(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="otakit-delta-")
        cls.proxy = Proxy()
        cls.s = Server(args=["--public-url", cls.proxy.url, "--delta-key", KEY]).start()
        cls.proxy.port = cls.s.port
        p = cls.s.product(PRODUCT)
        cls.owner, cls.enroll = p["owner_token"], p["enroll_token"]
        cls.base_raw = cls.raw("1.0.0")
        cls.base = cls.sign(cls.base_raw, "1.0.0", upload=True)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.close()
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def raw(cls, version, size=90000):
        path = os.path.join(cls.tmp, "fw-%s.bin" % version)
        sl.mkfw(path, version, size=size)
        with open(path, "rb") as f:
            return f.read()

    @classmethod
    def sign(cls, data, version, upload=True, name=None):
        raw = os.path.join(cls.tmp, (name or "fw-" + version) + ".raw")
        img = os.path.join(cls.tmp, (name or "fw-" + version) + ".img")
        with open(raw, "wb") as f:
            f.write(data)
        sl.sign(raw, img, version, PRODUCT)
        if upload:
            sl.upload(cls.s, PRODUCT, cls.owner, img)
        return img

    def new_release(self, version, seed):
        """A new build: the base's bytes with about 2% changed in small runs (a code change)."""
        rnd = random.Random(seed)
        b = bytearray(self.raw(version))
        for _ in range(300):
            at = rnd.randrange(64, len(b) - 8)
            b[at:at + 8] = bytes(rnd.randrange(256) for _ in range(8))
        return self.sign(bytes(b), version)

    def run_device(self, name, factory, *extra):
        args = [DEVICE, "--server", self.proxy.url, "--enroll", self.enroll, "--id", name, "--dir",
                os.path.join(self.tmp, name), "--key", PUB, "--product", PRODUCT, "--factory", factory,
                "--commit-window", "3000", "--once", *extra]
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        out = p.stdout + p.stderr
        self.assertNotIn("runtime error", out)
        return p.returncode, out

    def rollout(self, version, devices):
        st, ro, _ = self.s.req("POST", "/api/v1/products/%s/rollouts" % PRODUCT,
                               {"release": version, "target": {"devices": devices}}, token=self.owner)
        self.assertEqual(st, 201, ro)

    def last_action(self, name):
        st, d, _ = self.s.req("GET", "/api/v1/products/%s/devices/%s" % (PRODUCT, name), token=self.owner)
        self.assertEqual(st, 200, d)
        return d, max(d["actions"], key=lambda a: a["id"])

    def update(self, name, version, factory=None, *extra):
        rc, out = self.run_device(name, factory or self.base, *extra)  # registers, up to date
        self.assertEqual(rc, 0, out)
        self.rollout(version, [name])
        del self.proxy.log[:]
        rc, out = self.run_device(name, factory or self.base, *extra)
        self.assertEqual(rc, 0, out)
        d, act = self.last_action(name)
        self.assertEqual(act["status"], "confirmed", out)
        self.assertEqual(d["version"].split("+")[0], version, out)
        return out

    def test_update_by_delta(self):
        """The device runs 1.0.0 (the release's own image) and is offered 2.0.0: it downloads the
        signed patch, never the image (only the pre-check's two ranged requests for its header and
        TLVs, which the device closes once it has read those)."""
        img = self.new_release("2.0.0", 1)
        out = self.update("d-plain", "2.0.0")
        self.assertIn("applying the delta patch", out)
        self.assertNotIn("full image", out)
        patch = sum(n for _, _, n in self.proxy.got("/api/v1/deltas/"))
        full = self.proxy.got("/api/v1/artifacts/")
        size = os.path.getsize(img)
        self.assertGreater(patch, 0)
        self.assertLess(patch, size // 4, (patch, size))
        self.assertEqual(len(full), 2, full)
        self.assertTrue(all(r for _, r, _ in full), full)  # the pre-check's ranges, no download
        with open(self.s.log_path) as f:
            self.assertIn("delta patch made", f.read())

    def test_other_base_falls_back_to_the_full_image(self):
        """The device runs another build of 1.0.0 than the server's: the patch's base digest does not
        match its running image, nothing is written, and the full image is installed."""
        self.new_release("2.1.0", 2)
        other = self.sign(self.raw("1.0.0", size=80000), "1.0.0", upload=False, name="other-1.0.0")
        out = self.update("d-other", "2.1.0", other)
        self.assertIn("delta patch not used (OTA_ERR_DELTA_BASE)", out)
        self.assertGreater(sum(n for _, _, n in self.proxy.got("/api/v1/artifacts/")), 100000)

    def test_device_without_delta_gets_the_image(self):
        """A device that does not ask (--no-delta: no delta RAM) is offered the image alone."""
        self.new_release("2.2.0", 3)
        out = self.update("d-nodelta", "2.2.0", None, "--no-delta")
        self.assertNotIn("delta patch", out)
        self.assertEqual(self.proxy.got("/api/v1/deltas/"), [])
        self.assertTrue(all("delta=" not in p for p, _, _ in self.proxy.got("/api/v1/device/check")))

    def test_dropped_connection_resumes_mid_patch(self):
        """The patch's connection drops 3000 bytes in: the device asks again from the start of the
        block it was receiving (Range + If-Range), not from zero, and installs the image."""
        self.new_release("2.3.0", 4)
        self.proxy.cut = 3000
        out = self.update("d-drop", "2.3.0")
        self.assertIn("applying the delta patch", out)
        self.assertNotIn("full image", out)
        reqs = self.proxy.got("/api/v1/deltas/")
        self.assertGreaterEqual(len(reqs), 2, reqs)
        self.assertIsNone(reqs[0][1])
        first = int(reqs[1][1].split("=")[1].rstrip("-"))
        self.assertGreater(first, 196)  # past the header: a continuation
        self.assertLessEqual(first, 3000)

    def test_tampered_patch_is_refused(self):
        """One bit of the patch body flipped on the way: the block fails its hash before it is
        decoded, the partial image is abandoned, and the full image is downloaded and installed."""
        self.new_release("2.4.0", 5)
        self.proxy.flip = 1500
        out = self.update("d-tamper", "2.4.0")
        self.assertIn("delta patch not used (OTA_ERR_HASH)", out)
        self.assertGreater(sum(n for _, _, n in self.proxy.got("/api/v1/artifacts/")), 100000)

    def cached(self):
        """The delta cache as (patch, base, target) per .pair, the by-pair entries, and the names of
        every other file in DATA/deltas."""
        d = os.path.join(self.s.data, "deltas")
        pairs, other = [], []
        for n in sorted(os.listdir(d)):
            if n.endswith(".pair"):
                with open(os.path.join(d, n)) as f:
                    pairs.append((n[:-5],) + tuple(f.read().split()))
            elif n != "by-pair":
                other.append(n)
        return pairs, sorted(os.listdir(os.path.join(d, "by-pair"))), other

    def assert_no_orphan(self):
        """Every cached patch has its .pair and by-pair entry, and both its images are in the store."""
        pairs, by_pair, other = self.cached()
        store = set(os.listdir(os.path.join(self.s.data, "artifacts")))
        self.assertEqual(sorted(p for p, _, _ in pairs), other)
        for patch, base, target in pairs:
            self.assertIn(base, store, "patch %s from a removed image" % patch)
            self.assertIn(target, store, "patch %s to a removed image" % patch)
            self.assertIn("%s-%s" % (base, target), by_pair)
        for e in by_pair:
            self.assertTrue(e[:64] in store and e[65:] in store, "by-pair entry %s of a removed image" % e)
        return pairs

    def delete_release(self, version):
        st, ans, _ = self.s.req("DELETE", "/api/v1/products/%s/releases/%s" % (PRODUCT, version), token=self.owner)
        self.assertEqual(st, 200, ans)
        return ans

    def test_deleting_a_release_removes_its_patches(self):
        """Two devices on 1.5.0 update by patch, to 2.5.0 and to 2.6.0. Deleting 2.5.0 (a target)
        removes its patch and keeps the other; deleting 1.5.0 (the base of the other) removes that
        one; the cache never holds a patch of an image the store no longer has."""
        base = self.sign(self.raw("1.5.0"), "1.5.0")
        with open(base, "rb") as f:
            base_sha = hashlib.sha256(f.read()).hexdigest()
        shas = {}
        for name, version, seed in (("d-del-a", "2.5.0", 6), ("d-del-b", "2.6.0", 7)):
            with open(self.new_release(version, seed), "rb") as f:
                shas[version] = hashlib.sha256(f.read()).hexdigest()
            self.assertIn("applying the delta patch", self.update(name, version, base))
        mine = lambda: [p for p in self.assert_no_orphan() if base_sha in p]
        self.assertEqual(sorted(t for _, _, t in mine()), sorted(shas.values()))
        ans = self.delete_release("2.5.0")
        self.assertEqual([t for _, _, t in mine()], [shas["2.6.0"]])
        self.assertEqual((ans["files_removed"], ans.get("patches_removed")), (1, 1), ans)
        ans = self.delete_release("1.5.0")
        self.assertEqual(mine(), [])
        self.assertEqual((ans["files_removed"], ans.get("patches_removed")), (1, 1), ans)
        self.assertFalse(any(base_sha in e or shas["2.5.0"] in e for e in self.cached()[1]))
        self.assert_no_orphan()

    def test_restart_sweeps_patches_of_removed_images(self):
        """Patches whose base or target no release has any more (left by an older server, or by a
        delete on another server process of the same database) are removed at startup; the others
        stay."""
        self.new_release("2.7.0", 8)
        self.update("d-sweep", "2.7.0")
        kept = self.assert_no_orphan()
        d = os.path.join(self.s.data, "deltas")
        gone = [hashlib.sha256(b"gone-%d" % i).hexdigest() for i in range(3)]
        real = kept[0][1]
        with open(os.path.join(d, gone[0] + ".pair"), "w") as f:  # a patch to an image no release has
            f.write("%s %s\n" % (real, gone[1]))
        with open(os.path.join(d, gone[0]), "wb") as f:
            f.write(b"patch")
        with open(os.path.join(d, "by-pair", "%s-%s" % (real, gone[1])), "w") as f:
            f.write(gone[0])
        with open(os.path.join(d, "by-pair", "%s-%s" % (gone[2], real)), "w") as f:  # "none": not worth it
            f.write("none")
        self.s.stop()
        self.s.start()
        self.proxy.port = self.s.port
        self.assertEqual(self.assert_no_orphan(), kept)
        self.assertFalse(any(g in n for n in os.listdir(d) + os.listdir(os.path.join(d, "by-pair")) for g in gone))
        with open(self.s.log_path) as f:
            self.assertIn('removed delta patches of images no release has any more" patches=1', f.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
