#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: initdb in a new temporary directory, the server on
# a unix socket in it (no TCP port), trust authentication for the role otakit, fsync off.
#   scripts/pg-cluster.sh start STATE   starts one; STATE (a directory) gets its socket directory
#                                        in STATE/host (what the tests' server helper reads)
#   scripts/pg-cluster.sh stop STATE    stops it and removes its files
#   scripts/pg-cluster.sh uri STATE [DB] prints a libpq URI for database DB (default postgres)
# PostgreSQL refuses to run as root: as root the cluster runs as the user nobody.
set -euo pipefail
cmd=${1:?start, stop or uri}
state=${2:?state directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $bin/initdb ]] || { echo "pg-cluster: no PostgreSQL server (Debian's postgresql: scripts/deps.sh)" >&2; exit 1; }
as=()
[[ $(id -u) -eq 0 ]] && as=(runuser -u nobody --)
case $cmd in
start)
  mkdir -p "$state"
  [[ -f $state/host ]] && "$0" stop "$state"
  dir=$(mktemp -d /tmp/otakit-pg.XXXXXX)
  chmod 755 "$dir"
  [[ ${#as[@]} -gt 0 ]] && chown nobody "$dir"
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U otakit --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-k $dir -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  echo "$dir" >"$state/host"
  echo "pg-cluster: PostgreSQL $("$bin/postgres" -V | awk '{print $3}') on socket directory $dir"
  ;;
stop)
  [[ -f $state/host ]] || exit 0
  dir=$(cat "$state/host")
  [[ -d $dir/data ]] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir" "$state/host"
  ;;
uri)
  echo "postgresql:///${3:-postgres}?host=$(cat "$state/host")&user=otakit"
  ;;
*) echo "pg-cluster: unknown command $cmd" >&2; exit 2 ;;
esac
