"""docs/openapi.yaml against the server's route tables, and the auth of every route.

(a) The (method, path) pairs of docs/openapi.yaml are exactly the routes `otakit-server
    --print-routes` prints (HEAD is never listed: every GET route answers HEAD too).
(b) Every route with auth is refused, and changes nothing, when called without a token or with a
    malformed or unknown one (401 + WWW-Authenticate: Bearer) and with a valid token outside the
    route's scope (403): another kind of token, another product's owner token, another device's
    token. Path parameters name things that exist (a product, a release uploaded as an image
    signed with the imgtool vectors key, registered devices, a rollout, a delivered command) and
    bodies are ones the route would accept, so an answer can only come from the auth check.
(c) The security requirements each operation declares are the route's auth kinds (an owner route
    also takes the admin token, as auth.c does); public routes declare `security: []`.
(d) The server's error table (server/errors.h, printed by the hidden `otakit-server
    --print-errors`) is exactly the ErrorCode enum of the document; every code a response lists in
    x-error-codes is in the table, under the status the table gives it; and every code of the table
    is listed by some response.

PyYAML is used when it is installed; without it a small reader of the subset this document uses
extracts the paths, methods and security requirements (the x-error-codes cross-check is then
skipped).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from otaserver import SERVER, VECTORS, Server, sign, db_dump  # noqa: E402

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    yaml = None

OPENAPI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "openapi.yaml")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
SCHEME = {"admin": "adminToken", "owner": "ownerToken", "device": "deviceToken", "enroll": "enrollToken"}


# ---- the two sides --------------------------------------------------------------------------------

def print_routes():
    """[(METHOD, pattern, {auth kinds}, body)] from otakit-server --print-routes, run in an empty
    directory (it must not create a data directory there)."""
    d = tempfile.mkdtemp(prefix="otakit-routes-")
    try:
        r = subprocess.run([os.path.abspath(SERVER), "--print-routes"], cwd=d, capture_output=True, timeout=30,
                           env=dict(os.environ, OTAKIT_DATA=os.path.join(d, "data")))
        leftovers = os.listdir(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert r.returncode == 0, r
    assert leftovers == [], "--print-routes created %s" % leftovers
    routes = []
    for line in r.stdout.decode().splitlines():
        m = re.fullmatch(r"([A-Z]+) (/\S*) ((?:none|admin|owner|device|enroll)(?:\|(?:admin|owner|device|enroll))*) "
                         r"(none|json|stream)", line)
        assert m, "bad --print-routes line: %r" % line
        kinds = set(m.group(3).split("|")) - {"none"}
        routes.append((m.group(1), m.group(2), kinds, m.group(4)))
    return routes


def print_errors():
    """{code: (status, message)} from otakit-server --print-errors (the table of server/errors.h)."""
    r = subprocess.run([os.path.abspath(SERVER), "--print-errors"], capture_output=True, timeout=30)
    assert r.returncode == 0, r
    table = {}
    for line in r.stdout.decode().splitlines():
        m = re.fullmatch(r"([a-z][a-z0-9_]*) ([1-5][0-9][0-9]) (\S.*)", line)
        assert m, "bad --print-errors line: %r" % line
        assert m.group(1) not in table, "error %s is in the table twice" % m.group(1)
        table[m.group(1)] = (int(m.group(2)), m.group(3))
    return table


def listed_error_codes(text):
    """Every code the document names: the ErrorCode enum and all x-error-codes lists (flow style,
    read from the text so that this works without PyYAML too)."""
    m = re.search(r"^    ErrorCode:\n(?:      .*\n)*?      enum: \[([^\]]*)\]", text, re.M)
    assert m, "docs/openapi.yaml has no components.schemas.ErrorCode enum"
    enum = [c.strip() for c in m.group(1).split(",") if c.strip()]
    listed = {c.strip() for lst in re.findall(r"x-error-codes: \[([^\]]*)\]", text) for c in lst.split(",")}
    return enum, listed - {""}


def expected_security(kinds):
    """The security requirements an operation must declare for the route's auth kinds."""
    names = {SCHEME[k] for k in kinds}
    if "owner" in kinds:
        names.add(SCHEME["admin"])  # auth.c: the admin token passes every owner route
    return {frozenset([n]) for n in names}


