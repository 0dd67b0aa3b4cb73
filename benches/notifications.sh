#!/usr/bin/env bash
# Publishing a bulletin to every KIM, run by hand: bash benches/notifications.sh [BINARY]
# Seeds 500 active KIMs with 10 accounts each (5 000 recipients), then, on SQLite and on
# PostgreSQL (sslmode=disable), publishes ROUNDS bulletins to one KIM and ROUNDS to all
# KIMs, alternately (benches/notifications.py), and prints:
#   - the publish request's p50/p99 for each audience, and the ratio of the p99s: the
#     inbox rows are written by the dispatcher, so publishing to all must cost about
#     what publishing to one does;
#   - the time from the publish answer until the last of the 5 000 inbox rows can be
#     read (the dispatcher's fan-out).
# Knobs: ROUNDS (20), PG_ADMIN_URL, PORT (18391).
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-20}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18391}
BASE="http://127.0.0.1:${PORT}"
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet --release --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi

work=$(mktemp -d)
server_pid=""
bench_db="kim_notification_bench_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${bench_db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
password="bench-kopi-tubruk-di-metro"

# 500 KIMs, and 10 accounts in each that share the watcher's password hash.
seed_sql() {
  cat <<SQL
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 500),
kel AS (SELECT code, parent_code, ROW_NUMBER() OVER (ORDER BY code) - 1 AS i
        FROM regions WHERE level = 'kelurahan')
INSERT INTO kims (registration_code, name, name_key, kelurahan_code, kecamatan_code, area_type, status)
SELECT 'BENCH-' || n, 'KIM Bench ' || n, 'kim bench ' || n, kel.code, kel.parent_code, 'urban', 'active'
FROM g JOIN kel ON kel.i = n % (SELECT COUNT(*) FROM kel);

WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 9)
INSERT INTO users (username, username_key, password_hash, role, kim_id)
SELECT 'warga-' || k.id || '-' || g.n, 'warga-' || k.id || '-' || g.n,
  (SELECT password_hash FROM users WHERE username_key = 'bench'), 'kim_member', k.id
FROM kims k CROSS JOIN g WHERE k.registration_code LIKE 'BENCH-%'
ORDER BY k.id, g.n;
SQL
}

serve() { # $1 = label, $2 = DATABASE_URL
  env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$1" DATABASE_URL="$2" BIND_ADDR="127.0.0.1:${PORT}" \
    RUST_LOG=error "$BIN" serve >>"$work/$1.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -fsS "$BASE/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
}

stop() {
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

run() { # $1 = label, $2 = DATABASE_URL, $3 = command that runs SQL from stdin
  local label=$1 url=$2 sql=$3 watcher one_kim
  mkdir -p "$work/$label"
  printf '%s\n' "$password" | env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$label" DATABASE_URL="$url" \
    RUST_LOG=error "$BIN" create-admin --username bench --password-stdin >/dev/null
  seed_sql | eval "$sql"
  watcher=$(echo "SELECT username FROM users ORDER BY id DESC LIMIT 1;" | eval "$sql")
  # The watcher's own KIM: both kinds of publication reach it, so each round waits for
  # its fan-out before the next publication (no fan-out runs during a timed request).
  one_kim=$(echo "SELECT kim_id FROM users ORDER BY id DESC LIMIT 1;" | eval "$sql")
  serve "$label" "$url"
  echo "$label:"
  python3 benches/notifications.py "$BASE" "$password" bench "$watcher" "$one_kim" "$ROUNDS"
  stop
}

echo "publishing to 500 KIMs x 10 accounts, ${ROUNDS} rounds; $BIN"
sqlite_db="$work/sqlite/kim.db"
run sqlite "$sqlite_db" \
  "python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); script = sys.stdin.read()
if script.lstrip().upper().startswith(\"SELECT\"):
    print(c.execute(script).fetchone()[0])
else:
    c.executescript(script); c.commit()' \"$sqlite_db\""
psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${bench_db}"
pg_url="${PG_ADMIN_URL%/*}/${bench_db}?sslmode=disable"
run postgres "$pg_url" "psql -qAtX '$pg_url'"
