"""Device API (register, check, report, command acks) and the management API for devices and
commands, including the seed-004 sys_upgrade / consent / sys_reboot flow.

Releases are inserted straight into DATA/otakit.db (fixtures below), so these tests do not depend
on the upload route. test_rollouts.py imports the fixtures from this module.
"""
import hashlib
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import Server, db_connect  # noqa: E402

DEV = "/api/v1/device"


# ---- fixtures (shared with test_rollouts.py) ----------------------------------------------------

def version_value(v):
    """releases.version_value as the server orders versions: semver major<<55 | minor<<47 |
    revision<<31 | build; Espressif labels "[v|b]N1.N2.N3t<ptype>(x)" N1*1000000 + N2*1000 + N3."""
    if v[0] in "vb" and "t" in v:
        n = [int(x) for x in v[1:v.index("t")].split(".")]
        return n[0] * 1000000 + n[1] * 1000 + n[2]
    core, _, build = v.lstrip("v").partition("+")
    n = [int(x) for x in core.split(".")] + [0, 0, 0]
    return n[0] << 55 | n[1] << 47 | n[2] << 31 | int(build or 0)


def add_release(s, product_id, version, counter=0, slots=(-1,), value=None):
    """Inserts a release with one artifact per slot (-1 universal, 0/1 slot-linked). Returns
    {slot: {"sha256", "sha1", "md5", "size"}}."""
    db = db_connect(s.data)
    try:
        pid = db.execute("SELECT id FROM products WHERE product_id = ?", (product_id,)).fetchone()[0]
        now = int(time.time())
        rid = db.execute("INSERT INTO releases(product, version, version_value, security_counter, created_at) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (pid, version, version_value(version) if value is None else value, counter, now)).lastrowid
        arts = {}
        for slot in slots:
            payload = ("%s/%s/%d" % (product_id, version, slot)).encode() * 50
            a = {"sha256": hashlib.sha256(payload).hexdigest(), "sha1": hashlib.sha1(payload).hexdigest(),
                 "md5": hashlib.md5(payload).hexdigest(), "size": len(payload)}
            name = {-1: "fw.img", 0: "user1.bin", 1: "user2.bin"}[slot]
            db.execute("INSERT INTO artifacts(release, slot, filename, format, size, sha256, sha1, md5, created_at) "
                       "VALUES (?, ?, ?, 'otakit', ?, ?, ?, ?, ?)",
                       (rid, slot, name, a["size"], a["sha256"], a["sha1"], a["md5"], now))
            arts[slot] = a
        db.commit()
        return arts
    finally:
        db.close()


class Device:
    """One simulated device: registers with the enrollment token, then speaks the device API."""

    def __init__(self, s, enroll, device_id, version="1.0.0", slot=0, counter=0, hw_rev="rev-a", groups=None):
        self.s, self.device_id, self.version, self.slot, self.counter = s, device_id, version, slot, counter
        body = {"device_id": device_id, "hw_rev": hw_rev, "version": version, "slot": slot,
                "security_counter": counter}
        if groups is not None:
            body["groups"] = groups
        st, resp, _ = s.req("POST", DEV + "/register", body, token=enroll)
        assert st == 201, (st, resp)
        self.token = resp["device_token"]

    def check(self, **q):
        q.setdefault("version", self.version)
        q.setdefault("slot", self.slot)
        qs = "&".join("%s=%s" % kv for kv in q.items())
        return self.s.req("GET", DEV + "/check?" + qs, token=self.token)[:2]

    def offer(self):
        st, body = self.check()
        assert st == 200, (st, body)
        return body["update"]

    def report(self, action_id, status, **kw):
        kw.update({"action_id": action_id, "status": status})
        return self.s.req("POST", DEV + "/report", kw, token=self.token)[:2]

    def ack(self, cmd_id, status, **kw):
        kw["status"] = status
        return self.s.req("POST", DEV + "/commands/%d" % cmd_id, kw, token=self.token)[:2]

    def install(self, action_id, final="confirmed"):
        """Walks an offer to a final status the way a device does (failed: during the download)."""
        steps = ("downloading", "failed") if final == "failed" else \
            ("downloading", "downloaded", "installing", "installed", final)
        for status in steps:
            st, body = self.report(action_id, status)
            assert st == 200, (status, st, body)
        return st, body


def owner_path(product, *rest):
    return "/api/v1/products/%s/%s" % (product, "/".join(rest))


# ---- tests ----------------------------------------------------------------------------------------

class Devices(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server().start()
        cls.p = cls.s.product("fleet-a")
        cls.owner, cls.enroll = cls.p["owner_token"], cls.p["enroll_token"]

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def dev(self, name, **kw):
        return Device(self.s, self.enroll, name, **kw)

    def get_device(self, name):
        st, body, _ = self.s.req("GET", owner_path("fleet-a", "devices", name), token=self.owner)
        self.assertEqual(st, 200, body)
        return body

    def command(self, name, body, want=201):
        st, resp, _ = self.s.req("POST", owner_path("fleet-a", "devices", name, "commands"), body, token=self.owner)
        self.assertEqual(st, want, resp)
        return resp.get("command") if want == 201 else resp

    # -- registration ------------------------------------------------------------------------
    def test_register(self):
        body = {"device_id": "reg-1", "hw_rev": "rev-b", "version": "v1.0.0t45772(a)", "slot": 1,
                "security_counter": 2, "mac": "18:FE:AA:AA:AA:01", "groups": ["lab", "eu-west"]}
        st, resp, _ = self.s.req("POST", DEV + "/register", body, token=self.enroll)
        self.assertEqual(st, 201, resp)
        self.assertEqual(resp["device_id"], "reg-1")
        self.assertEqual(len(resp["device_token"]), 64)
        self.assertGreater(resp["poll_interval"], 0)
        d = self.get_device("reg-1")
        self.assertEqual((d["version"], d["slot"], d["security_counter"], d["hw_rev"], d["groups"], d["state"]),
                         ("v1.0.0t45772(a)", 1, 2, "rev-b", ["lab", "eu-west"], "registered"))
        self.assertNotIn("device_token", d)
        self.assertEqual([e["kind"] for e in d["events"]], ["registered"])

        # the same device_id again: refused until the owner deletes the device
        st, resp, _ = self.s.req("POST", DEV + "/register", body, token=self.enroll)
        self.assertEqual((st, resp["error"]["code"]), (409, "exists"))
        st, _, _ = self.s.req("DELETE", owner_path("fleet-a", "devices", "reg-1"), token=self.owner)
        self.assertEqual(st, 204)
        st, resp, _ = self.s.req("POST", DEV + "/register", body, token=self.enroll)
        self.assertEqual(st, 201, resp)

    def test_register_validation(self):
        ok = {"device_id": "val-1", "hw_rev": "r", "version": "1.0.0", "slot": 0}
        for bad_id in ["", "a b", "x" * 65, "a/b", "é", 5, None]:
            st, resp, _ = self.s.req("POST", DEV + "/register", dict(ok, device_id=bad_id), token=self.enroll)
            self.assertEqual((st, resp["error"]["code"]), (400, "bad_device_id"), bad_id)
        self.assertEqual(self.s.req("POST", DEV + "/register", dict(ok, device_id="a:b_c-d.1" + "x" * 55),
                                    token=self.enroll)[0], 201)
        for field, value, code in [("slot", 2, "bad_slot"), ("slot", None, "bad_slot"), ("version", "", "bad_version"),
                                   ("version", "1 0", "bad_version"), ("hw_rev", None, "bad_hw_rev"),
                                   ("security_counter", -1, "bad_security_counter"),
                                   ("security_counter", 1 << 33, "bad_security_counter"),
                                   ("groups", ["a b"], "bad_groups"), ("groups", "lab", "bad_groups"),
                                   ("mac", "zz", "bad_mac")]:
            st, resp, _ = self.s.req("POST", DEV + "/register", dict(ok, **{field: value}), token=self.enroll)
            self.assertEqual((st, resp["error"]["code"]), (400, code), (field, value))
        st, resp, _ = self.s.req("GET", owner_path("fleet-a", "devices") + "?version=1.0.0", token=self.owner)
        self.assertNotIn("val-1", [d["device_id"] for d in resp["devices"]])

    def test_register_auth(self):
        other = self.s.product("fleet-auth-other")
        body = {"device_id": "auth-1", "hw_rev": "r", "version": "1.0.0", "slot": 0}
        d = self.dev("auth-0")
        for tok, want in [(None, 401), ("not-a-token", 401), (self.owner, 403), (self.s.admin, 403), (d.token, 403)]:
            st, resp, _ = self.s.req("POST", DEV + "/register", body, token=tok)
            self.assertEqual(st, want, tok)
        # an enrollment token registers into its own product only
        st, resp, _ = self.s.req("POST", DEV + "/register", body, token=other["enroll_token"])
        self.assertEqual(st, 201)
        st, _, _ = self.s.req("GET", owner_path("fleet-a", "devices", "auth-1"), token=self.owner)
        self.assertEqual(st, 404)
        st, _, _ = self.s.req("GET", owner_path("fleet-auth-other", "devices", "auth-1"), token=self.owner)
        self.assertEqual(st, 403)
        # device routes take device tokens only
        for tok, want in [(None, 401), (self.owner, 403), (self.enroll, 403), (self.s.admin, 403)]:
            st, _, _ = self.s.req("GET", DEV + "/check", token=tok)
            self.assertEqual(st, want, tok)

    # -- check -------------------------------------------------------------------------------
    def test_check_with_nothing_to_offer(self):
        d = self.dev("chk-1", version="1.0.0", slot=0)
        before = int(time.time())
        st, body = d.check(version="1.0.1", slot=1, security_counter=4)
        self.assertEqual(st, 200, body)
        self.assertEqual((body["update"], body["commands"]), (None, []))
        self.assertGreater(body["poll_interval"], 0)
        row = self.get_device("chk-1")
        self.assertEqual((row["version"], row["slot"], row["security_counter"], row["state"]), ("1.0.1", 1, 4, "idle"))
        self.assertGreaterEqual(row["last_seen"], before)
        # the recorded counter never goes down
        d.check(version="1.0.1", slot=1, security_counter=1)
        self.assertEqual(self.get_device("chk-1")["security_counter"], 4)
        for q, code in [("slot=2", "bad_slot"), ("security_counter=-1", "bad_security_counter"),
                        ("security_counter=x", "bad_security_counter"), ("version=", "bad_version")]:
            st, resp, _ = self.s.req("GET", DEV + "/check?" + q, token=d.token)
            self.assertEqual((st, resp["error"]["code"]), (400, code), q)

    def test_slot_linked_release_offers_the_inactive_slot(self):
        arts = add_release(self.s, "fleet-a", "2.0.0", slots=(0, 1))
        for slot, want in [(0, 1), (1, 0)]:
            d = self.dev("slot-%d" % slot, slot=slot)
            self.command(d.device_id, {"type": "upgrade", "release": "2.0.0"})
            up = d.offer()
            self.assertEqual(up["slot"], want)
            self.assertEqual(up["filename"], "user%d.bin" % (want + 1))
            for k in ("sha256", "sha1", "md5", "size"):
                self.assertEqual(up[k], arts[want][k], k)
            self.assertEqual(up["url"], "%s/api/v1/artifacts/%s" % (self.s.url, arts[want]["sha256"]))
            self.assertEqual((up["version"], up["security_counter"]), ("2.0.0", 0))
        # a universal image goes to either slot
        uni = add_release(self.s, "fleet-a", "2.0.1")
        d = self.dev("slot-u", slot=1)
        self.command("slot-u", {"type": "upgrade", "release": "2.0.1"})
        up = d.offer()
        self.assertEqual((up["sha256"], up["slot"]), (uni[-1]["sha256"], 0))
        # a release with an image for one slot only cannot go to a device running from the other
        add_release(self.s, "fleet-a", "2.0.2", slots=(0,))
        self.dev("slot-x", slot=0)
        resp = self.command("slot-x", {"type": "upgrade", "release": "2.0.2"}, want=409)
        self.assertEqual(resp["error"]["code"], "no_artifact")

    def test_security_counter_is_never_undercut(self):
        add_release(self.s, "fleet-a", "3.0.0", counter=3)
        d = self.dev("sec-5", counter=5)
        resp = self.command("sec-5", {"type": "upgrade", "release": "3.0.0"}, want=409)
        self.assertEqual(resp["error"]["code"], "security_counter")
        self.assertIsNone(d.offer())
        # a device whose counter rises after the command was queued is not offered either
        e = self.dev("sec-0", counter=0)
        cmd = self.command("sec-0", {"type": "upgrade", "release": "3.0.0"})
        st, body = e.check(security_counter=5)
        self.assertEqual((body["update"], body["commands"]), (None, []))
        cmds = {c["id"]: c for c in self.get_device("sec-0")["commands"]}
        self.assertEqual(cmds[cmd["id"]]["status"], "failed")
        # ... and an offer made before the counter rose is withdrawn
        f = self.dev("sec-1", counter=0)
        self.command("sec-1", {"type": "upgrade", "release": "3.0.0"})
        self.assertEqual(f.offer()["version"], "3.0.0")
        st, body = f.check(security_counter=4)
        self.assertIsNone(body["update"])
        self.assertEqual(self.get_device("sec-1")["actions"][0]["status"], "cancelled")
        # the version a device already runs is not offered
        add_release(self.s, "fleet-a", "3.0.1", counter=5)
        self.dev("sec-same", version="3.0.1", counter=5)
        resp = self.command("sec-same", {"type": "upgrade", "release": "3.0.1"}, want=409)
        self.assertEqual(resp["error"]["code"], "already_running")

    # -- reports -----------------------------------------------------------------------------
    def test_report_transitions_and_history(self):
        add_release(self.s, "fleet-a", "4.0.0", counter=2)
        d = self.dev("rep-1")
        self.command("rep-1", {"type": "upgrade", "release": "4.0.0"})
        aid = d.offer()["action_id"]
        # impossible moves are refused before anything happens
        for status, code, want in [("rolled_back", "bad_transition", 409), ("offered", "bad_status", 400),
                                   ("done", "bad_status", 400)]:
            st, resp = d.report(aid, status)
            self.assertEqual((st, resp["error"]["code"]), (want, code), status)
        st, resp = d.report(aid, "downloading", progress=101)
        self.assertEqual((st, resp["error"]["code"]), (400, "bad_progress"))
        st, resp = d.report(0, "downloading")
        self.assertEqual((st, resp["error"]["code"]), (400, "bad_action_id"))
        st, resp = d.report(999999, "downloading")
        self.assertEqual((st, resp["error"]["code"]), (404, "not_found"))
        for status, kw in [("downloading", {"progress": 0}), ("downloading", {"progress": 50}),
                           ("downloaded", {"progress": 100}), ("installing", {}), ("installed", {}),
                           ("confirmed", {"message": "self-test passed"})]:
            st, resp = d.report(aid, status, **kw)
            self.assertEqual((st, resp["status"]), (200, status), resp)
            if status != "confirmed":
                self.assertEqual(self.get_device("rep-1")["state"], "updating")
        st, resp = d.report(aid, "downloading")
        self.assertEqual((st, resp["error"]["code"]), (409, "bad_transition"))
        st, resp = d.report(aid, "confirmed")  # a retried final report
        self.assertEqual((st, resp.get("duplicate")), (200, True))
        row = self.get_device("rep-1")
        self.assertEqual((row["version"], row["security_counter"], row["state"]), ("4.0.0", 2, "idle"))
        self.assertEqual(row["actions"][0]["status"], "confirmed")
        self.assertEqual(row["actions"][0]["progress"], 100)
        kinds = [e["kind"] for e in reversed(row["events"]) if e["action_id"] == aid]
        self.assertEqual(kinds, ["offered", "command_delivered", "downloading", "downloading", "downloaded",
                                 "command_queued", "installing", "installed", "confirmed"])
        ev = [e for e in row["events"] if e["kind"] == "downloading"]
        self.assertEqual(sorted(e["detail"]["progress"] for e in ev), [0, 50])
        self.assertIsNone(d.offer())

    def test_failure_and_rollback(self):
        add_release(self.s, "fleet-a", "4.1.0")
        d = self.dev("rep-fail")
        self.command("rep-fail", {"type": "upgrade", "release": "4.1.0"})
        aid = d.offer()["action_id"]
        d.report(aid, "downloading")
        st, _ = d.report(aid, "failed", message="sha256 mismatch")
        self.assertEqual(st, 200)
        row = self.get_device("rep-fail")
        self.assertEqual((row["state"], row["version"], row["actions"][0]["message"]),
                         ("failed", "1.0.0", "sha256 mismatch"))
        e = self.dev("rep-rb")
        self.command("rep-rb", {"type": "upgrade", "release": "4.1.0"})
        aid = e.offer()["action_id"]
        for status in ("downloading", "downloaded", "installing", "installed", "rolled_back"):
            self.assertEqual(e.report(aid, status)[0], 200, status)
        self.assertEqual(self.get_device("rep-rb")["actions"][0]["status"], "rolled_back")
        self.assertEqual(e.report(aid, "confirmed")[0], 409)

    def test_device_cannot_touch_another_devices_action_or_command(self):
        add_release(self.s, "fleet-a", "5.0.0")
        a, b = self.dev("own-a"), self.dev("own-b")
        self.command("own-a", {"type": "upgrade", "release": "5.0.0"})
        st, body = a.check()
        aid, cid = body["update"]["action_id"], body["commands"][0]["id"]
        st, resp = b.report(aid, "downloading")
        self.assertEqual((st, resp["error"]["code"]), (403, "forbidden"))
        st, resp = b.ack(cid, "done")
        self.assertEqual((st, resp["error"]["code"]), (403, "forbidden"))
        st, resp = b.ack(999999, "done")
        self.assertEqual(st, 404)
        self.assertEqual(self.get_device("own-a")["actions"][0]["status"], "offered")
        self.assertEqual(a.report(aid, "downloading")[0], 200)

    # -- commands ----------------------------------------------------------------------------
    def test_command_is_delivered_once_then_acked(self):
        d = self.dev("cmd-1")
        cmd = self.command("cmd-1", {"type": "reboot"})
        self.assertEqual((cmd["type"], cmd["status"]), ("reboot", "queued"))
        st, resp = d.ack(cmd["id"], "done")
        self.assertEqual((st, resp["error"]["code"]), (409, "not_delivered"))
        st, body = d.check()
        self.assertEqual([(c["id"], c["type"]) for c in body["commands"]], [(cmd["id"], "reboot")])
        self.assertEqual(body["poll_interval"], 30)  # something is in flight: come back soon
        st, body = d.check()
        self.assertEqual(body["commands"], [])
        st, _, _ = self.s.req("GET", owner_path("fleet-a", "devices", "cmd-1", "commands"), token=self.owner)
        st, lst, _ = self.s.req("GET", owner_path("fleet-a", "devices", "cmd-1", "commands"), token=self.owner)
        self.assertEqual(lst["commands"][0]["status"], "delivered")
        st, resp = d.ack(cmd["id"], "done", message="rebooting")
        self.assertEqual((st, resp["status"]), (200, "done"))
        self.assertEqual(d.ack(cmd["id"], "done")[0], 200)  # a retried ack
        st, resp = d.ack(cmd["id"], "failed")
        self.assertEqual((st, resp["error"]["code"]), (409, "already_acked"))
        st, resp = d.ack(cmd["id"], "maybe")
        self.assertEqual((st, resp["error"]["code"]), (400, "bad_status"))
        row = self.get_device("cmd-1")
        self.assertEqual((row["commands"][0]["status"], row["commands"][0]["message"]), ("done", "rebooting"))
        self.assertIn("command_done", [e["kind"] for e in row["events"]])
        # bad commands
        for body, code, want in [({"type": "format"}, "bad_type", 400), ({"type": "upgrade"}, "bad_release", 400),
                                 ({"type": "upgrade", "release": "9.9.9"}, "release_not_found", 404),
                                 ({"type": "reboot", "consent": True}, "bad_command", 400),
                                 ({"type": "upgrade", "release": "9.9.9", "consent": "yes"}, "bad_consent", 400)]:
            resp = self.command("cmd-1", body, want=want)
            self.assertEqual(resp["error"]["code"], code, body)
        resp = self.command("nobody", {"type": "reboot"}, want=404)
        self.assertEqual(resp["error"]["code"], "not_found")

    def test_upgrade_without_consent_reboots_after_download(self):
        add_release(self.s, "fleet-a", "6.0.0", slots=(0, 1))
        d = self.dev("up-1", slot=0)
        cmd = self.command("up-1", {"type": "upgrade", "release": "6.0.0"})
        st, body = d.check()
        self.assertEqual(body["commands"][0]["type"], "upgrade")
        self.assertFalse(body["commands"][0]["consent_required"])
        aid = body["update"]["action_id"]
        self.assertEqual(body["commands"][0]["action_id"], aid)
        self.assertEqual(body["update"]["reboot"], "on_command")
        d.ack(cmd["id"], "done")
        d.report(aid, "downloading", progress=30)
        self.assertEqual(d.check()[1]["commands"], [])  # no reboot before the download finished
        d.report(aid, "downloaded")
        st, body = d.check()
        self.assertEqual([(c["type"], c.get("action_id")) for c in body["commands"]], [("reboot", aid)])
        d.ack(body["commands"][0]["id"], "done")
        d.report(aid, "installed", version="6.0.0")
        d.report(aid, "confirmed")
        d.slot, d.version = 1, "6.0.0"
        st, body = d.check()
        self.assertEqual((body["update"], body["commands"]), (None, []))
        self.assertEqual(self.get_device("up-1")["version"], "6.0.0")

    def test_consent_flow_end_to_end(self):
        """Seed 004: sys_upgrade -> download finished -> the user decides -> sys_reboot."""
        add_release(self.s, "fleet-a", "7.0.0", slots=(0, 1))
        d = self.dev("cons-1", slot=1)
        cmd = self.command("cons-1", {"type": "upgrade", "release": "7.0.0", "consent": True})
        self.assertEqual(cmd["consent"], "pending")
        st, body = d.check()
        up, c = body["update"], body["commands"][0]
        self.assertEqual((c["type"], c["version"], c["consent_required"], up["slot"], up["filename"]),
                         ("upgrade", "7.0.0", True, 0, "user1.bin"))
        aid = up["action_id"]
        d.report(aid, "downloading", progress=50)
        d.report(aid, "downloaded")  # "download finished"
        st, body = d.check()
        self.assertEqual(body["commands"], [])  # waiting for the user
        row = self.get_device("cons-1")
        self.assertIn("awaiting_consent", [e["kind"] for e in row["events"]])
        self.assertEqual(row["actions"][0]["status"], "downloaded")
        # the user says yes in the app: the owner posts the consent
        path = owner_path("fleet-a", "devices", "cons-1", "commands", str(cmd["id"]), "consent")
        st, resp, _ = self.s.req("POST", path, {"granted": True}, token=self.owner)
        self.assertEqual((st, resp["command"]["consent"]), (200, "granted"))
        st, resp, _ = self.s.req("POST", path, {"granted": False}, token=self.owner)
        self.assertEqual((st, resp["error"]["code"]), (409, "consent_decided"))
        st, body = d.check()
        self.assertEqual([(x["type"], x["action_id"]) for x in body["commands"]], [("reboot", aid)])
        self.assertEqual(d.ack(body["commands"][0]["id"], "done")[0], 200)
        d.report(aid, "installed")
        d.report(aid, "confirmed", version="7.0.0")
        row = self.get_device("cons-1")
        self.assertEqual((row["version"], row["actions"][0]["status"]), ("7.0.0", "confirmed"))
        kinds = [e["kind"] for e in reversed(row["events"])]
        for k in ("offered", "downloaded", "awaiting_consent", "consent_granted", "command_queued", "confirmed"):
            self.assertIn(k, kinds)
        self.assertLess(kinds.index("awaiting_consent"), kinds.index("consent_granted"))

        # consent given before the download finished: the reboot follows the download at once
        e = self.dev("cons-early", slot=0)
        cmd = self.command("cons-early", {"type": "upgrade", "release": "7.0.0", "consent": True})
        aid = e.offer()["action_id"]
        st, _, _ = self.s.req("POST", owner_path("fleet-a", "devices", "cons-early", "commands", str(cmd["id"]),
                                                 "consent"), {}, token=self.owner)
        self.assertEqual(st, 200)
        self.assertEqual(e.check()[1]["commands"], [])
        e.report(aid, "downloaded")
        self.assertEqual([x["type"] for x in e.check()[1]["commands"]], ["reboot"])

    def test_consent_declined(self):
        add_release(self.s, "fleet-a", "7.1.0")
        # declined by the owner (the user said no in the app)
        d = self.dev("decl-1")
        cmd = self.command("decl-1", {"type": "upgrade", "release": "7.1.0", "consent": True})
        aid = d.offer()["action_id"]
        d.report(aid, "downloaded")
        path = owner_path("fleet-a", "devices", "decl-1", "commands", str(cmd["id"]), "consent")
        st, resp, _ = self.s.req("POST", path, {"granted": False}, token=self.owner)
        self.assertEqual((st, resp["command"]["consent"]), (200, "declined"))
        st, body = d.check()
        self.assertEqual((body["update"], body["commands"]), (None, []))
        self.assertEqual(self.get_device("decl-1")["actions"][0]["status"], "cancelled")
        # declined on the device
        e = self.dev("decl-2")
        cmd = self.command("decl-2", {"type": "upgrade", "release": "7.1.0", "consent": True})
        st, body = e.check()
        aid = body["update"]["action_id"]
        e.report(aid, "downloaded")
        st, resp = e.ack(cmd["id"], "declined", message="user pressed no")
        self.assertEqual((st, resp["consent"]), (200, "declined"))
        self.assertEqual(e.check()[1]["commands"], [])
        row = self.get_device("decl-2")
        self.assertEqual(row["actions"][0]["status"], "cancelled")
        st, resp, _ = self.s.req("POST", owner_path("fleet-a", "devices", "decl-2", "commands", str(cmd["id"]),
                                                    "consent"), {"granted": True}, token=self.owner)
        self.assertEqual((st, resp["error"]["code"]), (409, "consent_decided"))
        # consent on a command that does not ask for it
        cmd = self.command("decl-2", {"type": "reboot"})
        st, resp, _ = self.s.req("POST", owner_path("fleet-a", "devices", "decl-2", "commands", str(cmd["id"]),
                                                    "consent"), {}, token=self.owner)
        self.assertEqual((st, resp["error"]["code"]), (409, "consent_not_required"))

    def test_newer_upgrade_command_supersedes(self):
        add_release(self.s, "fleet-a", "8.0.0")
        add_release(self.s, "fleet-a", "8.1.0")
        d = self.dev("sup-1")
        first = self.command("sup-1", {"type": "upgrade", "release": "8.0.0"})
        second = self.command("sup-1", {"type": "upgrade", "release": "8.1.0"})
        st, body = d.check()
        self.assertEqual([c["id"] for c in body["commands"]], [second["id"]])
        self.assertEqual(body["update"]["version"], "8.1.0")
        statuses = {c["id"]: c["status"] for c in self.get_device("sup-1")["commands"]}
        self.assertEqual((statuses[first["id"]], statuses[second["id"]]), ("cancelled", "delivered"))
        old = body["update"]["action_id"]
        d.report(old, "downloading")
        third = self.command("sup-1", {"type": "upgrade", "release": "8.0.0"})
        st, body = d.check()
        self.assertEqual(body["update"]["version"], "8.0.0")
        acts = {a["id"]: a["status"] for a in self.get_device("sup-1")["actions"]}
        self.assertEqual(acts[old], "cancelled")
        self.assertEqual(body["commands"][0]["id"], third["id"])
        st, resp = d.report(old, "downloaded")
        self.assertEqual((st, resp["error"]["code"]), (409, "bad_transition"))

    # -- management --------------------------------------------------------------------------
    def test_list_filters_get_delete(self):
        s = self.s
        p = s.product("fleet-list")
        own, enr = p["owner_token"], p["enroll_token"]
        for i in range(6):
            Device(s, enr, "ls-%d" % i, version="1.0.%d" % (i % 2), groups=["g%d" % (i % 3), "all"],
                   hw_rev="rev-%d" % (i % 2))
        Device(s, enr, "ls-under_score", groups=["a_b"])
        Device(s, enr, "ls-x", groups=["axb"])

        def names(q=""):
            st, body, _ = s.req("GET", "/api/v1/products/fleet-list/devices" + q, token=own)
            self.assertEqual(st, 200, body)
            return [d["device_id"] for d in body["devices"]]
        self.assertEqual(len(names()), 8)
        self.assertEqual(names("?group=g1"), ["ls-1", "ls-4"])
        self.assertEqual(names("?group=a_b"), ["ls-under_score"])  # not a LIKE pattern
        self.assertEqual(names("?version=1.0.1"), ["ls-1", "ls-3", "ls-5"])
        self.assertEqual(names("?version=1.0.1&group=g0"), ["ls-3"])
        self.assertEqual(names("?hw_rev=rev-0&group=all"), ["ls-0", "ls-2", "ls-4"])
        self.assertEqual(names("?state=registered&limit=2"), ["ls-0", "ls-1"])
        self.assertEqual(names("?limit=2&offset=2"), ["ls-2", "ls-3"])
        self.assertEqual(names("?state=idle"), [])
        st, body, _ = s.req("GET", "/api/v1/products/fleet-list/devices?limit=0", token=own)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_limit"))
        st, body, _ = s.req("GET", "/api/v1/products/fleet-list/devices?group=a%20b", token=own)
        self.assertEqual((st, body["error"]["code"]), (400, "bad_group"))
        st, body, _ = s.req("GET", "/api/v1/products/nope/devices", token=s.admin)
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))
        st, body, _ = s.req("GET", "/api/v1/products/fleet-list/devices", token=self.owner)
        self.assertEqual(st, 403)  # another product's owner
        st, body, _ = s.req("GET", "/api/v1/products/fleet-list/devices", token=s.admin)
        self.assertEqual(st, 200)
        # delete: gone, its token no longer works, its history is gone with it
        dev = Device(s, enr, "ls-del")
        st, _, _ = s.req("DELETE", "/api/v1/products/fleet-list/devices/ls-del", token=own)
        self.assertEqual(st, 204)
        st, _, _ = s.req("GET", "/api/v1/products/fleet-list/devices/ls-del", token=own)
        self.assertEqual(st, 404)
        st, _ = dev.check()
        self.assertEqual(st, 401)
        st, body, _ = s.req("DELETE", "/api/v1/products/fleet-list/devices/ls-del", token=own)
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))


