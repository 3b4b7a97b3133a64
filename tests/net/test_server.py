"""The device agent against a real otakit-server on loopback: check, then download the offered signed
image into a simulated flash (swap-256k) through the HTTP client, and ota_end() accepts it. Then the
same download with the connection cut at 50 random offsets (a proxy in front of the server), and
across simulated power cuts (the device process dies; the next one resumes from the journal)."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib as nl  # noqa: E402

DEV = "/api/v1/device"


class AgentAndServer(nl.ReleaseCase):
    def assert_installed(self, r, dump):
        self.assertEqual((r.rc, r.result), (0, "OTA_OK"), r)
        self.assertEqual(r.v["state_after"], "new", r)  # verified by ota_end(): pending, tested on next boot
        with open(dump, "rb") as f:
            self.assertEqual(f.read(), self.img)

    def test_check_and_download(self):
        tok = self.device("e2e-1")
        cmd = self.offer("e2e-1")
        dump = os.path.join(self.d, "e2e.bin")
        r = nl.netpull("update", "--server", self.s.url, "--token", tok, "--version", "1.0.0", "--slot", "0",
                       "--key", nl.KEY_DER, "--product", nl.PRODUCT, "--dump", dump, "--expect", self.img_path,
                       "--keep-alive")
        self.assert_installed(r, dump)
        # what the device read from the check answer
        self.assertEqual((r.v["has_update"], r.v["version"], r.v["size"], r.v["sha256"], r.v["url"], r.v["slot"]),
                         ("1", "2.0.0+0", str(len(self.img)), self.sha, self.art_url, "1"), r)
        self.assertGreater(int(r.v["action_id"]), 0)
        self.assertEqual(r.commands, [[str(cmd["id"]), "upgrade", r.v["action_id"], "2.0.0+0", "0"]], r)
        self.assertEqual((r.stats["requests"], r.v["connects"]), (1, "1"), r)  # check + download: one connection
        self.assertEqual(r.v["gens"], "A")  # one download, every programmed byte the image's

    def test_check_parser_on_real_answers(self):
        """ota_check_parse() on answers of the real server, read both by Python and by the device."""
        tok = self.device("parse-1")
        st, none, _ = self.s.req("GET", DEV + "/check?version=1.0.0&slot=0", token=tok, raw=True)
        self.assertEqual(st, 200)
        r = nl.netpull("parse", nl.write_tmp(self.d, "none.json", none))
        self.assertEqual((r.result, r.v["has_update"], r.v["n_commands"]), ("OTA_OK", "0", "0"), r)
        self.assertGreater(int(r.v["poll_interval"]), 0)
        self.offer("parse-1")
        st, raw, _ = self.s.req("GET", DEV + "/check?version=1.0.0&slot=0", token=tok, raw=True)
        self.assertEqual(st, 200)
        import json
        want = json.loads(raw)
        r = nl.netpull("parse", nl.write_tmp(self.d, "offer.json", raw))
        u = want["update"]
        self.assertEqual(r.result, "OTA_OK", r)
        for k in ("action_id", "version", "size", "sha256", "url", "security_counter", "slot", "status"):
            self.assertEqual(r.v[k], str(u[k]), k)
        self.assertEqual(r.v["reboot_on_command"], "1" if u["reboot"] == "on_command" else "0")
        self.assertEqual(r.v["poll_interval"], str(want["poll_interval"]))
        self.assertEqual([c[:3] for c in r.commands],
                         [[str(c["id"]), c["type"], str(c.get("action_id") or 0)] for c in want["commands"]])
        # the same answer cut short, or with a byte flipped into garbage: refused, never half read
        for bad in (raw[:len(raw) // 2], raw.replace(b'"size":', b'"size":-'), raw + b"}"):
            r = nl.netpull("parse", nl.write_tmp(self.d, "bad.json", bad))
            self.assertEqual((r.rc, r.result), (1, "OTA_ERR_JSON"), bad)
        # the device's own check over the HTTP client sees the same in-flight offer
        r = nl.netpull("check", "--server", self.s.url + "/", "--token", tok, "--version", "1.0.0", "--slot", "0")
        self.assertEqual((r.result, r.v["sha256"], r.v["action_id"]), ("OTA_OK", self.sha, str(u["action_id"])), r)
        r = nl.netpull("check", "--server", self.s.url, "--token", "wrong", "--version", "1.0.0")
        self.assertEqual(r.result, "OTA_ERR_HTTP_STATUS", r)

    def test_fifty_cuts_resume(self):
        """A proxy cuts the connection at 50 random offsets: every retry continues with Range + If-Range
        exactly where the last one stopped, and the final image is byte-identical and verifies."""
        tok = self.device("cut-1")
        cuts = sorted(random.Random(50).sample(range(1, len(self.img)), 50))  # image offsets to cut at

        def handler(req, i):
            raw = nl.upstream(self.s.port, req.raw + b"\r\n\r\n")
            if i >= len(cuts):
                return nl.Answer(raw)
            start = int(req.headers["range"][6:-1]) if "range" in req.headers else 0
            return nl.Answer(raw, cut=nl.head_len(raw) + cuts[i] - start)  # the body stops at cuts[i]

        with nl.FakeServer(handler) as px:
            dump = os.path.join(self.d, "cut.bin")
            url = px.url + "/api/v1/artifacts/" + self.sha
            r = nl.netpull("pull", *nl.pull_args(url, self.img, extra=["--token", tok, "--dump", dump, "--expect",
                                                                        self.img_path, "--retries", "3"]))
            self.assert_installed(r, dump)
            self.assertEqual((r.stats["requests"], r.stats["resumes"], r.stats["restarts"], r.stats["failures"]),
                             (51, 50, 0, 50), r)
            self.assertEqual(r.v["gens"], "A")
            got = 0
            for i, req in enumerate(px.requests):
                if i == 0:
                    self.assertNotIn("range", req.headers)
                else:
                    self.assertEqual(req.headers["range"], "bytes=%d-" % got, i)
                    self.assertEqual(req.headers["if-range"], '"%s"' % self.sha)
                sent = px.sent[i]
                got += len(sent) - nl.head_len(sent)  # body bytes delivered on this connection
            self.assertEqual(got, len(self.img))

    def test_power_cuts_resume_from_the_journal(self):
        """The device dies (power cut in a flash operation) mid-download, twice; each new process finds
        the download in the journal, re-hashes what flash holds and continues with a Range request."""
        tok = self.device("reset-1")
        flash = os.path.join(self.d, "reset.flash")
        dump = os.path.join(self.d, "reset.bin")
        with nl.FakeServer(lambda req, i: nl.upstream(self.s.port, req.raw + b"\r\n\r\n")) as px:
            url = px.url + "/api/v1/artifacts/" + self.sha
            offsets = []
            for cut in (25, 40):  # program/erase op numbers a few sectors into the download
                r = nl.netpull("pull", *nl.pull_args(url, self.img, flash=flash,
                                                     extra=["--token", tok, "--cut-op", cut, "--expect",
                                                            self.img_path]))
                self.assertEqual((r.rc, r.v["dead"]), (1, "1"), r)
                self.assertTrue(r.result.startswith("OTA_ERR_FLASH"), r)
                self.assertEqual(r.v["gens"], "A")
                offsets.append(r.stats["reset_offset"])
            r = nl.netpull("pull", *nl.pull_args(url, self.img, flash=flash,
                                                 extra=["--token", tok, "--dump", dump, "--expect", self.img_path]))
            self.assertEqual(r.v["state_before"], "downloading", r)
            self.assert_installed(r, dump)
            offsets.append(r.stats["reset_offset"])
            self.assertEqual(offsets[0], 0)
            self.assertTrue(0 < offsets[1] < offsets[2] < len(self.img), offsets)
            self.assertEqual((r.stats["resumes"], r.stats["restarts"]), (1, 0), r)
            self.assertEqual(px.requests[-1].headers["range"], "bytes=%d-" % offsets[2])
            self.assertEqual(r.v["gens"], "A")


if __name__ == "__main__":
    unittest.main(verbosity=2)
