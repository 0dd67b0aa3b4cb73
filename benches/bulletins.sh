#!/usr/bin/env bash
# Bulletin lists at scale, run by hand: bash benches/bulletins.sh [BINARY]
# Seeds 500 active KIMs and 100 000 published bulletins (a tenth public, a tenth to all
# KIMs, the rest to kecamatan, kelurahan or single KIMs), then measures side by side
# with `wrk -t2 -c64`, on SQLite and on PostgreSQL (sslmode=disable):
#   /health/live, a kim_member's GET /api/v1/bulletins first page, and a deep page
#   (the cursor after DEEP_PAGES pages of 20).
# Prints requests/s, the ratios to /health/live, and deep/first: with the list page
# cache on (the default, LIST_CACHE_MB=32) and off (LIST_CACHE_MB=0), one seeded
# database, one run.
# Knobs: DURATION (10s), DEEP_PAGES (200), PG_ADMIN_URL, PORT (18390).
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
DEEP_PAGES=${DEEP_PAGES:-200}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18390}
BASE="http://127.0.0.1:${PORT}"
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet --release --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

work=$(mktemp -d)
server_pid=""
bench_db="kim_bulletin_bench_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${bench_db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
password="bench-kopi-tubruk-di-metro"

# $1 = SQL for "n seconds after 2026-01-01" given column n.
seed_sql() {
  cat <<SQL
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 500),
kel AS (SELECT code, parent_code, ROW_NUMBER() OVER (ORDER BY code) - 1 AS i
        FROM regions WHERE level = 'kelurahan')
INSERT INTO kims (registration_code, name, name_key, kelurahan_code, kecamatan_code, area_type, status)
SELECT 'BENCH-' || n, 'KIM Bench ' || n, 'kim bench ' || n, kel.code, kel.parent_code, 'urban', 'active'
FROM g JOIN kel ON kel.i = n % (SELECT COUNT(*) FROM kel);

WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 100000),
kel AS (SELECT code, ROW_NUMBER() OVER (ORDER BY code) - 1 AS i FROM regions WHERE level = 'kelurahan'),
kec AS (SELECT code, ROW_NUMBER() OVER (ORDER BY code) - 1 AS i FROM regions WHERE level = 'kecamatan'),
k AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS i FROM kims WHERE registration_code LIKE 'BENCH-%'),
pick AS (
  SELECT n,
    CASE WHEN n % 10 = 0 THEN 'public' WHEN n % 10 = 1 THEN 'all_kims'
         WHEN n % 10 IN (2, 3) THEN 'kecamatan' WHEN n % 10 IN (4, 5, 6) THEN 'kelurahan'
         ELSE 'kims' END AS scope,
    (SELECT code FROM kec WHERE kec.i = n % (SELECT COUNT(*) FROM kec)) AS kec_code,
    (SELECT code FROM kel WHERE kel.i = n % (SELECT COUNT(*) FROM kel)) AS kel_code,
    (SELECT id FROM k WHERE k.i = (n * 7) % 500) AS kim_id
  FROM g)
INSERT INTO bulletins (origin, title, body, search_key, category, priority, audience_scope,
  audience_codes, audience_kim_ids, status, published_at, change_seq)
SELECT 'government', 'Buletin ' || n, 'Isi buletin nomor ' || n || '.', 'buletin ' || n,
  'umum', 'normal', scope,
  CASE scope WHEN 'kecamatan' THEN '["' || kec_code || '"]' WHEN 'kelurahan' THEN '["' || kel_code || '"]' ELSE '[]' END,
  CASE scope WHEN 'kims' THEN '[' || kim_id || ']' ELSE '[]' END,
  'published', $1, n
FROM pick ORDER BY n;

INSERT INTO bulletin_audience (bulletin_id, region_code)
SELECT b.id, r.code FROM bulletins b JOIN regions r
  ON b.audience_codes = '["' || r.code || '"]' WHERE b.audience_scope IN ('kecamatan', 'kelurahan');
INSERT INTO bulletin_audience (bulletin_id, kim_id)
SELECT b.id, k.id FROM bulletins b JOIN kims k ON b.audience_kim_ids = '[' || k.id || ']'
WHERE b.audience_scope = 'kims';
UPDATE sync_counters SET value = 100000 WHERE name = 'bulletins';
-- Statistics, as a running database has them (autovacuum would gather them later).
ANALYZE;
SQL
}

