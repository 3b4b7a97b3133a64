"""Test harness for otakit-server: starts a real server on a free loopback port with its own data
directory, and makes HTTP requests to it (stdlib: http.client, json, subprocess; psycopg2 for the
databases of servers on PostgreSQL).

    with Server() as s:
        st, body = s.req("GET", "/api/v1/products", token=s.admin)

Environment: OTAKIT_SERVER (path to the binary), OTAKIT_CLI (path to otakit), OTAKIT_VECTORS;
OTAKIT_PG_CLUSTER: the state directory of a cluster started by scripts/pg-cluster.sh, to run every
server on PostgreSQL (a new database per data directory) instead of SQLite. db_connect() opens a
server's database either way.
"""
import decimal
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

SERVER = os.environ.get("OTAKIT_SERVER", "build/server/otakit-server")
CLI = os.environ.get("OTAKIT_CLI", "build/tools/otakit")
VECTORS = os.environ.get("OTAKIT_VECTORS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "imgtool"))


PG_CLUSTER = os.environ.get("OTAKIT_PG_CLUSTER")


def pg_uri(name="postgres"):
    """A libpq URI for database name on the test cluster (OTAKIT_PG_CLUSTER)."""
    with open(os.path.join(PG_CLUSTER, "host")) as f:
        return "postgresql:///%s?host=%s&user=otakit" % (name, f.read().strip())


def _pg(uri):
    """A psycopg2 connection to uri in autocommit mode (each statement its own transaction)."""
    import psycopg2  # Debian's python3-psycopg2 (scripts/deps.sh); only the PostgreSQL runs need it
    c = psycopg2.connect(uri)
    c.autocommit = True
    return c


def new_pg_db():
    """A new empty database on the test cluster; returns its URI."""
    name = "t_" + uuid.uuid4().hex[:16]
    c = _pg(pg_uri())
    try:
        c.cursor().execute("CREATE DATABASE " + name)
    finally:
        c.close()
    return pg_uri(name)


class PgConn:
    """The part of sqlite3's connection the tests use, over one psycopg2 connection: ? parameters,
    values as sqlite3 gives them (int, float, str, bytes), each statement committed at once."""

    ID_TABLES = ("products", "releases", "artifacts", "devices", "actions", "events", "commands", "rollouts",
                 "product_keys")

    def __init__(self, uri):
        self.uri = uri
        self.conn = _pg(uri)
        self.rows = []
        self.lastrowid = None

    @staticmethod
    def _lit(v):
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return str(int(v))
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, bytes):
            return "'\\x%s'::bytea" % v.hex()
        return "'" + str(v).replace("'", "''") + "'"

    def _bind(self, sql, params):
        """sql with its ? parameters replaced by literals (sent without parameters, so a % in it is
        only a %)."""
        parts, out, i = sql.split("?"), [], 0
        out.append(parts[0])
        for p in parts[1:]:
            out.append(self._lit(params[i]))
            out.append(p)
            i += 1
        return "".join(out)

    @staticmethod
    def _val(v):
        if isinstance(v, memoryview):
            return bytes(v)
        if isinstance(v, decimal.Decimal):  # SUM() and the like: numeric
            return int(v) if v == v.to_integral_value() else float(v)
        if isinstance(v, bool):
            return int(v)
        return v

    def execute(self, sql, params=()):
        sql = self._bind(sql, params)
        m = re.match(r"INSERT INTO (\w+)", sql)
        returning = m and m.group(1) in self.ID_TABLES and "RETURNING" not in sql
        with self.conn.cursor() as cur:
            cur.execute(sql + (" RETURNING id" if returning else ""))
            rows = cur.fetchall() if cur.description else []
        self.rows = [tuple(self._val(v) for v in r) for r in rows]
        if returning:
            self.lastrowid = self.rows[-1][0] if self.rows else None
            self.rows = []
        return self

    def dump(self):
        """Every row of every table (the schema version's aside), {table: [row as JSON text]}, read
        by one statement, so one snapshot."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'otakit_schema' "
                        "ORDER BY 1")
            tables = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT " + ", ".join("(SELECT COALESCE(jsonb_agg(t), '[]') FROM \"%s\" t)" % t
                                              for t in tables))
            got = cur.fetchone()
        return {t: [json.dumps(r, sort_keys=True) for r in rows] for t, rows in zip(tables, got)}

    def executemany(self, sql, seq):
        """All of them in one transaction; an INSERT ... VALUES (...) as multi-row INSERTs of 1,000 rows."""
        m = re.fullmatch(r"(?s)(INSERT INTO .*? VALUES )(\(.*\))", sql.strip())
        if m:
            rows, stmts = [self._bind(m.group(2), p) for p in seq], []
            for i in range(0, len(rows), 1000):
                stmts.append(m.group(1) + ", ".join(rows[i:i + 1000]))
        else:
            stmts = [self._bind(sql, p) for p in seq]
        with self.conn.cursor() as cur:
            cur.execute("BEGIN;" + ";".join(stmts) + ";COMMIT")
        self.rows = []
        return self

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return self.rows

    def __iter__(self):
        return iter(self.rows)

    def commit(self):
        pass

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def db_connect(data, readonly=False):
    """The database of the server whose data directory is data: sqlite3 on DATA/otakit.db, or a PgConn
    when that server runs on PostgreSQL."""
    uri_file = os.path.join(data, "pg.uri")
    if os.path.exists(uri_file):
        with open(uri_file) as f:
            return PgConn(f.read().strip())
    import sqlite3
    path = os.path.join(data, "otakit.db")
    if readonly:
        return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
    return sqlite3.connect(path, timeout=30)


def db_dump(data):
    """Every row of every table of the server whose data directory is data: {table: sorted list of
    the rows' texts}, to compare two snapshots of the same store."""
    db = db_connect(data, readonly=True)
    try:
        if isinstance(db, PgConn):
            return {t: sorted(rows) for t, rows in db.dump().items()}
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(map(repr, db.execute('SELECT * FROM "%s"' % t))) for t in tables}
    finally:
        db.close()


