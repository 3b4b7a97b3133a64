/* Database migrations, in order. Append only: never edit a migration that has shipped. */
#ifndef OTAKIT_SERVER_SCHEMA_H
#define OTAKIT_SERVER_SCHEMA_H

/* A rollout target's status, for the row of rollout_targets being written (migration 7 and its
 * triggers): its latest action's for this rollout unless cancelled; else up_to_date when the device
 * already runs the release or a newer one (a compat device's report proves that only in a product
 * that trusts those reports, compat_policy.h); else the cancelled action's status or pending. */
#define ROLLOUT_TARGET_STATUS_EXPR                                                                            \
    "COALESCE((SELECT CASE WHEN a.status IS NOT NULL AND a.status <> 'cancelled' THEN a.status "             \
    "  WHEN (d.version = rel.version OR d.version_value >= rel.version_value) "                               \
    "    AND (d.via = 'token' OR p.compat_confirm_by_version <> 0) THEN 'up_to_date' "                             \
    "  ELSE COALESCE(a.status, 'pending') END "                                                               \
    "FROM rollouts ro JOIN releases rel ON rel.id = ro.release JOIN products p ON p.id = ro.product "         \
    "JOIN devices d ON d.id = rollout_targets.device "                                                        \
    "LEFT JOIN actions a ON a.id = (SELECT MAX(x.id) FROM actions x WHERE x.rollout = rollout_targets.rollout " \
    "  AND x.device = rollout_targets.device) "                                                               \
    "WHERE ro.id = rollout_targets.rollout), 'pending')"