rps() { # $1 = path [, $2 = token]
  local auth=()
  [ -n "${2:-}" ] && auth=(-H "Authorization: Bearer $2")
  wrk -t2 -c64 -d"$DURATION" "${auth[@]}" "$BASE$1" | awk '/Requests\/sec/ { print $2 }'
}

run() { # $1 = label, $2 = DATABASE_URL, $3 = seeding command
  local label=$1 url=$2 seed=$3 token kim member cursor page live first deep
  mkdir -p "$work/$label"
  printf '%s\n' "$password" | env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$label" DATABASE_URL="$url" \
    RUST_LOG=error "$BIN" create-admin --username bench --password-stdin >/dev/null
  local seeded_at=$SECONDS
  eval "$seed"
  echo "$label: seeded in $((SECONDS - seeded_at)) s" >&2
  serve "$label" "$url" 32
  token=$(curl -fsS "$BASE/api/v1/auth/token" -d grant_type=password -d username=bench \
    -d "password=$password" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  kim=$(curl -fsS "$BASE/api/v1/kims?q=bench&limit=1" -H "Authorization: Bearer $token" |
    sed -E 's/.*"data":\[\{"id":([0-9]+).*/\1/')
  curl -fsS -o /dev/null "$BASE/api/v1/users" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"username\":\"anggota\",\"password\":\"$password\",\"role\":\"kim_member\",\"kim_id\":$kim}"
  member=$(curl -fsS "$BASE/api/v1/auth/token" -d grant_type=password -d username=anggota \
    -d "password=$password" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  cursor=""
  for _ in $(seq 1 "$DEEP_PAGES"); do
    page=$(curl -fsS "$BASE/api/v1/bulletins${cursor:+?cursor=$cursor}" -H "Authorization: Bearer $member")
    cursor=$(printf '%s' "$page" | sed -E 's/.*"next_cursor":"([^"]+)".*/\1/')
  done
  live=$(rps /health/live)
  local cache
  for cache in 32 0; do
    [ "$cache" = 0 ] && { stop; serve "$label" "$url" 0; }
    first=$(rps /api/v1/bulletins "$member")
    deep=$(rps "/api/v1/bulletins?cursor=$cursor" "$member")
    printf '%-10s %6s %12s %12s %7.2f %12s %7.2f %10.2f\n' "$label" "$cache" "$live" "$first" \
      "$(echo "$first / $live" | bc -l)" "$deep" "$(echo "$deep / $live" | bc -l)" \
      "$(echo "$first / $deep" | bc -l)"
  done
  stop
}

serve() { # $1 = label, $2 = DATABASE_URL, $3 = LIST_CACHE_MB
  env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$1" DATABASE_URL="$2" BIND_ADDR="127.0.0.1:${PORT}" \
    LIST_CACHE_MB="$3" RUST_LOG=error "$BIN" serve >>"$work/$1.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -fsS "$BASE/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
}

stop() {
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

echo "bulletin lists: 500 KIMs, 100 000 bulletins, wrk -t2 -c64 -d${DURATION}, deep = after ${DEEP_PAGES} pages; $BIN"
printf '%-10s %6s %12s %12s %7s %12s %7s %10s\n' backend "cache" "live req/s" "first req/s" ratio "deep req/s" ratio "first/deep"
sqlite_db="$work/sqlite/kim.db"
run sqlite "$sqlite_db" \
  "seed_sql \"strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || n || ' seconds')\" |
   python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.stdin.read()); c.commit()' \"$sqlite_db\""
if psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${bench_db}" >/dev/null 2>&1; then
  pg_url="${PG_ADMIN_URL%/*}/${bench_db}?sslmode=disable"
  run postgres "$pg_url" \
    "seed_sql \"TIMESTAMP '2026-01-01' + n * INTERVAL '1 second'\" | psql -q -v ON_ERROR_STOP=1 \"$pg_url\" >/dev/null"
else
  echo "postgres: skipped (cannot create a database at $PG_ADMIN_URL)"
fi