class Uploaded(unittest.TestCase):
    def test_offer_of_an_uploaded_release_downloads_byte_identical(self):
        """The whole path: upload a signed image, order the upgrade, follow the manifest's URL."""
        from otaserver import sign
        import urllib.parse
        s = Server().start()
        try:
            p = s.product("e2e")
            img = sign(os.urandom(3000), "2.1.0", extra=("-s", "3"))
            st, rel, _ = s.req("POST", "/api/v1/products/e2e/releases", img, token=p["owner_token"])
            self.assertEqual(st, 201, rel)
            version = rel.get("version", "2.1.0")
            d = Device(s, p["enroll_token"], "e2e-1", counter=1)
            st, resp, _ = s.req("POST", "/api/v1/products/e2e/devices/e2e-1/commands",
                                {"type": "upgrade", "release": version}, token=p["owner_token"])
            self.assertEqual(st, 201, resp)
            up = d.offer()
            self.assertEqual((up["version"], up["security_counter"], up["size"]), (version, 3, len(img)))
            self.assertEqual(up["sha256"], hashlib.sha256(img).hexdigest())
            self.assertEqual(up["md5"], hashlib.md5(img).hexdigest())
            url = urllib.parse.urlparse(up["url"])
            self.assertEqual("%s://%s" % (url.scheme, url.netloc), s.url)
            st, body, _ = s.req("GET", url.path, token=d.token, raw=True)
            self.assertEqual((st, hashlib.sha256(body).hexdigest()), (200, up["sha256"]))
            other = Device(s, p["enroll_token"], "e2e-2")
            self.assertIsNone(other.offer())  # an upgrade command is for its device only
            # "2.1.0" as firmware reports it is the release the server stores as 2.1.0+0
            same = Device(s, p["enroll_token"], "e2e-3", version="2.1.0")
            st, resp, _ = s.req("POST", "/api/v1/products/e2e/devices/e2e-3/commands",
                                {"type": "upgrade", "release": "2.1.0"}, token=p["owner_token"])
            self.assertEqual((st, resp["error"]["code"]), (409, "already_running"), resp)
            st, ro, _ = s.req("POST", "/api/v1/products/e2e/rollouts",
                              {"release": "v2.1.0", "target": {"devices": ["e2e-2", "e2e-3"]}}, token=p["owner_token"])
            self.assertEqual((st, ro["release"], ro["excluded"]), (201, version,
                                                                   [{"device_id": "e2e-3", "reason": "up_to_date"}]))
            self.assertEqual(other.offer()["version"], version)
            self.assertIsNone(same.offer())
        finally:
            s.__exit__(None, None, None)


