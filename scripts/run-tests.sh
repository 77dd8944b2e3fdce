#!/usr/bin/env bash
# Runs the test suite with everything it needs on a fresh machine:
# - a throwaway PostgreSQL 15 (initdb + pg_ctl in a temp dir, loopback, free port), so the collector is tested
#   against PostgreSQL for real as well as SQLite; it is always stopped, whatever the tests do;
# - Debian's chromium for the browser tests of the guide's pages (installed with apt-get when missing).
# Extra arguments go to pytest; `--exec CMD ARGS...` runs CMD instead (a bench that needs the PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "run-tests: installing Debian chromium for the browser tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

start_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
    echo "run-tests: PostgreSQL binaries not found; PostgreSQL tests will fail" >&2
    return 0
  fi
  PG_DIR=$(mktemp -d /tmp/fhir-family-pg.XXXXXX)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local as_user=()
  if [ "$(id -u)" = 0 ]; then
    # initdb and postgres refuse to run as root: run them as the packaged postgres user.
    chown postgres "$PG_DIR"
    as_user=(runuser -u postgres --)
  fi
  "${as_user[@]}" "$bindir/initdb" -D "$PG_DIR/data" -U fhirfamily --auth=trust -E UTF8 >"$PG_DIR/initdb.log" 2>&1
  "${as_user[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-h 127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
  PG_STOP=("${as_user[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -m immediate stop)
  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U fhirfamily fhirfamily_test
  export TEST_DATABASE_URL="postgresql+psycopg://fhirfamily@127.0.0.1:$port/fhirfamily_test"
  echo "run-tests: PostgreSQL on 127.0.0.1:$port" >&2
}

stop_postgres() {
  if [ -n "${PG_STOP+x}" ]; then "${PG_STOP[@]}" >/dev/null 2>&1 || true; fi
  if [ -n "${PG_DIR:-}" ]; then rm -rf "$PG_DIR"; fi
}

trap stop_postgres EXIT
ensure_chromium
start_postgres
if [ "${1:-}" = "--exec" ]; then
  shift
  "$@"
else
  .venv/bin/python -m pytest "$@"
fi