class Server:
    def __init__(self, data=None, args=(), env=None):
        self.own_data = data is None
        self.data = data or tempfile.mkdtemp(prefix="otakit-test-")
        self.args = list(args)
        self.env = env
        self.proc = None

    def start(self):
        self.log_path = os.path.join(self.data, "server.log")
        self.log = open(self.log_path, "ab")
        start_at = self.log.tell()  # only this run's lines count
        db_args = []
        if PG_CLUSTER and "--db" not in self.args:
            uri_file = os.path.join(self.data, "pg.uri")
            if not os.path.exists(uri_file):
                with open(uri_file, "w") as f:
                    f.write(new_pg_db())
            with open(uri_file) as f:
                db_args = ["--db", f.read().strip()]
        self.proc = subprocess.Popen([SERVER, "--listen", "127.0.0.1:0", "--data", self.data] + db_args + self.args,
                                     stderr=self.log, stdout=self.log, env=self.env)
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(start_at)
                m = re.findall(rb"otakit-server started\" url=(\S+) port=(\d+)", f.read())
            if m:
                self.url = m[-1][0].decode()
                self.port = int(m[-1][1])
                break
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + open(self.log_path).read())
            time.sleep(0.02)
        else:
            raise RuntimeError("server did not start: " + open(self.log_path).read())
        tok = os.path.join(self.data, "admin.token")
        self.admin = None
        if os.path.exists(tok):
            with open(tok) as f:
                self.admin = f.read().strip()
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self.own_data:
            shutil.rmtree(self.data, ignore_errors=True)

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def req(self, method, path, body=None, token=None, headers=None, raw=False):
        """One request. body: dict (sent as JSON), bytes, or None. Returns (status, parsed JSON or bytes, headers)."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = self.conn()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        if not raw and hdrs.get("content-type", "").startswith("application/json") and data:
            data = json.loads(data)
        return r.status, data, hdrs

    # ---- fixtures ----------------------------------------------------------------------
    def product(self, product_id="acme-x1", key=None, **fields):
        """Creates a product signed by key (PEM path; default the imgtool vectors key), with any
        other fields of the request (version_rule=...). Returns its JSON."""
        key = key or os.path.join(VECTORS, "ec256-pub.pem")
        pem = subprocess.run([CLI, "getpub", "-k", key, "-e", "pem"], check=True, capture_output=True).stdout
        fields.update({"product_id": product_id, "name": product_id, "public_key": pem.decode()})
        st, body, _ = self.req("POST", "/api/v1/products", fields, token=self.admin)
        assert st == 201, (st, body)
        return body


def raw_response(port, data, timeout=10, src="127.0.0.1"):
    """Sends data (bytes, any HTTP or not) on a new connection; returns (status or None, body bytes,
    {lowercase header: value}) of what comes back."""
    return raw_exchange(port, data, timeout, src)[1:]


def raw_exchange(port, data, timeout=10, src="127.0.0.1"):
    """raw_response() with the status line first: (status line or "", status or None, body,
    {lowercase header: value})."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))
    try:
        sock.sendall(data)
        got = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got:
                head, _, body = got.partition(b"\r\n\r\n")
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
    finally:
        sock.close()
    if not got:
        return "", None, b"", {}
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return lines[0], int(lines[0].split(" ")[1]), body, headers


def raw(port, data, timeout=10, src="127.0.0.1"):
    """raw_response() without the headers: (status or None, body bytes)."""
    return raw_response(port, data, timeout, src)[:2]


def sign(payload, version, key=None, out_dir=None, extra=()):
    """Signs payload bytes with otakit sign; returns the image bytes."""
    key = key or os.path.join(VECTORS, "ec256-key.pem")
    d = out_dir or tempfile.mkdtemp(prefix="otakit-img-")
    src, dst = os.path.join(d, "fw.bin"), os.path.join(d, "fw.img")
    open(src, "wb").write(payload)
    subprocess.run([CLI, "sign", "-k", key, "-v", version, *extra, src, dst], check=True, capture_output=True)
    data = open(dst, "rb").read()
    if out_dir is None:
        shutil.rmtree(d)
    return data