class Espressif(unittest.TestCase):
    def test_labels_and_user1_user2(self):
        """Seed 004 / protocols.md 9: labels order by N1.N2.N3, (l)/(n) labels never go over the air,
        and a device running user1.bin (slot 0) downloads user2.bin."""
        import subprocess
        from otaserver import CLI, VECTORS
        s = Server().start()
        try:
            pem = subprocess.run([CLI, "getpub", "-k", os.path.join(VECTORS, "ec256-pub.pem"), "-e", "pem"],
                                 check=True, capture_output=True).stdout.decode()
            st, p, _ = s.req("POST", "/api/v1/products", {"product_id": "esp", "name": "esp", "public_key": pem,
                                                          "version_rule": "espressif"}, token=s.admin)
            self.assertEqual(st, 201, p)
            own = p["owner_token"]
            arts = add_release(s, "esp", "v1.0.2t45772(a)", slots=(0, 1))
            add_release(s, "esp", "v1.0.3t45772(n)", slots=(0, 1))
            add_release(s, "esp", "v1.0.4t45772(l)", slots=(0, 1))
            d1 = Device(s, p["enroll_token"], "esp-1", version="v1.0.1t45772(a)", slot=0)
            d2 = Device(s, p["enroll_token"], "esp-2", version="v1.0.1t45772(a)", slot=1)
            Device(s, p["enroll_token"], "esp-3", version="v1.0.2t45772(o)", slot=0)
            for rel in ("v1.0.3t45772(n)", "v1.0.4t45772(l)"):
                st, resp, _ = s.req("POST", "/api/v1/products/esp/devices/esp-1/commands",
                                    {"type": "upgrade", "release": rel}, token=own)
                self.assertEqual((st, resp["error"]["code"]), (409, "not_upgradable"), rel)
                st, resp, _ = s.req("POST", "/api/v1/products/esp/rollouts",
                                    {"release": rel, "target": {"devices": ["esp-1"]}}, token=own)
                self.assertEqual((st, resp["error"]["code"]), (409, "not_upgradable"), rel)
            st, ro, _ = s.req("POST", "/api/v1/products/esp/rollouts",
                              {"release": "v1.0.2t45772(a)", "target": {"filter": {}}}, token=own)
            self.assertEqual(st, 201, ro)
            self.assertEqual(ro["excluded"], [{"device_id": "esp-3", "reason": "up_to_date"}])
            u1, u2 = d1.offer(), d2.offer()
            self.assertEqual((u1["filename"], u1["sha256"]), ("user2.bin", arts[1]["sha256"]))
            self.assertEqual((u2["filename"], u2["sha256"]), ("user1.bin", arts[0]["sha256"]))
        finally:
            s.__exit__(None, None, None)


