/*
 * The PostgreSQL backend of db.h, over libpq. The server's SQL is SQLite's dialect; this file
 * translates it when a statement is prepared:
 *   - parameters: ? and ?N become $N (SQLite's numbering: a bare ? takes the largest number so far
 *     plus one); integers are sent as int8, reals as float8, blobs as binary bytea, text and NULL
 *     untyped (PostgreSQL infers them from where they are used);
 *   - "a IS NOT b" (b not NULL) becomes "a IS DISTINCT FROM b";
 *   - "INSERT OR IGNORE" becomes "INSERT ... ON CONFLICT DO NOTHING";
 *   - the scalar MAX(a, b) / MIN(a, b) become GREATEST / LEAST;
 *   - an INSERT into a table with an integer id gets "RETURNING id", which is what
 *     db_last_insert_rowid() answers afterwards;
 * and the functions SQLite has and PostgreSQL lacks (instr, json_extract, json_valid) and the
 * collation NOCASE (ICU, case-insensitive) are created in
 * the database by DB_PG_PRELUDE (schema_pg.h). Migrations: schema_pg.h.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_impl.h"
#include "log.h"

struct pg_conn {
    PGconn *c;
    char err[512];
    int changes, total;
    int64_t last_id;
};

struct pg_stmt {
    struct pg_conn *c;
    char *sql;
    int nparams, returning_id;
    unsigned char *is_null_test; /* per parameter: appears as "?N IS NULL" (then typed text) */
    char **vals;
    int *lens, *fmts;
    Oid *types;
    PGresult *res;
    int row, nrows;
    unsigned char *blob; /* the bytea of row blob_row, column blob_col, decoded */
    size_t blob_len;
    int blob_row, blob_col;
};

/* Tables with an integer id column: an INSERT into one of them returns the new id. */
static const char *const id_tables[] = {"products", "releases", "artifacts", "devices", "actions",
                                        "events",   "commands", "rollouts", "product_keys"};

static void set_err(struct pg_conn *c, const char *msg)
{
    size_t n;
    snprintf(c->err, sizeof c->err, "%s", msg ? msg : "unknown error");
    n = strlen(c->err);
    while (n && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
        c->err[--n] = 0;
}

struct pg_conn *pg_open(const char *uri)
{
    struct pg_conn *c = calloc(1, sizeof *c);
    PGresult *r;
    if (!c)
        return NULL;
    c->c = PQconnectdb(uri);
    if (PQstatus(c->c) != CONNECTION_OK) {
        log_msg(LOG_ERROR, "cannot connect to PostgreSQL", "error=\"%s\"", PQerrorMessage(c->c));
        PQfinish(c->c);
        free(c);
        return NULL;
    }
    r = PQexec(c->c, "SET client_min_messages = warning");
    PQclear(r);
    return c;
}

void pg_close(struct pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->c);
    free(c);
}

const char *pg_errmsg(struct pg_conn *c)
{
    return c->err[0] ? c->err : "not an error";
}

int pg_exec(struct pg_conn *c, const char *sql, char **err)
{
    PGresult *r = PQexec(c->c, sql);
    ExecStatusType s = PQresultStatus(r);
    int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
    if (!ok) {
        set_err(c, PQresultErrorMessage(r));
        if (err)
            *err = strdup(c->err);
    }
    PQclear(r);
    return ok ? DB_OK : DB_ERROR;
}

/* ---- translation -------------------------------------------------------------------------- */
struct buf {
    char *p;
    size_t n, cap;
};

