#!/usr/bin/env python3
"""A demo fleet for the main job: N devices that speak otakit-server's device API (register, check,
download in Range pieces, verify the image with `otakit verify`, report each step). Until the
simulated devices of the device library take over, this shows the server side of an update.

usage: demo_fleet.py URL ENROLL_TOKEN PUBKEY OTAKIT N ROUNDS [--fail-version V]
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse


class Device:
    def __init__(self, url, name):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.name = u.hostname, u.port, name
        self.version, self.token, self.slot = "1.0.0+0", None, 0

    def req(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if body is not None:
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data, {k.lower(): v for k, v in r.getheaders()}

    def register(self, enroll):
        self.token = enroll
        st, data, _ = self.req("POST", "/api/v1/device/register",
                               {"device_id": self.name, "hw_rev": "revA", "version": self.version, "slot": 0})
        if st == 409:
            raise SystemExit("device %s exists already (rerun with a fresh data dir)" % self.name)
        self.token = json.loads(data)["device_token"]

    def report(self, action, status, **extra):
        self.req("POST", "/api/v1/device/report", dict(action_id=action, status=status, **extra))

    def step(self, pub, otakit, fail_version):
        st, data, _ = self.req("GET", "/api/v1/device/check?version=%s&slot=%d"
                               % (urllib.parse.quote(self.version, safe=""), self.slot))
        if st != 200:
            raise SystemExit("%s: check answered %d: %s" % (self.name, st, data.decode(errors="replace")))
        upd = json.loads(data)["update"]
        if not upd:
            return None
        a, path = upd["action_id"], urllib.parse.urlparse(upd["url"]).path
        self.report(a, "downloading", progress=0)
        img, size = b"", upd["size"]
        while len(img) < size:  # 64 KiB Range pieces, as a device resuming would
            st, chunk, _ = self.req("GET", path, headers={"Range": "bytes=%d-%d" % (len(img), len(img) + 65535)})
            if st not in (200, 206):
                self.report(a, "failed", message="download answered %d" % st)
                return "failed"
            img = chunk if st == 200 else img + chunk
        self.report(a, "downloaded")
        with tempfile.NamedTemporaryFile(suffix=".img") as f:
            f.write(img)
            f.flush()
            ok = subprocess.run([otakit, "verify", "-q", "-k", pub, f.name], capture_output=True).returncode == 0
        if not ok:
            self.report(a, "failed", message="image did not verify")
            return "failed"
        self.report(a, "installing")
        self.report(a, "installed", version=upd["version"])
        if upd["version"] == fail_version:  # the self-test of this build fails: bootloader rolls back
            self.report(a, "rolled_back", message="self-test failed; previous image restored")
            return "rolled_back"
        self.version, self.slot = upd["version"], 1 - self.slot
        self.report(a, "confirmed", version=self.version)
        return "confirmed " + self.version


def main():
    url, enroll, pub, otakit, n, rounds = sys.argv[1:7]
    fail_version = sys.argv[8] if len(sys.argv) > 8 and sys.argv[7] == "--fail-version" else None
    fleet = [Device(url, "demo-%02d" % i) for i in range(int(n))]
    state_file = os.environ.get("DEMO_FLEET_STATE")
    if state_file and os.path.exists(state_file):
        for d, s in zip(fleet, json.load(open(state_file))):
            d.token, d.version, d.slot = s["token"], s["version"], s["slot"]
    else:
        for d in fleet:
            d.register(enroll)
    for r in range(int(rounds)):
        events = [(d.name, d.step(pub, otakit, fail_version)) for d in fleet]
        done = ["%s %s" % e for e in events if e[1]]
        print("  check-in round %d: %s" % (r + 1, ", ".join(done) if done else "nothing to do"))
    if state_file:
        json.dump([{"token": d.token, "version": d.version, "slot": d.slot} for d in fleet], open(state_file, "w"))


if __name__ == "__main__":
    main()