class Concurrency(unittest.TestCase):
    def test_many_devices_check_in_at_once(self):
        s = Server(args=["--threads", "4"]).start()
        try:
            p = s.product("crowd")
            add_release(s, "crowd", "2.0.0", slots=(0, 1))
            devs = [None] * 200
            errors = []

            def register(i):
                try:
                    devs[i] = Device(s, p["enroll_token"], "crowd-%03d" % i, slot=i % 2, groups=["all"])
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))

            def run(fn, n):
                ts = [threading.Thread(target=fn, args=(i,)) for i in range(n)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
            run(register, 200)
            self.assertEqual(errors, [])
            st, ro, _ = s.req("POST", "/api/v1/products/crowd/rollouts",
                              {"release": "2.0.0", "target": {"group": "all"}}, token=p["owner_token"])
            self.assertEqual(st, 201, ro)
            results = [None] * 200

            def check(i):
                try:
                    results[i] = devs[i].check()
                except Exception as e:  # noqa: BLE001
                    results[i] = (0, repr(e))
            run(check, 200)
            self.assertEqual([r[0] for r in results], [200] * 200, [r for r in results if r[0] != 200][:3])
            offered = [r[1]["update"] for r in results]
            self.assertTrue(all(u is not None for u in offered))
            self.assertEqual(len({u["action_id"] for u in offered}), 200)  # one action each, none lost
            self.assertTrue(all(u["slot"] == 1 - (i % 2) for i, u in enumerate(offered)))

            def confirm(i):
                try:
                    st, body = devs[i].report(offered[i]["action_id"], "confirmed")
                    results[i] = (st, body)
                except Exception as e:  # noqa: BLE001
                    results[i] = (0, repr(e))
            run(confirm, 200)
            self.assertEqual([r[0] for r in results], [200] * 200)
            st, ro, _ = s.req("GET", "/api/v1/products/crowd/rollouts/%d" % ro["id"], token=p["owner_token"])
            self.assertEqual((ro["state"], ro["counts"]["confirmed"]), ("finished", 200))
            log = open(s.log_path, "rb").read()
            self.assertNotIn(b"level=error", log)
            for bad in (b"locked", b"busy", b"code=database", b"statement failed"):
                self.assertNotIn(bad, log)
        finally:
            s.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