def parse_openapi_subset(text):
    """{(METHOD, path): set of frozensets of scheme names} from the block-style YAML of
    docs/openapi.yaml (paths at indent 2, methods at 4, `security:` at 6 followed by
    `- name: []` items at 8 or an inline `[]`). No requirement object -> None."""
    ops, path, op, in_paths, in_sec = {}, None, None, False, False
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        ind = len(line) - len(line.lstrip())
        s = line.strip()
        if ind == 0:
            in_paths, path, op = s == "paths:", None, None
            continue
        if not in_paths:
            continue
        if ind == 2:
            path, op, in_sec = s.rstrip(":").strip("'\""), None, False
        elif ind == 4:
            in_sec = False
            m = s.rstrip(":")
            op = (m.upper(), path) if m in HTTP_METHODS else None
            if op:
                ops[op] = None
        elif op and ind == 6:
            in_sec = s.startswith("security:")
            if in_sec:
                rest = s[len("security:"):].strip()
                ops[op] = set()
                if rest and rest != "[]":
                    raise ValueError("unsupported security syntax: %r" % s)
                in_sec = rest != "[]"
        elif op and in_sec and ind == 8 and s.startswith("- "):
            ops[op].add(frozenset([s[2:].split(":")[0].strip()]))
        elif op and in_sec and ind <= 8:
            in_sec = False
    return ops


def load_openapi():
    """(document or None, {(METHOD, path): security}) - the document only with PyYAML."""
    text = open(OPENAPI).read()
    subset = parse_openapi_subset(text)
    if yaml is None:
        return None, subset
    doc = yaml.safe_load(text)
    ops = {}
    for path, item in doc["paths"].items():
        for m, o in item.items():
            if m in HTTP_METHODS:
                sec = o.get("security")
                ops[(m.upper(), path)] = None if sec is None else {frozenset(r) for r in sec}
    assert ops == subset, "the fallback reader disagrees with PyYAML: %s" % (set(ops.items()) ^ set(subset.items()))
    return doc, ops


