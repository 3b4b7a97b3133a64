/*
 * PostgreSQL's side of the migrations (schema.h): the prelude run before them, and the migrations
 * whose SQLite text cannot be translated mechanically (pg_ddl() in db_pg.c maps the rest). Append
 * only, like schema.h; a new migration in schema.h needs an entry here only when it uses something
 * pg_ddl() does not map (triggers, SQLite-only functions).
 */
#ifndef OTAKIT_SERVER_SCHEMA_PG_H
#define OTAKIT_SERVER_SCHEMA_PG_H

#include "schema.h"

/* The schema version (SQLite keeps it in PRAGMA user_version), SQLite's collation NOCASE (for
 * equality), and SQLite's functions the server's queries use: instr, json_valid, json_extract (a path of the form $.a.b; JSON true/false read as
 * 1/0, as SQLite does). */
#define DB_PG_PRELUDE                                                                                          \
    "CREATE TABLE IF NOT EXISTS otakit_schema (version BIGINT NOT NULL);"                                      \
    "INSERT INTO otakit_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM otakit_schema);"                       \
    "CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);" \
    "CREATE OR REPLACE FUNCTION instr(a text, b text) RETURNS bigint LANGUAGE sql IMMUTABLE"                   \
    "  AS 'SELECT strpos(a, b)::bigint';"                                                                      \
    "CREATE OR REPLACE FUNCTION json_valid(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $f$"          \
    "  BEGIN PERFORM t::jsonb; RETURN t IS NOT NULL; EXCEPTION WHEN others THEN RETURN false; END $f$;"        \
    "CREATE OR REPLACE FUNCTION json_extract(t text, path text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $f$" \
    "  DECLARE v jsonb; BEGIN"                                                                                 \
    "  IF t IS NULL OR path IS NULL THEN RETURN NULL; END IF;"                                                 \
    "  v := t::jsonb #> CASE WHEN path = '$' THEN '{}'::text[] ELSE string_to_array(substr(path, 3), '.') END;" \
    "  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN RETURN NULL; END IF;"                                     \
    "  IF jsonb_typeof(v) = 'boolean' THEN RETURN CASE WHEN v = 'true'::jsonb THEN '1' ELSE '0' END; END IF;"  \
    "  IF jsonb_typeof(v) = 'string' THEN RETURN v #>> '{}'; END IF;"                                          \
    "  RETURN v::text; END $f$;"

/* A row trigger: a plpgsql function named after it, run AFTER event FOR EACH ROW when cond holds. */
#define PG_TRIGGER(name, event, cond, body)                                                                    \
    "CREATE FUNCTION " name "() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN " body " RETURN NULL; END $f$;"  \
    "CREATE TRIGGER " name " AFTER " event " FOR EACH ROW " cond " EXECUTE FUNCTION " name "();"

/* A statement trigger: a plpgsql function named after it (JIT off: it runs once per statement on at
 * most a few thousand rows, where compiling costs more than it saves), with the declarations decl,
 * run AFTER event FOR EACH STATEMENT with the statement's rows as the transition table rows
 * ("NEW TABLE AS name"). */
#define PG_STATEMENT_TRIGGER(name, event, rows, decl, body)                                                    \
    "CREATE FUNCTION " name "() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $f$ " decl " BEGIN " body   \
    " RETURN NULL; END $f$;"                                                                                   \
    "CREATE TRIGGER " name " AFTER " event " REFERENCING " rows " FOR EACH STATEMENT EXECUTE FUNCTION " name "();"

#define PG_COUNT_UP(row)                                                                                       \
    "INSERT INTO rollout_counts VALUES (" row ".rollout, " row ".stage, " row ".status, 1)"                    \
    "  ON CONFLICT (rollout, stage, status) DO UPDATE SET n = rollout_counts.n + 1;"
#define PG_COUNT_DOWN                                                                                          \
    "UPDATE rollout_counts SET n = n - 1 WHERE rollout = OLD.rollout AND stage = OLD.stage AND status = OLD.status;"
#define PG_RESTATUS(where) "UPDATE rollout_targets SET status = " ROLLOUT_TARGET_STATUS_EXPR " WHERE " where ";"

