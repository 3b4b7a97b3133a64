#!/usr/bin/env bash
# Turns the SQLite C API calls in the server's modules into db.h's store-neutral ones, so that the
# code runs on SQLite and on PostgreSQL: sqlite3 -> db_t, sqlite3_stmt -> db_stmt_t, sqlite3_<x>() ->
# db_<x>(), SQLITE_<X> -> DB_<X>, <sqlite3.h> -> "db.h". A pure rename: db.h keeps SQLite's signatures
# and result codes. Idempotent: run it again after merging code written against sqlite3_*.
#   bash scripts/dev/db-convert.sh          converts server/*.c server/*.h in place
#   bash scripts/dev/db-convert.sh --check  lists what is left to convert (exit 1 if anything)
# The store's own files (db*.c, db*.h) and backup.c (SQLite's online backup) keep SQLite's API.
# It ends by listing db_* calls that db.h does not declare (an SQLite call the layer lacks yet).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/server"
keep='^(db|db_stmt|db_pg|db_impl|backup)\.[ch]$'
left=0
for f in *.c *.h; do
  [[ $f =~ $keep ]] && continue
  grep -qE '\bsqlite3|\bSQLITE_' "$f" || continue
  if [[ ${1:-} == --check ]]; then
    grep -nE '\bsqlite3|\bSQLITE_' "$f" | sed "s|^|server/$f:|"
    left=1
    continue
  fi
  perl -0pi -e '
    if (/#include "db\.h"/) { s/#include <sqlite3\.h>\n//g } else { s/#include <sqlite3\.h>/#include "db.h"/g }
    s/\bsqlite3_stmt\b/db_stmt_t/g;
    s/\bsqlite3_int64\b/db_int64/g;
    s/\bsqlite3_(\w+)/db_$1/g;
    s/\bSQLITE_(\w+)/DB_$1/g;
    s/\bsqlite3\b/db_t/g;
  ' "$f"
  echo "converted server/$f"
done
[[ ${1:-} == --check ]] && exit $left
# Calls the layer does not have (add them to db.h / db_stmt.c / db_pg.c).
declared=$(grep -oE '\bdb_[a-z0-9_]+\b' db.h | sort -u)
used=$(grep -ohE "\bdb_[a-z0-9_]+ ?\(" -- *.c *.h | tr -d " (" | sort -u)
missing=$(comm -13 <(echo "$declared") <(echo "$used") | grep -vE '^db_(impl|pg|stmt_s|conn|migrations|migrations_pg|where|pg_mode|is_postgres)$' || true)
for m in $missing; do
  grep -lE "\b$m\b" -- *.c *.h | grep -vqE "$keep" && echo "db.h lacks $m (used in: $(grep -lE "\b$m\b" -- *.c *.h | tr '\n' ' '))" >&2
done
exit 0
