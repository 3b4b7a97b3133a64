"""Rollout counters (migration 7): after a randomized run of checks, reports, pauses, resumes,
cancels, new rollouts and devices that join late, the counters the server keeps incrementally
equal a full recount of the targets from the devices and actions tables."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import Server, db_connect  # noqa: E402
import test_devices as fx  # noqa: E402
from test_rollouts import Fleet  # noqa: E402

STEPS = {"offered": ("downloading", "failed"), "downloading": ("downloaded", "failed"),
         "downloaded": ("installing",), "installing": ("installed", "failed"),
         "installed": ("confirmed", "rolled_back")}


def recount(db):
    """{(rollout, stage, status): n} from first principles, not from the counters."""
    rel = {r: (v, vv, p) for r, v, vv, p in db.execute(
        "SELECT ro.id, rel.version, rel.version_value, ro.product FROM rollouts ro "
        "JOIN releases rel ON rel.id = ro.release")}
    trust = dict(db.execute("SELECT id, compat_confirm_by_version FROM products"))
    devs = {d: (v, vv, via) for d, v, vv, via in db.execute("SELECT id, version, version_value, via FROM devices")}
    latest = {}
    for aid, r, d, st in db.execute("SELECT id, rollout, device, status FROM actions WHERE rollout IS NOT NULL"):
        if (r, d) not in latest or latest[(r, d)][0] < aid:
            latest[(r, d)] = (aid, st)
    out = {}
    for r, d, stage in db.execute("SELECT rollout, device, stage FROM rollout_targets"):
        a = latest.get((r, d), (None, None))[1]
        v, vv, via = devs[d]
        rv, rvv, product = rel[r]
        if a is not None and a != "cancelled":
            status = a
        elif (v == rv or vv >= rvv) and (via == "token" or trust[product]):
            status = "up_to_date"
        else:
            status = a or "pending"
        out[(r, stage, status)] = out.get((r, stage, status), 0) + 1
    return out


def counters(db):
    return {(r, s, st): n for r, s, st, n in db.execute("SELECT rollout, stage, status, n FROM rollout_counts")
            if n != 0}


class Counters(unittest.TestCase):
    def test_counters_equal_recount_after_random_run(self):
        seed = int(os.environ.get("OTAKIT_SEED", random.randrange(1 << 30)))
        rnd = random.Random(seed)
        with Server() as s:
            f = Fleet(s, "rc", 16, groups=["lab"])
            db = db_connect(s.data)
            body = {"release": "2.0.0", "target": {"group": "lab"}, "include_new": True,
                    "success_threshold": 0.5, "error_threshold": 0.9,
                    "stages": [{"percent": 25}, {"percent": 60}, {"percent": 100}]}
            ro = f.create(body)["id"]
            actions, late = {}, 0
            for step in range(300):
                op = rnd.random()
                name = rnd.choice(sorted(f.devs))
                dev = f.devs[name]
                if op < 0.35:
                    u = dev.offer()
                    if u:
                        actions[name] = [u["action_id"], "offered"]
                elif op < 0.8 and name in actions and actions[name][1] in STEPS:
                    nxt = rnd.choice(STEPS[actions[name][1]])
                    st, _ = dev.report(actions[name][0], nxt)
                    if st == 200:
                        actions[name][1] = nxt
                elif op < 0.85:
                    f.s.req("POST", "/api/v1/products/rc/rollouts/%d/%s" % (ro, rnd.choice(("pause", "resume"))),
                            token=f.owner)
                elif op < 0.88:
                    f.s.req("POST", "/api/v1/products/rc/rollouts/%d/cancel" % ro, token=f.owner)
                    st, resp, _ = f.s.req("POST", "/api/v1/products/rc/rollouts", body, token=f.owner)
                    if st == 201:
                        ro = resp["id"]
                    actions = {}
                elif op < 0.94:
                    late += 1
                    f.devs["late-%d" % late] = fx.Device(s, f.enroll, "late-%d" % late, groups=["lab"],
                                                         version=rnd.choice(("1.0.0", "2.0.0")))
                elif op < 0.96 or len(f.devs) < 4:
                    dev.version = rnd.choice(("1.0.0", "2.0.0"))  # reports a version on its own
                    dev.check()
                else:  # deleted: its target (and actions) go, and their counts with them
                    st, _, _ = f.s.req("DELETE", "/api/v1/products/rc/devices/" + name, token=f.owner)
                    self.assertEqual(st, 204, name)
                    del f.devs[name]
                    actions.pop(name, None)
                if step % 25 == 24:
                    self.assertEqual(counters(db), recount(db), "seed %d step %d" % (seed, step))
            self.assertEqual(counters(db), recount(db), "seed %d" % seed)
            self.assertGreater(sum(n for (_, _, st), n in recount(db).items() if st != "pending"), 0)
            # what the API shows per stage comes from the counters and agrees with the recount
            want = {}
            for (r, stage, _), n in recount(db).items():
                if r == ro:
                    want[stage] = want.get(stage, 0) + n
            got = {i: st["devices"] for i, st in enumerate(f.get(ro)["stages"]) if st["devices"]}
            self.assertEqual(got, want, "seed %d" % seed)
            db.close()


if __name__ == "__main__":
    unittest.main()