static const struct {
    int version;
    const char *sql;
} db_migrations_pg[] = {
    /* 7: schema.h's migration 7 with its triggers as plpgsql functions (same statements, same
     * conditions). */
    {7, "ALTER TABLE rollout_targets ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';"
        "CREATE TABLE rollout_counts ("
        "  rollout BIGINT NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
        "  stage BIGINT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  n BIGINT NOT NULL,"
        "  PRIMARY KEY (rollout, stage, status));"
        "UPDATE rollout_targets SET status = " ROLLOUT_TARGET_STATUS_EXPR ";"
        "INSERT INTO rollout_counts SELECT rollout, stage, status, COUNT(*) FROM rollout_targets GROUP BY 1, 2, 3;"
        PG_TRIGGER("rollout_targets_ins", "INSERT ON rollout_targets", "",
                   PG_COUNT_UP("NEW") PG_RESTATUS("rollout = NEW.rollout AND device = NEW.device"))
        PG_TRIGGER("rollout_targets_upd", "UPDATE OF status, stage ON rollout_targets",
                   "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.stage IS DISTINCT FROM NEW.stage)",
                   PG_COUNT_DOWN PG_COUNT_UP("NEW"))
        PG_TRIGGER("rollout_targets_del", "DELETE ON rollout_targets", "", PG_COUNT_DOWN)
        PG_TRIGGER("rollout_actions_ins", "INSERT ON actions", "WHEN (NEW.rollout IS NOT NULL)",
                   PG_RESTATUS("rollout = NEW.rollout AND device = NEW.device"))
        PG_TRIGGER("rollout_actions_upd", "UPDATE OF status, rollout ON actions",
                   "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.rollout IS DISTINCT FROM NEW.rollout)",
                   PG_RESTATUS("(rollout = NEW.rollout OR rollout = OLD.rollout) AND device = NEW.device"))
        PG_TRIGGER("rollout_actions_del", "DELETE ON actions", "WHEN (OLD.rollout IS NOT NULL)",
                   PG_RESTATUS("rollout = OLD.rollout AND device = OLD.device"))
        PG_TRIGGER("rollout_devices_upd", "UPDATE OF version, version_value, via ON devices",
                   "WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.version_value IS DISTINCT FROM "
                   "NEW.version_value OR OLD.via IS DISTINCT FROM NEW.via)",
                   PG_RESTATUS("device = NEW.id"))
        PG_TRIGGER("rollout_products_upd", "UPDATE OF compat_confirm_by_version ON products",
                   "WHEN (OLD.compat_confirm_by_version IS DISTINCT FROM NEW.compat_confirm_by_version)",
                   PG_RESTATUS("rollout IN (SELECT id FROM rollouts WHERE product = NEW.id)"))
        PG_TRIGGER("rollout_releases_upd", "UPDATE OF version, version_value ON releases", "",
                   PG_RESTATUS("rollout IN (SELECT id FROM rollouts WHERE release = NEW.id)"))},
    /* 8: schema.h's migration 8 (a product's signing keys) with its trigger as a plpgsql function. */
    {8, "CREATE TABLE product_keys ("
        "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
        "  product BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
        "  public_key BYTEA NOT NULL,"
        "  key_hash TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  retired_at BIGINT,"
        "  UNIQUE (product, key_hash));"
        "INSERT INTO product_keys(product, public_key, key_hash, created_at)"
        "  SELECT id, public_key, key_hash, created_at FROM products WHERE length(public_key) > 0;"
        PG_TRIGGER("products_key_ins", "INSERT ON products", "WHEN (length(NEW.public_key) > 0)",
                   "INSERT INTO product_keys(product, public_key, key_hash, created_at)"
                   "  VALUES (NEW.id, NEW.public_key, NEW.key_hash, NEW.created_at);")},
    /* 9: rollout_targets' insert and delete triggers once per statement instead of once per row, with
     * the same effect: the counters move by each (rollout, stage, status)'s number of rows in one
     * statement, then each inserted target whose status is not the one it was inserted with gets it
     * (found from the inserted rows alone; the update trigger moves its count). Per row, every
     * target of a new rollout updated the same counter row once more in one transaction, and the
     * cost grew faster than the rows (on the 2-core test machine: 2,000 targets in 0.7 s, 120,000
     * in one statement in 237 s). */
    {9, "DROP TRIGGER rollout_targets_ins ON rollout_targets; DROP FUNCTION rollout_targets_ins();"
        "DROP TRIGGER rollout_targets_del ON rollout_targets; DROP FUNCTION rollout_targets_del();"
        PG_STATEMENT_TRIGGER("rollout_targets_ins", "INSERT ON rollout_targets", "NEW TABLE AS new_rows",
                             "DECLARE r record;",
                             "INSERT INTO rollout_counts SELECT rollout, stage, status, COUNT(*) FROM new_rows"
                             "  GROUP BY 1, 2, 3 ON CONFLICT (rollout, stage, status)"
                             "  DO UPDATE SET n = rollout_counts.n + EXCLUDED.n;"
                             "FOR r IN SELECT * FROM (SELECT rollout_targets.rollout, rollout_targets.device,"
                             "  rollout_targets.status AS was, " ROLLOUT_TARGET_STATUS_EXPR " AS status"
                             "  FROM new_rows AS rollout_targets) s WHERE s.status <> s.was LOOP"
                             "  UPDATE rollout_targets SET status = r.status WHERE rollout = r.rollout"
                             "    AND device = r.device;"
                             "END LOOP;")
        PG_STATEMENT_TRIGGER("rollout_targets_del", "DELETE ON rollout_targets", "OLD TABLE AS old_rows", "",
                             "UPDATE rollout_counts SET n = rollout_counts.n - o.n FROM (SELECT rollout, stage,"
                             "  status, COUNT(*) AS n FROM old_rows GROUP BY 1, 2, 3) o"
                             "  WHERE rollout_counts.rollout = o.rollout AND rollout_counts.stage = o.stage"
                             "  AND rollout_counts.status = o.status;")},
};

#endif
