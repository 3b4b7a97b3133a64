"""ota_pull_precheck() against a real otakit-server on loopback: the image's product, hardware
revisions and security counter (protected TLVs after the payload) are fetched with two small Range
requests and checked BEFORE ota_begin(): a refused image causes no flash program/erase at all and no
whole-image GET; a matching image passes and is then pulled and verified by ota_end(); a server that
ignores Range makes the pre-check skip (unchecked) and the pull still works."""
import hashlib
import os
import random
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib as nl  # noqa: E402

OTHER = "other-dev"


def image(version, seed, product=nl.PRODUCT, hw=("a", "b"), sec=3):
    payload = random.Random(seed).randbytes(60000)
    extra = ["--product", product, "--pad-sig", "-s", str(sec)]
    for h in hw:
        extra += ["--hw-rev", h]
    return nl.sign(payload, version, extra=extra)


def precheck(r):
    """The "precheck" line as a dict (result first)."""
    line = r.v["precheck"].split()
    d = {"result": line[0]}
    for kv in line[1:]:
        k, _, v = kv.partition("=")
        d[k] = int(v) if v.isdigit() else v
    return d


class Precheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = nl.tmpdir()
        cls.s = nl.Server().start()
        cls.tok = cls.s.product(nl.PRODUCT)["owner_token"]
        cls.other_tok = cls.s.product(OTHER)["owner_token"]
        cls.img = image("2.0.0", 21)
        cls.other = image("2.0.0", 22, product=OTHER)
        for img, prod, tok in ((cls.img, nl.PRODUCT, cls.tok), (cls.other, OTHER, cls.other_tok)):
            st, rel, _ = cls.s.req("POST", "/api/v1/products/%s/releases" % prod, img, token=tok)
            assert st == 201, (st, rel)
        cls.url = cls.s.url + "/api/v1/artifacts/" + hashlib.sha256(cls.img).hexdigest()
        cls.other_url = cls.s.url + "/api/v1/artifacts/" + hashlib.sha256(cls.other).hexdigest()
        cls.img_path = nl.write_tmp(cls.d, "fw.img", cls.img)

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.d, ignore_errors=True)

    def proxy(self):
        """A recording proxy in front of the server: (FakeServer, list of (Range header, status))."""
        seen = []

        def handler(req, idx):
            ans = nl.upstream(self.s.port, req.raw + b"\r\n\r\n")
            seen.append((req.headers.get("range"), int(ans.split(b" ", 2)[1])))
            return ans
        return nl.FakeServer(handler), seen

    def refused(self, url, img, token, extra, err):
        fs, seen = self.proxy()
        with fs:
            url = url.replace(self.s.url, fs.url)
            r = nl.netpull("pull", *nl.pull_args(url, img, extra=["--token", token, "--precheck", *extra]))
        pc = precheck(r)
        self.assertEqual((r.rc, r.result, pc["result"], pc["checked"]), (1, err, err, 1), r)
        self.assertEqual(pc["flash_ops"], 0, r)          # not one program or erase
        self.assertNotIn("stats", r.v, r)                # ota_pull_image never ran
        self.assertEqual(r.v["state_after"], "none", r)  # no download begun
        self.assertEqual(pc["requests"], 2, r)
        self.assertLessEqual(pc["bytes"], 32 + 512, r)
        self.assertLess(pc["wire"], 4096, r)             # the device read a few hundred bytes, not 60 KB
        # the server saw exactly the two Range requests: the header and the TLV areas after the payload
        tlv_off = 32 + 60000
        self.assertEqual(seen, [("bytes=0-", 206), ("bytes=%d-" % tlv_off, 206)], r)
        return r, pc

    def test_other_product_refused_before_download(self):
        r, pc = self.refused(self.other_url, self.other, self.other_tok, [], "OTA_ERR_PRODUCT")
        self.assertEqual(pc["product"], OTHER, r)

    def test_hw_rev_not_listed_refused(self):
        r, pc = self.refused(self.url, self.img, self.tok, ["--hw-rev", "c"], "OTA_ERR_HW_REV")
        self.assertEqual((pc["product"], pc["hw_rev"]), (nl.PRODUCT, "a,b"), r)

    def test_security_counter_below_floor_refused(self):
        r, pc = self.refused(self.url, self.img, self.tok, ["--floor", "4"], "OTA_ERR_DOWNGRADE")
        self.assertEqual(pc["security_counter"], 3, r)

    def test_version_not_newer_refused(self):
        self.refused(self.url, self.img, self.tok, ["--running", "2.0.0"], "OTA_ERR_DOWNGRADE")

    def test_matching_image_passes_then_pulls_and_verifies(self):
        dump = os.path.join(self.d, "ok.bin")
        r = nl.netpull("pull", *nl.pull_args(self.url, self.img, extra=[
            "--token", self.tok, "--precheck", "--hw-rev", "b", "--floor", "3", "--running", "1.9.9",
            "--dump", dump, "--expect", self.img_path]))
        pc = precheck(r)
        self.assertEqual((r.rc, r.result, pc["result"], pc["checked"], pc["flash_ops"]), (0, "OTA_OK", "OTA_OK", 1, 0), r)
        self.assertEqual((pc["product"], pc["hw_rev"], pc["security_counter"]), (nl.PRODUCT, "a,b", 3), r)
        self.assertEqual((r.v["state_after"], r.v["gens"]), ("new", "A"), r)
        with open(dump, "rb") as f:
            self.assertEqual(f.read(), self.img)

    def test_server_ignoring_range_skips_the_precheck(self):
        with open(self.img_path, "rb") as f:
            data = f.read()
        etag = '"%s"' % hashlib.sha256(data).hexdigest()
        with nl.FakeServer(lambda req, i: nl.serve_file(req, data, etag, honour_range=False)) as fs:
            dump = os.path.join(self.d, "skip.bin")
            r = nl.netpull("pull", *nl.pull_args(fs.url + "/fw.img", self.img, extra=[
                "--precheck", "--hw-rev", "c", "--dump", dump]))  # hw c would be refused if checked...
        pc = precheck(r)
        self.assertEqual((pc["result"], pc["checked"], pc["requests"], pc["bytes"], pc["flash_ops"]),
                         ("OTA_OK", 0, 1, 0, 0), r)
        # ...so the pull runs, and ota_end() refuses it from flash: the real check still protects
        self.assertEqual((r.rc, r.result), (1, "OTA_ERR_HW_REV"), r)
        with nl.FakeServer(lambda req, i: nl.serve_file(req, data, etag, honour_range=False)) as fs:
            r = nl.netpull("pull", *nl.pull_args(fs.url + "/fw.img", self.img, extra=["--precheck", "--dump", dump]))
        pc = precheck(r)
        self.assertEqual((pc["result"], pc["checked"], r.rc, r.result), ("OTA_OK", 0, 0, "OTA_OK"), r)
        with open(dump, "rb") as f:
            self.assertEqual(f.read(), self.img)


if __name__ == "__main__":
    unittest.main(verbosity=2)