static const char *const db_migrations[] = {
    /* 1: fleet, releases, artifacts, deployments */
    "CREATE TABLE products ("
    "  id INTEGER PRIMARY KEY,"
    "  product_id TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  public_key BLOB NOT NULL,"          /* DER SubjectPublicKeyInfo, 91 bytes */
    "  key_hash TEXT NOT NULL,"
    "  version_rule TEXT NOT NULL DEFAULT 'semver',"  /* semver | espressif */
    "  owner_token_hash TEXT NOT NULL UNIQUE,"
    "  enroll_token_hash TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE releases ("
    "  id INTEGER PRIMARY KEY,"
    "  product INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
    "  version TEXT NOT NULL,"
    "  version_value INTEGER NOT NULL,"     /* orders releases */
    "  channel TEXT NOT NULL DEFAULT 'official',"
    "  security_counter INTEGER NOT NULL DEFAULT 0,"
    "  notes TEXT NOT NULL DEFAULT '',"
    "  meta TEXT NOT NULL DEFAULT '{}',"    /* what the upload check read (JSON) */
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (product, version));"
    "CREATE TABLE artifacts ("
    "  id INTEGER PRIMARY KEY,"
    "  release INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,"
    "  slot INTEGER NOT NULL DEFAULT -1,"   /* -1: any slot; 0/1: slot-linked image */
    "  filename TEXT NOT NULL,"
    "  format TEXT NOT NULL,"               /* otakit | esp-idf | esp8266 */
    "  size INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  sha1 TEXT NOT NULL,"
    "  md5 TEXT NOT NULL,"
    "  meta TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (release, slot));"
    "CREATE INDEX artifacts_sha256 ON artifacts(sha256);"
    "CREATE TABLE devices ("
    "  id INTEGER PRIMARY KEY,"
    "  device_id TEXT NOT NULL,"
    "  product INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  hw_rev TEXT NOT NULL DEFAULT '',"
    "  version TEXT NOT NULL DEFAULT '',"
    "  slot INTEGER NOT NULL DEFAULT 0,"
    "  security_counter INTEGER NOT NULL DEFAULT 0,"
    "  mac TEXT NOT NULL DEFAULT '',"
    "  groups TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL DEFAULT 'registered',"
    "  last_seen INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (product, device_id));"
    "CREATE TABLE actions ("                 /* one release offered to one device */
    "  id INTEGER PRIMARY KEY,"
    "  device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  release INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,"
    "  rollout INTEGER,"
    "  status TEXT NOT NULL DEFAULT 'offered',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX actions_device ON actions(device);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  action INTEGER REFERENCES actions(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '',"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX events_device ON events(device);"
    "CREATE TABLE commands ("
    "  id INTEGER PRIMARY KEY,"
    "  device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  type TEXT NOT NULL,"                 /* upgrade | reboot */
    "  payload TEXT NOT NULL DEFAULT '{}',"
    "  status TEXT NOT NULL DEFAULT 'queued',"  /* queued | delivered | done | failed */
    "  created_at INTEGER NOT NULL,"
    "  delivered_at INTEGER);",
    /* 2: rollouts (stages and their fixed membership), action progress, command consent.
     * rollouts.state: creating (targets being stored, rollout_create.c) | running | paused | finished |
     * cancelled; reason says why it paused or ended.
     * rollout_stages.spec: the stage as given ({"percent":N} or {"devices":[...]} or {"rest":true});
     * acked_failures: failures already seen by the operator at the last resume (the error threshold
     * counts only newer ones); forced: the operator resumed past an unmet success threshold.
     * rollout_targets: which stage each device belongs to, fixed when the rollout is created.
     * commands.consent: none | pending | granted | declined (upgrade commands that wait for the
     * user's decision before the reboot command is queued); commands.status also takes declined
     * (the device said no) and cancelled (superseded before delivery).
     * actions.status: offered | downloading | downloaded | installing | installed | confirmed |
     * failed | rolled_back | cancelled. */
    "CREATE TABLE rollouts ("
    "  id INTEGER PRIMARY KEY,"
    "  product INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
    "  release INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  target TEXT NOT NULL DEFAULT '{}',"
    "  state TEXT NOT NULL DEFAULT 'running',"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  current_stage INTEGER NOT NULL DEFAULT 0,"
    "  success_threshold REAL NOT NULL DEFAULT 0.9,"
    "  error_threshold REAL NOT NULL DEFAULT 0.2,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX rollouts_product ON rollouts(product, state);"
    "CREATE TABLE rollout_stages ("
    "  rollout INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  spec TEXT NOT NULL DEFAULT '{}',"
    "  acked_failures INTEGER NOT NULL DEFAULT 0,"
    "  forced INTEGER NOT NULL DEFAULT 0,"
    "  started_at INTEGER,"
    "  finished_at INTEGER,"
    "  PRIMARY KEY (rollout, idx));"
    "CREATE TABLE rollout_targets ("
    "  rollout INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
    "  device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  stage INTEGER NOT NULL,"
    "  PRIMARY KEY (rollout, device));"
    "CREATE INDEX rollout_targets_device ON rollout_targets(device);"
    "ALTER TABLE devices ADD COLUMN version_value INTEGER NOT NULL DEFAULT -1;" /* by the product's rule; -1 unknown */
    "ALTER TABLE actions ADD COLUMN command INTEGER;"
    "ALTER TABLE actions ADD COLUMN progress INTEGER;"
    "ALTER TABLE actions ADD COLUMN message TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX actions_rollout ON actions(rollout, device);"
    "ALTER TABLE commands ADD COLUMN release INTEGER REFERENCES releases(id) ON DELETE SET NULL;"
    "ALTER TABLE commands ADD COLUMN action INTEGER;"
    "ALTER TABLE commands ADD COLUMN consent TEXT NOT NULL DEFAULT 'none';"
    "ALTER TABLE commands ADD COLUMN message TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE commands ADD COLUMN acked_at INTEGER;"
    "CREATE INDEX commands_device ON commands(device, status);",
    /* 3: how a device joined: 'token' (registered with the enrollment token), 'esp' or 'mongoose'
     * (first contact over a compat protocol). Compat routes only ever act on their own devices. */
    ("ALTER TABLE devices ADD COLUMN via TEXT NOT NULL DEFAULT 'token';"
     "CREATE INDEX devices_via_mac ON devices(product, via, mac);"),
    /* 4: what the credential-less compat protocols may do in a product, off unless its owner says
     * so (compat_policy.h); compat devices move to their own id namespace ("esp:<MAC>",
     * "mongoose:<id>"), clear of the ids and MACs token devices register with. */
    ("ALTER TABLE products ADD COLUMN compat_esp INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE products ADD COLUMN compat_mongoose INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE products ADD COLUMN compat_confirm_by_version INTEGER NOT NULL DEFAULT 0;"
     "UPDATE devices SET device_id = 'esp:' || device_id WHERE via = 'esp' AND device_id NOT LIKE 'esp:%';"
     "UPDATE devices SET device_id = 'mongoose:' || device_id WHERE via = 'mongoose' "
     "AND device_id NOT LIKE 'mongoose:%';"),
    /* 5: the boot state a compat device last claimed (Mongoose's boot=0..3; -1 never said), so a
     * change into "rolled back" is told apart from the state it keeps reporting afterwards. */
    "ALTER TABLE devices ADD COLUMN boot_state INTEGER NOT NULL DEFAULT -1;",
    /* 6: hawkBit DDI (ddi.c). products.ddi_gateway_token_hash: the product's GatewayToken (NULL:
     * none); products.ddi_register: a GatewayToken poll from an unknown controller registers it;
     * devices.attributes: the DDI configData a device stored (JSON object text, '' never sent);
     * actions.cancel_acked: when the device acknowledged the cancel of a cancelled action. */
    ("ALTER TABLE products ADD COLUMN ddi_gateway_token_hash TEXT;"
     "ALTER TABLE products ADD COLUMN ddi_register INTEGER NOT NULL DEFAULT 0;"
     "CREATE UNIQUE INDEX products_ddi_gateway ON products(ddi_gateway_token_hash);"
     "ALTER TABLE devices ADD COLUMN attributes TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE actions ADD COLUMN cancel_acked INTEGER;"),
    /* 7: rollout counters kept in the same transaction as every change they depend on, so a report
     * evaluates its rollout in constant time (rollout_eval.c). rollout_targets.status: the target's
     * status as rollout_target_status_sql defines it (rollout_eval.h), kept by the triggers below;
     * rollout_counts: how many targets of each stage have each status. */
    ("ALTER TABLE rollout_targets ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';"
     "CREATE TABLE rollout_counts ("
     "  rollout INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
     "  stage INTEGER NOT NULL,"
     "  status TEXT NOT NULL,"
     "  n INTEGER NOT NULL,"
     "  PRIMARY KEY (rollout, stage, status)) WITHOUT ROWID;"
     "UPDATE rollout_targets SET status = " ROLLOUT_TARGET_STATUS_EXPR ";"
     "INSERT INTO rollout_counts SELECT rollout, stage, status, COUNT(*) FROM rollout_targets GROUP BY 1, 2, 3;"
     "CREATE TRIGGER rollout_targets_ins AFTER INSERT ON rollout_targets BEGIN"
     "  INSERT INTO rollout_counts VALUES (NEW.rollout, NEW.stage, NEW.status, 1)"
     "    ON CONFLICT (rollout, stage, status) DO UPDATE SET n = n + 1;"
     "  UPDATE rollout_targets SET status = " ROLLOUT_TARGET_STATUS_EXPR
     "    WHERE rollout = NEW.rollout AND device = NEW.device; END;"
     "CREATE TRIGGER rollout_targets_upd AFTER UPDATE OF status, stage ON rollout_targets"
     "  WHEN OLD.status IS NOT NEW.status OR OLD.stage IS NOT NEW.stage BEGIN"
     "  UPDATE rollout_counts SET n = n - 1 WHERE rollout = OLD.rollout AND stage = OLD.stage AND status = OLD.status;"
     "  INSERT INTO rollout_counts VALUES (NEW.rollout, NEW.stage, NEW.status, 1)"
     "    ON CONFLICT (rollout, stage, status) DO UPDATE SET n = n + 1; END;"
     "CREATE TRIGGER rollout_targets_del AFTER DELETE ON rollout_targets BEGIN"
     "  UPDATE rollout_counts SET n = n - 1 WHERE rollout = OLD.rollout AND stage = OLD.stage AND status = OLD.status;"
     "  END;"
     "CREATE TRIGGER rollout_actions_ins AFTER INSERT ON actions WHEN NEW.rollout IS NOT NULL BEGIN"
     "  UPDATE rollout_targets SET status = " ROLLOUT_TARGET_STATUS_EXPR
     "    WHERE rollout = NEW.rollout AND device = NEW.device; END;"
     "CREATE TRIGGER rollout_actions_upd AFTER UPDATE OF status, rollout ON actions"
     "  WHEN OLD.status IS NOT NEW.status OR OLD.rollout IS NOT NEW.rollout BEGIN"
     "  UPDATE rollout_targets SET status = " ROLLOUT_TARGET_STATUS_EXPR
     "    WHERE (rollout = NEW.rollout OR rollout = OLD.rollout) AND device = NEW.device; END;"
     "CREATE TRIGGER rollout_actions_del AFTER DELETE ON actions WHEN OLD.rollout IS NOT NULL BEGIN"
     "  UPDATE rollout_targets SET status = " ROLLOUT_TARGET_STATUS_EXPR
     "    WHERE rollout = OLD.rollout AND device = OLD.device; END;"
     "CREATE TRIGGER rollout_devices_upd AFTER UPDATE OF version, version_value, via ON devices"
     "  WHEN OLD.version IS NOT NEW.version OR OLD.version_value IS NOT NEW.version_value"
     "    OR OLD.via IS NOT NEW.via BEGIN"
     "  UPDATE rollout_targets SET status = " ROLLOUT_TARGET_STATUS_EXPR " WHERE device = NEW.id; END;"
     "CREATE TRIGGER rollout_products_upd AFTER UPDATE OF compat_confirm_by_version ON products"
     "  WHEN OLD.compat_confirm_by_version IS NOT NEW.compat_confirm_by_version BEGIN"
     "  UPDATE rollout_targets SET status = " ROLLOUT_TARGET_STATUS_EXPR
     "    WHERE rollout IN (SELECT id FROM rollouts WHERE product = NEW.id); END;"
     "CREATE TRIGGER rollout_releases_upd AFTER UPDATE OF version, version_value ON releases BEGIN"
     "  UPDATE rollout_targets SET status = " ROLLOUT_TARGET_STATUS_EXPR
     "    WHERE rollout IN (SELECT id FROM rollouts WHERE release = NEW.id); END;"),
    /* 8: several signing keys per product (api_keys.c): uploads verify against any active key, a
     * retired key stays listed (the releases it signed keep its hash in artifacts.meta). The
     * product's own public_key/key_hash is its newest active key; a product created with a key
     * gets that key's row from the trigger. */
    ("CREATE TABLE product_keys ("
     "  id INTEGER PRIMARY KEY,"
     "  product INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
     "  public_key BLOB NOT NULL,"
     "  key_hash TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  retired_at INTEGER,"
     "  UNIQUE (product, key_hash));"
     "INSERT INTO product_keys(product, public_key, key_hash, created_at)"
     "  SELECT id, public_key, key_hash, created_at FROM products WHERE length(public_key) > 0;"
     "CREATE TRIGGER products_key_ins AFTER INSERT ON products WHEN length(NEW.public_key) > 0 BEGIN"
     "  INSERT INTO product_keys(product, public_key, key_hash, created_at)"
     "    VALUES (NEW.id, NEW.public_key, NEW.key_hash, NEW.created_at); END;"),
    /* 9: PostgreSQL only (schema_pg.h): rollout_targets' insert and delete triggers per statement.
     * Nothing changes on SQLite, whose row triggers run in-process. */
    "",
};

#endif
