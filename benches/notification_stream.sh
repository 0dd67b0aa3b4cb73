#!/usr/bin/env bash
# Live notification streams at scale, run by hand: bash benches/notification_stream.sh [BINARY]
# Seeds 100 active KIMs with 10 accounts each, starts the release server on SQLite and
# on PostgreSQL (sslmode=disable), opens CONNECTIONS streams (one per account) and
# publishes ROUNDS bulletins to all KIMs (benches/notification_stream.py). Prints the
# server's RSS idle and with the streams open, and the delay from each publish answer
# (the commit) to the event on every stream (p50/p99/max).
# Knobs: CONNECTIONS (1000), ROUNDS (10), PG_ADMIN_URL, PORT (18392).
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-1000}
ROUNDS=${ROUNDS:-10}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18392}
BASE="http://127.0.0.1:${PORT}"
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet --release --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi
# A stream is a socket on each side.
ulimit -n 8192

work=$(mktemp -d)
server_pid=""
bench_db="kim_stream_bench_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${bench_db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
password="bench-kopi-tubruk-di-metro"

# 100 KIMs, and 10 accounts in each that share the admin's password hash.
seed_sql() {
  cat <<SQL
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 100),
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

run() { # $1 = label, $2 = DATABASE_URL, $3 = command that runs SQL from stdin
  local label=$1 url=$2 sql=$3
  mkdir -p "$work/$label"
  printf '%s\n' "$password" | env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$label" DATABASE_URL="$url" \
    RUST_LOG=error "$BIN" create-admin --username bench --password-stdin >/dev/null
  seed_sql | eval "$sql"
  echo "SELECT username FROM users WHERE username LIKE 'warga-%' ORDER BY id;" | eval "$sql" >"$work/$label.users"
  env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$label" DATABASE_URL="$url" BIND_ADDR="127.0.0.1:${PORT}" \
    RUST_LOG=error "$BIN" serve >>"$work/$label.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -fsS "$BASE/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "$label:"
  python3 benches/notification_stream.py "$BASE" "$password" bench "$work/$label.users" \
    "$server_pid" "$CONNECTIONS" "$ROUNDS"
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

echo "${CONNECTIONS} notification streams, ${ROUNDS} publications to 100 KIMs x 10 accounts; $BIN"
sqlite_db="$work/sqlite/kim.db"
run sqlite "$sqlite_db" \
  "python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); script = sys.stdin.read()
if script.lstrip().upper().startswith(\"SELECT\"):
    print(\"\\n\".join(str(row[0]) for row in c.execute(script)))
else:
    c.executescript(script); c.commit()' \"$sqlite_db\""
psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${bench_db}"
pg_url="${PG_ADMIN_URL%/*}/${bench_db}?sslmode=disable"
run postgres "$pg_url" "psql -qAtX '$pg_url'"