def resolve(doc, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        node = doc
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


# ---- (a) and (c): the document and the route tables ---------------------------------------------

class Document(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.routes = print_routes()
        cls.doc, cls.ops = load_openapi()

    def test_print_routes(self):
        self.assertGreaterEqual(len(self.routes), 26)
        self.assertEqual(len({(m, p) for m, p, _, _ in self.routes}), len(self.routes), "a route is listed twice")
        self.assertNotIn("HEAD", {m for m, _, _, _ in self.routes})
        self.assertIn(("POST", "/api/v1/products", {"admin"}, "json"), self.routes)
        self.assertIn(("GET", "/api/v1/artifacts/{sha256}", {"owner", "device"}, "none"), self.routes)
        self.assertIn(("POST", "/api/v1/products/{product}/releases", {"owner"}, "stream"), self.routes)

    def test_paths_match_routes_exactly(self):
        routes = {(m, p) for m, p, _, _ in self.routes}
        documented = set(self.ops)
        self.assertEqual(sorted(routes - documented), [], "routes missing from docs/openapi.yaml")
        self.assertEqual(sorted(documented - routes), [], "documented operations that are not routes")
        self.assertNotIn("HEAD", {m for m, _ in documented}, "HEAD is implied by GET: do not list it")

    def test_security_matches_auth(self):
        for method, path, kinds, _ in self.routes:
            with self.subTest(route="%s %s" % (method, path)):
                self.assertIsNotNone(self.ops.get((method, path)), "no explicit security requirement")
                self.assertEqual(self.ops[(method, path)], expected_security(kinds))

    def test_schemes_are_bearer(self):
        if self.doc is None:
            self.skipTest("PyYAML is not installed")
        schemes = self.doc["components"]["securitySchemes"]
        self.assertEqual(set(schemes), set(SCHEME.values()))
        for name, s in schemes.items():
            self.assertEqual((s["type"], s["scheme"]), ("http", "bearer"), name)
            self.assertTrue(s.get("description"), name)

    def test_operations_are_complete(self):
        """Path parameters declared with the route's names, bodies as the route reads them, and the
        401/403 answers on every route with auth (none on public ones)."""
        if self.doc is None:
            self.skipTest("PyYAML is not installed")
        for method, path, kinds, body in self.routes:
            with self.subTest(route="%s %s" % (method, path)):
                if (method, path) not in self.ops:
                    self.fail("not in docs/openapi.yaml")
                item = self.doc["paths"][path]
                op = item[method.lower()]
                params = [resolve(self.doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
                in_path = {p["name"] for p in params if p["in"] == "path"}
                self.assertEqual(in_path, set(re.findall(r"{(\w+)}", path)))
                rb = op.get("requestBody")
                if body == "none":
                    self.assertIsNone(rb)
                else:
                    want = "application/json" if body == "json" else "application/octet-stream"
                    self.assertIn(want, rb["content"])
                resp = op["responses"]
                self.assertTrue(any(c.startswith("2") or c.startswith("3") for c in resp), "no success response")
                if kinds:
                    self.assertEqual(resolve(self.doc, resp["401"])["x-error-codes"], ["unauthorized"])
                    self.assertIn("WWW-Authenticate", resolve(self.doc, resp["401"])["headers"])
                    self.assertIn("forbidden", resolve(self.doc, resp["403"])["x-error-codes"])
                elif any(p["in"] == "header" and p["name"] == "Authorization" for p in params):
                    # hawkBit DDI: its own schemes (TargetToken/GatewayToken), refused with 401
                    self.assertEqual(resolve(self.doc, resp["401"])["x-error-codes"], ["unauthorized"])
                    self.assertNotIn("403", resp)
                else:
                    self.assertNotIn("401", resp)
                for code, r in resp.items():
                    r = resolve(self.doc, r)
                    if code[0] in "45" and "application/json" in r.get("content", {}):
                        self.assertTrue(r.get("x-error-codes"), "%s lists no error codes" % code)


# ---- (d): the error table and the document -------------------------------------------------------

class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.table = print_errors()
        with open(OPENAPI) as f:
            cls.text = f.read()
        cls.doc, _ = load_openapi()

    def test_table(self):
        self.assertGreaterEqual(len(self.table), 60)
        self.assertEqual(self.table["not_found"][0], 404)
        self.assertEqual(self.table["unauthorized"][0], 401)

    def test_enum_is_the_table(self):
        enum, _ = listed_error_codes(self.text)
        self.assertEqual(len(enum), len(set(enum)), "a code is in the ErrorCode enum twice")
        self.assertEqual(sorted(set(self.table) - set(enum)), [], "codes of the table missing from ErrorCode")
        self.assertEqual(sorted(set(enum) - set(self.table)), [], "ErrorCode lists codes the server does not have")

    def test_every_listed_code_is_in_the_table(self):
        _, listed = listed_error_codes(self.text)
        self.assertEqual(sorted(listed - set(self.table)), [], "x-error-codes the server does not have")
        self.assertEqual(sorted(set(self.table) - listed), [], "codes no response lists in x-error-codes")

    def test_listed_under_the_tables_status(self):
        if self.doc is None:
            self.skipTest("PyYAML is not installed")
        seen = 0

        def walk(node):
            nonlocal seen
            if isinstance(node, dict):
                for key, value in node.items():
                    r = resolve(self.doc, value)
                    if re.fullmatch(r"[1-5][0-9][0-9]", str(key)) and isinstance(r, dict) and "x-error-codes" in r:
                        for code in r["x-error-codes"]:
                            with self.subTest(status=key, code=code):
                                self.assertIn(code, self.table)
                                self.assertEqual(self.table[code][0], int(key))
                            seen += 1
                    walk(value)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(self.doc)
        self.assertGreater(seen, 60)


# ---- (b): every route refuses what it must, and changes nothing ---------------------------------

class RouteAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.routes = print_routes()
        cls.doc, _ = load_openapi()
        cls.s = s = Server(args=["--delta-key", os.path.join(VECTORS, "ec256-key.pem")]).start()
        cls.pem = open(os.path.join(VECTORS, "ec256-pub.pem")).read()
        a, b = s.product("oa-a"), s.product("oa-b")
        cls.upload("oa-a", a["owner_token"], sign(b"oa-a firmware 1.0.0\n" * 64, "1.0.0"))  # a delta's base
        cls.image = sign(b"oa-a firmware 1.1.0\n" * 64, "1.1.0")
        cls.image_next = sign(b"oa-a firmware 1.2.0\n" * 64, "1.2.0")
        cls.sha = cls.upload("oa-a", a["owner_token"], cls.image)
        cls.upload("oa-b", b["owner_token"], sign(b"oa-b firmware 1.1.0\n" * 64, "1.1.0"))
        devs = {}
        for name, prod in (("dev-a1", a), ("dev-a2", a), ("dev-b1", b)):
            st, body, _ = s.req("POST", "/api/v1/device/register", {"device_id": name, "hw_rev": "rev-a",
                                                                     "version": "1.0.0", "slot": 0},
                                token=prod["enroll_token"])
            assert st == 201, (st, body)
            devs[name] = body["device_token"]
        st, ro, _ = s.req("POST", "/api/v1/products/oa-a/rollouts",
                          {"release": "1.1.0", "target": {"devices": ["dev-a1"]}}, token=a["owner_token"])
        assert st == 201, (st, ro)
        st, chk, _ = s.req("GET", "/api/v1/device/check?version=1.0.0&slot=0&delta=1", token=devs["dev-a1"])
        assert st == 200 and chk["update"] and chk["update"]["delta"], (st, chk)
        cls.action = chk["update"]["action_id"]  # dev-a1's
        patch = chk["update"]["delta"]["sha256"]  # of oa-a's product
        st, cmd, _ = s.req("POST", "/api/v1/products/oa-a/devices/dev-a2/commands",
                           {"type": "upgrade", "release": "1.1.0", "consent": True}, token=a["owner_token"])
        assert st == 201, (st, cmd)
        st, chk, _ = s.req("GET", "/api/v1/device/check?version=1.0.0&slot=0", token=devs["dev-a2"])
        assert st == 200 and chk["commands"], (st, chk)  # delivered: dev-a2 could ack it now
        cls.params = {"product": "oa-a", "version": "1.1.0", "device": "dev-a2", "command": str(cmd["command"]["id"]),
                      "rollout": str(ro["id"]), "sha256": cls.sha,
                      "key": a["key_hash"], "patch": patch}
        # Every token there is, with what it is: (kind, product, device).
        cls.tokens = {"admin": (s.admin, "admin", None, None),
                      "owner of oa-a": (a["owner_token"], "owner", "oa-a", None),
                      "owner of oa-b": (b["owner_token"], "owner", "oa-b", None),
                      "enrollment of oa-a": (a["enroll_token"], "enroll", "oa-a", None),
                      "enrollment of oa-b": (b["enroll_token"], "enroll", "oa-b", None),
                      "device dev-a1": (devs["dev-a1"], "device", "oa-a", "dev-a1"),
                      "device dev-a2": (devs["dev-a2"], "device", "oa-a", "dev-a2"),
                      "device dev-b1": (devs["dev-b1"], "device", "oa-b", "dev-b1")}

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    @classmethod
    def upload(cls, product, token, image):
        st, body, _ = cls.s.req("POST", "/api/v1/products/%s/releases" % product, image, token=token,
                                headers={"Content-Type": "application/octet-stream"})
        assert st == 201, (st, body)
        return body["artifacts"][0]["sha256"]

    # -- helpers --------------------------------------------------------------------------------

    def path(self, pattern):
        def fill(m):
            self.assertIn(m.group(1), self.params, "no fixture value for path parameter {%s}" % m.group(1))
            return self.params[m.group(1)]
        return re.sub(r"{(\w+)}", fill, pattern)

    def body(self, method, pattern, kind):
        """A body the route would accept from an allowed caller: refusing it must be auth's doing."""
        if kind == "stream":
            return self.image_next
        if kind == "none":
            return None
        return {
            "/api/v1/products": {"product_id": "intruder", "name": "intruder", "public_key": self.pem},
            "/api/v1/device/register": {"device_id": "intruder", "hw_rev": "rev-a", "version": "1.0.0", "slot": 0},
            "/api/v1/device/report": {"action_id": self.action, "status": "downloading", "progress": 10},
            "/api/v1/device/commands/{command}": {"status": "done"},
            "/api/v1/products/{product}/devices/{device}/commands": {"type": "reboot"},
            "/api/v1/products/{product}/devices/{device}/commands/{command}/consent": {"granted": True},
            "/api/v1/products/{product}/rollouts": {"release": "1.1.0", "target": {}},
        }.get(pattern, {})

    def allowed(self, pattern, kinds, tok):
        """Whether the token may use the route with this test's parameters (the scope rules of
        auth.c plus the handlers' own checks: an artifact, action or command of someone else)."""
        _, kind, product, device = tok
        if kind == "admin":
            return bool(kinds & {"admin", "owner"})
        if kind not in kinds:
            return False
        if "{product}" in pattern and product != self.params["product"]:
            return False
        if pattern in ("/api/v1/artifacts/{sha256}", "/api/v1/deltas/{patch}"):
            return product == "oa-a"
        if pattern == "/api/v1/device/report":
            return device == "dev-a1"  # the action is dev-a1's
        if pattern == "/api/v1/device/commands/{command}":
            return device == "dev-a2"  # the command is dev-a2's
        return True

    def snapshot(self):
        """Every row of every table, the artifact store, and what the management API lists."""
        rows = db_dump(self.s.data)
        rows["<store>"] = sorted(os.listdir(os.path.join(self.s.data, "artifacts")))
        api = []
        for path in ("/api/v1/products", "/api/v1/products/oa-a/releases", "/api/v1/products/oa-b/releases",
                     "/api/v1/products/oa-a/devices", "/api/v1/products/oa-b/devices",
                     "/api/v1/products/oa-a/rollouts", "/api/v1/products/oa-a/devices/dev-a2/commands"):
            st, body, _ = self.s.req("GET", path, token=self.s.admin)
            self.assertEqual(st, 200, path)
            api.append(body)
        return rows, api

    def codes(self, method, pattern, status):
        if self.doc is None:
            return None
        r = self.doc["paths"][pattern][method.lower()]["responses"].get(str(status))
        self.assertIsNotNone(r, "docs/openapi.yaml: %s %s does not document %d" % (method, pattern, status))
        return resolve(self.doc, r).get("x-error-codes")

    def expect_error(self, method, pattern, status, code, resp):
        st, body, h = resp
        self.assertEqual(st, status, body)
        self.assertTrue(h.get("content-type", "").startswith("application/json"), h)
        self.assertEqual(set(body), {"error"})
        self.assertEqual(body["error"]["code"], code)
        self.assertTrue(body["error"]["message"])
        if status == 401:
            self.assertRegex(h.get("www-authenticate", ""), r"^Bearer\b")
        documented = self.codes(method, pattern, status)
        if documented is not None:
            self.assertIn(code, documented, "docs/openapi.yaml: %s %s %d" % (method, pattern, status))

    # -- tests ----------------------------------------------------------------------------------

    def test_every_route_refuses_missing_bad_and_foreign_tokens(self):
        checked = 0
        for method, pattern, kinds, kind in self.routes:
            if not kinds:
                continue
            with self.subTest(route="%s %s" % (method, pattern)):
                path, body = self.path(pattern), self.body(method, pattern, kind)
                before = self.snapshot()
                # 401: nothing usable in Authorization
                for label, header in (("no Authorization", None), ("empty bearer", "Bearer "),
                                      ("Basic", "Basic YWRtaW46YWRtaW4="), ("token without scheme", self.s.admin),
                                      ("unknown token", "Bearer " + "0" * 64),
                                      ("unknown short token", "Bearer not-a-token")):
                    with self.subTest(auth=label):
                        h = {"Authorization": header} if header else {}
                        self.expect_error(method, pattern, 401, "unauthorized",
                                          self.s.req(method, path, body, headers=h))
                        if method == "GET":
                            st, data, hd = self.s.req("HEAD", path, headers=h)
                            self.assertEqual((st, data), (401, b""))
                            self.assertRegex(hd.get("www-authenticate", ""), r"^Bearer\b")
                # 403: valid tokens outside the route's scope
                wrong = [n for n, t in self.tokens.items() if not self.allowed(pattern, kinds, t)]
                self.assertTrue(wrong, "no token outside this route's scope?")
                for name in wrong:
                    with self.subTest(token=name):
                        self.expect_error(method, pattern, 403, "forbidden",
                                          self.s.req(method, path, body, token=self.tokens[name][0]))
                        if method == "GET":
                            st, data, _ = self.s.req("HEAD", path, token=self.tokens[name][0])
                            self.assertEqual((st, data), (403, b""))
                self.assertEqual(self.snapshot(), before, "a refused request changed something")
                checked += 1
        self.assertGreaterEqual(checked, 26)

    def test_the_fixtures_are_real(self):
        """Each GET route answers 200 to a caller in scope with the same parameters, so the refusals
        above are about the token, not about something missing."""
        for method, pattern, kinds, _ in self.routes:
            if method != "GET" or not kinds:
                continue
            tok = next(t for t in self.tokens.values() if self.allowed(pattern, kinds, t))
            path = self.path(pattern)
            if pattern == "/api/v1/device/check":
                path += "?version=1.0.0&slot=0"
            with self.subTest(route=pattern):
                if pattern.endswith("/stream"):  # an event stream does not end: its head only
                    c = self.s.conn()
                    c.request("GET", path, headers={"Authorization": "Bearer " + tok[0]})
                    resp = c.getresponse()
                    self.assertEqual((resp.status, resp.getheader("Content-Type")), (200, "text/event-stream"))
                    c.close()
                    continue
                st, body, _ = self.s.req(method, path, token=tok[0])
                self.assertEqual(st, 200, body)
                if pattern == "/api/v1/artifacts/{sha256}":
                    self.assertEqual(body, self.image)

    def test_owner_lists_only_its_product(self):
        st, body, _ = self.s.req("GET", "/api/v1/products", token=self.tokens["owner of oa-b"][0])
        self.assertEqual((st, [p["product_id"] for p in body["products"]]), (200, ["oa-b"]))


if __name__ == "__main__":
    unittest.main()
