#!/usr/bin/env bash
# Run a command next to a throwaway PostgreSQL server and stop the server afterwards.
#
#   scripts/with_postgres.sh pytest tests/store
#
# The server lives in a temporary folder, listens on 127.0.0.1 at a free port with trust auth and
# fsync off (it holds only test data), and is removed on exit. Its URL is exported as
# EXACT_LAB_TEST_PG_URL. PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` system user (Debian's postgresql package creates it).
set -euo pipefail

pgbin=""
for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) ; do
  [ -x "$dir/initdb" ] && { pgbin=$dir; break; }
done
if [ -z "$pgbin" ] && command -v initdb >/dev/null; then pgbin=$(dirname "$(command -v initdb)"); fi
if [ -z "$pgbin" ]; then
  echo "with_postgres: no PostgreSQL server binaries (initdb) found." >&2
  echo "  Install them (Debian: apt-get install postgresql) or run without PostgreSQL tests." >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exec "$@"
fi

work=$(mktemp -d)
chmod 755 "$work"               # the postgres user must traverse it
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = "0" ]; then
  as_pg=(runuser -u postgres --)
  install -d -o postgres "$work/pg"
else
  mkdir -p "$work/pg"
fi

stop() {
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap stop EXIT INT TERM

"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -A trust -U postgres >"$work/initdb.log" 2>&1 \
  || { cat "$work/initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -o \
  "-p $port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$work/pg/log" >&2; exit 1; }

export EXACT_LAB_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
echo "with_postgres: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on port $port" >&2
set +e
"$@"
rc=$?
set -e
exit $rc