static int put(struct buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

static int word_at(const char *s, const char *w)
{
    size_t n = strlen(w);
    return !strncmp(s, w, n) && !(s[n] == '_' || (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
                                  (s[n] >= '0' && s[n] <= '9'));
}

static int ident_char(char ch)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* At an opening parenthesis: 1 when the list it opens has a comma at its own level (SQLite's
 * scalar MAX(a, b) / MIN(a, b), PostgreSQL's GREATEST / LEAST). */
static int two_args(const char *p)
{
    int depth = 0;
    for (; *p; p++) {
        if (*p == '\'') {
            const char *q = strchr(p + 1, '\'');
            if (!q)
                return 0;
            p = q;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            if (--depth == 0)
                return 0;
        } else if (*p == ',' && depth == 1) {
            return 1;
        }
    }
    return 0;
}

/* The SQL for PostgreSQL (malloc'd); *nparams: how many parameters it takes; null_tests (64 bits):
 * which of the first 64 appear as "?N IS NULL". */
static char *translate(const char *sql, int *nparams, int *returning_id, uint64_t *null_tests)
{
    struct buf b = {0};
    const char *p = sql;
    int maxn = 0, ignore = 0, err = 0;
    size_t i, end;
    char num[16];
    *returning_id = 0;
    *null_tests = 0;
    while (*p == ' ' || *p == '\n')
        p++;
    if (!strncmp(p, "INSERT OR IGNORE ", 17)) {
        ignore = 1;
        err |= put(&b, "INSERT ", 7);
        p += 17;
    }
    if (!strncmp(sql, "INSERT", 6) || ignore) {
        const char *t = strstr(sql, "INTO ");
        for (i = 0; t && i < sizeof id_tables / sizeof id_tables[0]; i++)
            if (word_at(t + 5, id_tables[i]))
                *returning_id = 1;
    }
    while (*p && !err) {
        if (*p == '\'' || *p == '"') { /* a literal or quoted name: copied as it is */
            const char *q = strchr(p + 1, *p);
            size_t n = q ? (size_t)(q - p) + 1 : strlen(p);
            err |= put(&b, p, n);
            p += n;
        } else if (*p == '?') {
            int n = 0;
            p++;
            if (*p >= '0' && *p <= '9')
                n = (int)strtol(p, (char **)&p, 10);
            else
                n = maxn + 1;
            if (n > maxn)
                maxn = n;
            if (n <= 64 && !strncmp(p, " IS NULL", 8))
                *null_tests |= (uint64_t)1 << (n - 1);
            snprintf(num, sizeof num, "$%d", n);
            err |= put(&b, num, strlen(num));
        } else if ((p == sql || !ident_char(p[-1])) && (word_at(p, "MAX") || word_at(p, "MIN")) && p[3] == '(' &&
                   two_args(p + 3)) {
            err |= put(&b, p[1] == 'A' ? "GREATEST" : "LEAST", p[1] == 'A' ? 8 : 5);
            p += 3;
        } else if ((p == sql || !ident_char(p[-1])) && word_at(p, "IS NOT") && !word_at(p + 7, "NULL") &&
                   p[6] == ' ') {
            err |= put(&b, "IS DISTINCT FROM", 16);
            p += 6;
        } else {
            err |= put(&b, p, 1);
            p++;
        }
    }
    end = b.n;
    while (end && (b.p[end - 1] == ' ' || b.p[end - 1] == ';' || b.p[end - 1] == '\n'))
        end--;
    if (b.p)
        b.p[b.n = end] = 0;
    if (ignore)
        err |= put(&b, " ON CONFLICT DO NOTHING", 23);
    if (*returning_id)
        err |= put(&b, " RETURNING id", 13);
    if (err || !b.p) {
        free(b.p);
        return NULL;
    }
    *nparams = maxn;
    return b.p;
}

/* Replaces whole-word from with to in s (consumed); returns the new string or NULL. */
static char *replace_word(char *s, const char *from, const char *to)
{
    struct buf b = {0};
    const char *p = s;
    size_t fn = strlen(from);
    int err = 0;
    if (!s)
        return NULL;
    while (*p && !err) {
        if ((p == s || !ident_char(p[-1])) && !strncmp(p, from, fn) && !ident_char(p[fn])) {
            err |= put(&b, to, strlen(to));
            p += fn;
        } else {
            err |= put(&b, p++, 1);
        }
    }
    free(s);
    if (err) {
        free(b.p);
        return NULL;
    }
    return b.p ? b.p : strdup("");
}

char *pg_ddl(const char *sqlite_ddl)
{
    char *s = strdup(sqlite_ddl);
    s = replace_word(s, "INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
    s = replace_word(s, "INTEGER", "BIGINT");
    s = replace_word(s, "REAL", "DOUBLE PRECISION");
    s = replace_word(s, "BLOB", "BYTEA");
    s = replace_word(s, "WITHOUT ROWID", "");
    return s;
}

/* ---- statements --------------------------------------------------------------------------- */
int pg_prepare(struct pg_conn *c, const char *sql, struct pg_stmt **out)
{
    struct pg_stmt *s = calloc(1, sizeof *s);
    uint64_t null_tests = 0;
    int i;
    *out = NULL;
    if (!s)
        return DB_ERROR;
    s->c = c;
    s->row = -1;
    if (!(s->sql = translate(sql, &s->nparams, &s->returning_id, &null_tests))) {
        free(s);
        set_err(c, "out of memory");
        return DB_ERROR;
    }
    if (s->nparams > 0) {
        s->vals = calloc((size_t)s->nparams, sizeof *s->vals);
        s->lens = calloc((size_t)s->nparams, sizeof *s->lens);
        s->fmts = calloc((size_t)s->nparams, sizeof *s->fmts);
        s->types = calloc((size_t)s->nparams, sizeof *s->types);
        s->is_null_test = calloc((size_t)s->nparams, 1);
        if (!s->vals || !s->lens || !s->fmts || !s->types || !s->is_null_test) {
            pg_finalize(s);
            return DB_ERROR;
        }
        for (i = 0; i < s->nparams && i < 64; i++)
            s->is_null_test[i] = (null_tests >> i) & 1;
    }
    *out = s;
    return DB_OK;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static int utf8_len(const unsigned char *p, int n)
{
    int len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0, i;
    if (!len || len > n || (len == 2 && p[0] < 0xc2))
        return 0;
    for (i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* PostgreSQL's text holds only UTF-8 (SQLite stores any bytes): a byte that is not part of a valid
 * sequence (or a NUL) binds as U+FFFD, so such a value matches no stored one instead of failing
 * the statement. malloc'd. */
static char *utf8_text(const char *s, int n, int *out_len)
{
    const unsigned char *p = (const unsigned char *)s;
    char *o = malloc((size_t)n * 3 + 1);
    int i = 0, k = 0, l;
    if (!o)
        return NULL;
    while (i < n) {
        if (p[i] && (l = utf8_len(p + i, n - i)) > 0) {
            memcpy(o + k, p + i, (size_t)l);
            k += l;
            i += l;
        } else {
            memcpy(o + k, "\xef\xbf\xbd", 3);
            k += 3;
            i++;
        }
    }
    o[k] = 0;
    *out_len = k;
    return o;
}

int pg_bind(struct pg_stmt *s, int i, int type, const void *p, int n)
{
    char tmp[40];
    if (i < 1 || i > s->nparams)
        return 25; /* SQLITE_RANGE */
    i--;
    free(s->vals[i]);
    s->vals[i] = NULL;
    s->fmts[i] = 0;
    s->types[i] = 0;
    s->lens[i] = 0;
    switch (type) {
    case DB_INTEGER:
        snprintf(tmp, sizeof tmp, "%lld", (long long)*(const int64_t *)p);
        s->vals[i] = strdup(tmp);
        s->types[i] = 20; /* int8 */
        break;
    case DB_FLOAT:
        snprintf(tmp, sizeof tmp, "%.17g", *(const double *)p);
        s->vals[i] = strdup(tmp);
        s->types[i] = 701; /* float8 */
        break;
    case DB_TEXT:
        s->vals[i] = utf8_text(p, n, &s->lens[i]);
        s->types[i] = s->is_null_test[i] ? 25 : 0; /* text; else inferred from where it is used */
        break;
    case DB_BLOB:
        if ((s->vals[i] = malloc((size_t)n + 1)) != NULL) {
            memcpy(s->vals[i], p, (size_t)n);
            s->vals[i][n] = 0;
        }
        s->lens[i] = n;
        if (type == DB_BLOB) {
            s->fmts[i] = 1;
            s->types[i] = 17; /* bytea */
        }
        break;
    default: /* NULL: "?N IS NULL" cannot infer a type, elsewhere the use gives it */
        s->types[i] = s->is_null_test[i] ? 25 : 0;
        return DB_OK;
    }
    return s->vals[i] ? DB_OK : DB_ERROR;
}

void pg_clear(struct pg_stmt *s)
{
    int i;
    for (i = 0; i < s->nparams; i++) {
        free(s->vals[i]);
        s->vals[i] = NULL;
        s->types[i] = s->is_null_test[i] ? 25 : 0; /* an unbound parameter is NULL */
        s->fmts[i] = 0;
    }
}

int pg_reset(struct pg_stmt *s)
{
    PQfreemem(s->blob);
    s->blob = NULL;
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    s->nrows = 0;
    return DB_OK;
}

void pg_finalize(struct pg_stmt *s)
{
    if (!s)
        return;
    pg_reset(s);
    if (s->vals)
        pg_clear(s);
    free(s->vals);
    free(s->lens);
    free(s->fmts);
    free(s->types);
    free(s->is_null_test);
    PQfreemem(s->blob);
    free(s->sql);
    free(s);
}

int pg_step(struct pg_stmt *s)
{
    if (!s->res) {
        ExecStatusType st;
        s->res = PQexecParams(s->c->c, s->sql, s->nparams, s->types, (const char *const *)s->vals, s->lens, s->fmts, 0);
        st = PQresultStatus(s->res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            const char *state = PQresultErrorField(s->res, PG_DIAG_SQLSTATE);
            set_err(s->c, PQresultErrorMessage(s->res));
            log_msg(LOG_DEBUG, "PostgreSQL statement failed", "error=\"%s\" sql=\"%.120s\"", s->c->err, s->sql);
            return state && !strncmp(state, "23", 2) ? DB_CONSTRAINT : DB_ERROR;
        }
        if (st == PGRES_COMMAND_OK || s->returning_id) { /* what SQLite counts: rows an INSERT/UPDATE/DELETE changed */
            s->c->changes = atoi(PQcmdTuples(s->res));
            s->c->total += s->c->changes;
        }
        s->nrows = PQntuples(s->res);
        if (s->returning_id) {
            if (s->nrows > 0)
                s->c->last_id = strtoll(PQgetvalue(s->res, s->nrows - 1, 0), NULL, 10);
            s->nrows = 0;
        }
    }
    if (s->row < s->nrows)
        s->row++;
    return s->row < s->nrows ? DB_ROW : DB_DONE;
}

static int valid_cell(struct pg_stmt *s, int col)
{
    return s->res && s->row >= 0 && s->row < s->nrows && col >= 0 && col < PQnfields(s->res);
}

int pg_column_type(struct pg_stmt *s, int col)
{
    if (!valid_cell(s, col) || PQgetisnull(s->res, s->row, col))
        return DB_NULL;
    switch (PQftype(s->res, col)) {
    case 16: case 20: case 21: case 23: return DB_INTEGER; /* bool, int8, int2, int4 */
    case 700: case 701: case 1700: return DB_FLOAT;
    case 17: return DB_BLOB;
    default: return DB_TEXT;
    }
}

const char *pg_column_text(struct pg_stmt *s, int col)
{
    if (!valid_cell(s, col) || PQgetisnull(s->res, s->row, col))
        return NULL;
    return PQgetvalue(s->res, s->row, col);
}

const void *pg_column_blob(struct pg_stmt *s, int col, int *len)
{
    const char *t = pg_column_text(s, col);
    *len = 0;
    if (!t)
        return NULL;
    if (PQftype(s->res, col) != 17) {
        *len = PQgetlength(s->res, s->row, col);
        return t;
    }
    if (s->blob && s->blob_row == s->row && s->blob_col == col) { /* db_column_blob then db_column_bytes */
        *len = (int)s->blob_len;
        return s->blob;
    }
    PQfreemem(s->blob);
    s->blob_len = 0;
    if (!(s->blob = PQunescapeBytea((const unsigned char *)t, &s->blob_len)))
        return NULL;
    s->blob_row = s->row;
    s->blob_col = col;
    *len = (int)s->blob_len;
    return s->blob;
}

int pg_tx_failed(struct pg_conn *c)
{
    return PQtransactionStatus(c->c) == PQTRANS_INERROR;
}

int64_t pg_last_insert_rowid(struct pg_conn *c)
{
    return c->last_id;
}

int pg_changes(struct pg_conn *c)
{
    return c->changes;
}

int pg_total_changes(struct pg_conn *c)
{
    return c->total;
}
