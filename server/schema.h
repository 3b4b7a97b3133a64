/* Database migrations, in order. Append only: never edit a migration that has shipped. */
#ifndef OTAKIT_SERVER_SCHEMA_H
#define OTAKIT_SERVER_SCHEMA_H

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
};

#endif
