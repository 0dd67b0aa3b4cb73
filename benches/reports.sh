#!/usr/bin/env bash
# Citizen reports at scale, run by hand: bash benches/reports.sh [BINARY]
# On SQLite and on PostgreSQL (sslmode=disable): fills a fresh database with
# `kim-api seed-demo --kims 500 --reports $REPORTS` (timed), starts the service and
# measures side by side with `wrk -t2 -c$CONNECTIONS`:
#   - /health/live, and GET /api/v1/reports/track/{code} (anonymous; a random one of
#     1 000 demo codes per request);
#   - a gov_admin's GET /api/v1/reports: the first page and the last one (the cursor
#     before the 20 oldest reports);
#   - POST /api/v1/reports by 16 KIMs' members, each request with a fresh
#     Idempotency-Key, against a raw single-row durable commit on the same database
#     engine and disk at the same concurrency: pgbench inserting one row per
#     transaction (synchronous_commit on), and for SQLite a loop of BEGIN; INSERT;
#     COMMIT with the service's pragmas (WAL, synchronous=FULL; one writer at a time).
# Prints requests/s and the ratios. Knobs: DURATION (10s), REPORTS (1000000),
# CONNECTIONS (16), PG_ADMIN_URL, PORT (18400).
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
REPORTS=${REPORTS:-1000000}
CONNECTIONS=${CONNECTIONS:-16}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18400}
BASE="http://127.0.0.1:${PORT}"
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet --release --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi
BIN=$(realpath "$BIN")
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v pgbench >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client; }

work=$(mktemp -d)
server_pid=""
bench_db="kim_reports_bench_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${bench_db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
seconds=${DURATION%s}

cat >"$work/track.lua" <<'LUA'
local codes = {}
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
request = function()
  return wrk.format("GET", "/api/v1/reports/track/" .. codes[math.random(#codes)])
end
LUA

cat >"$work/submit.lua" <<'LUA'
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local tokens = {}
for token in string.gmatch(os.getenv("TOKENS"), "[^,]+") do tokens[#tokens + 1] = token end
local body = '{"kind":"complaint","category_code":"infrastruktur","title":"Lampu jalan padam",'
  .. '"description":"Lampu penerangan di depan balai RW padam sejak pekan lalu.",'
  .. '"kelurahan_code":"18.72.01.1001","latitude":-5.1131,"longitude":105.3067,'
  .. '"reporter_name":"Siti Rahayu","reporter_contact":"081234567890"}'
local sent = 0
request = function()
  sent = sent + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(sent % #tokens) + 1],
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", tid, sent, math.random(1e9)),
  }
  return wrk.format("POST", "/api/v1/reports", headers, body)
end
LUA

# wrk's rate for a path or a script, and how many answers were not 2xx.
measure() { # $1 = path, $2 = script or "", $3 = token or ""
  local args=(-t2 -c"$CONNECTIONS" -d"$DURATION")
  [ -n "$2" ] && args+=(-s "$2")
  [ -n "$3" ] && args+=(-H "Authorization: Bearer $3")
  wrk "${args[@]}" "$BASE$1" >"$work/wrk.out"
  local rate bad
  rate=$(awk '/Requests\/sec/ { print $2 }' "$work/wrk.out")
  bad=$(awk '/Non-2xx/ { print $5 }' "$work/wrk.out")
  echo "$rate ${bad:-0}"
}

start_server() { # $1 = DATABASE_URL
  KIM_DATA_DIR="$work/data" DATABASE_URL="$1" BIND_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json \
    RUST_LOG=warn "$BIN" serve >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "$BASE/health/live" >/dev/null && return 0
    sleep 0.1
  done
  echo "the service did not start" >&2
  cat "$work/server.log" >&2
  exit 1
}

stop_server() {
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

sign_in() { # $1 = username, $2 = password
  curl -sf -X POST "$BASE/api/v1/auth/token" -d grant_type=password -d "username=$1" \
    --data-urlencode "password=$2" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# The `next_cursor` that leads to the last page: after the 21st oldest report, for the
# listing point of the caller's first page.
last_page_cursor() { # $1 = token, $2 = "created_at|id" of the 21st oldest
  local token=$(curl -sf "$BASE/api/v1/reports?limit=1" -H "Authorization: Bearer $1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["sync_token"])')
  python3 - "$token" "$2" <<'PY'
import base64, json, sys
token, row = sys.argv[1], sys.argv[2]
point = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
created_at, id_ = row.split("|")
cursor = [[created_at.strip().replace(" ", "T"), int(id_)], point]
print(base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode().rstrip("="))
PY
}

raw_commits_sqlite() { # on a scratch file beside the database, same disk
  python3 - "$work/data/raw-commit.db" "$seconds" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = FULL")
db.execute("CREATE TABLE IF NOT EXISTS commits (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
done, end = 0, time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO commits (body) VALUES (?)", ("x" * 300,))
    db.execute("COMMIT")
    done += 1
print(f"{done / float(sys.argv[2]):.1f}")
PY
}

pgbench_tps() { # $1 = database URL, $2 = script
  pgbench -n -M prepared -c "$CONNECTIONS" -j 2 -T "$seconds" -f "$2" "$1" 2>/dev/null |
    awk '/^tps/ { print $3 }'
}

# Prints three rates: the raw single-row commit; the service's submission transaction
# replayed by pgbench without the service (benches/report_transaction.sql), which is
# what the database alone allows; and one `reports` row committed on its own.
raw_commits_pg() { # $1 = database URL
  psql -q "$1" -c "CREATE TABLE IF NOT EXISTS raw_commits (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)"
  echo "INSERT INTO raw_commits (body) VALUES (repeat('x', 300));" >"$work/insert.sql"
  sed -n '/^\\set/p; /^INSERT INTO reports/,/RETURNING \*/p' benches/report_transaction.sql |
    sed 's/RETURNING \* .*/RETURNING id;/; s/, :seq)/, nextval('"'"'sync_reports_seq'"'"'))/' \
      >"$work/report_row.sql"
  echo "$(pgbench_tps "$1" "$work/insert.sql") $(pgbench_tps "$1" benches/report_transaction.sql)" \
    "$(pgbench_tps "$1" "$work/report_row.sql")"
}

oldest_21st() { # $1 = backend, $2 = database URL or file
  local sql="SELECT created_at || '|' || id FROM reports ORDER BY created_at, id LIMIT 1 OFFSET 20"
  if [ "$1" = sqlite ]; then
    python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"$sql\").fetchone()[0])" "$2"
  else
    psql -qtA "$2" -c "$sql"
  fi
}

codes_file() { # $1 = backend, $2 = database URL or file
  local sql="SELECT tracking_code FROM reports ORDER BY id % 997, id LIMIT 1000"
  if [ "$1" = sqlite ]; then
    python3 -c "import sqlite3, sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute(\"$sql\")]" "$2"
  else
    psql -qtA "$2" -c "$sql"
  fi >"$work/codes.txt"
}

run() { # $1 = backend, $2 = DATABASE_URL, $3 = database file or URL for direct queries
  local backend=$1 url=$2 direct=$3
  local started=$SECONDS
  KIM_DATA_DIR="$work/data" DATABASE_URL="$url" LOG_FORMAT=json RUST_LOG=warn \
    "$BIN" seed-demo --kims 500 --reports "$REPORTS" --bulletins 100 >"$work/seed.out"
  local password=$(awk '/password/ { sub(":", "", $NF); print $NF }' "$work/seed.out")
  echo "$backend: $(head -1 "$work/seed.out") (wall $((SECONDS - started)) s)"
  codes_file "$backend" "$direct"
  local oldest=$(oldest_21st "$backend" "$direct")
  start_server "$url"
  local admin=$(sign_in demo.admin "$password")
  local tokens=""
  for kim in $(seq 1 16); do
    tokens="$tokens,$(sign_in "anggota.kim$kim" "$password")"
  done
  local cursor=$(last_page_cursor "$admin" "$oldest")
  read -r live _ < <(measure /health/live "" "")
  export CODES_FILE="$work/codes.txt" TOKENS="${tokens#,}"
  read -r track track_bad < <(measure /api/v1/reports/track/x "$work/track.lua" "")
  read -r first first_bad < <(measure "/api/v1/reports" "" "$admin")
  read -r last last_bad < <(measure "/api/v1/reports?cursor=$cursor" "" "$admin")
  read -r submit submit_bad < <(measure /api/v1/reports "$work/submit.lua" "")
  stop_server
  local raw replay row
  if [ "$backend" = sqlite ]; then
    raw=$(raw_commits_sqlite) replay=0 row=0
  else
    read -r raw replay row < <(raw_commits_pg "$url")
  fi
  python3 - "$backend" "$live" "$track" "$first" "$last" "$submit" "$raw" "$replay" "$row" \
    "$track_bad" "$first_bad" "$last_bad" "$submit_bad" <<'PY'
import sys
b, live, track, first, last, submit, raw, replay, row = sys.argv[1], *map(float, sys.argv[2:10])
bad = sys.argv[10:]
print(f"  /health/live            {live:10.0f} req/s")
print(f"  track/{{code}}            {track:10.0f} req/s  {track / live:.2f} of /health/live  (non-2xx {bad[0]})")
print(f"  list, first page        {first:10.0f} req/s  (non-2xx {bad[1]})")
print(f"  list, last page         {last:10.0f} req/s  first/last {first / last:.2f}  (non-2xx {bad[2]})")
print(f"  submission (idempotent) {submit:10.1f} req/s  (non-2xx {bad[3]})")
print(f"  raw single-row commit   {raw:10.1f} /s      submission/raw {submit / raw:.2f}")
if replay:
    print(f"  same transaction, no service {replay:7.1f} /s  replay/raw {replay / raw:.2f}  submission/replay {submit / replay:.2f}")
    print(f"  one reports row alone   {row:10.1f} /s      row/raw {row / raw:.2f}")
PY
}

echo "reports: $REPORTS, wrk -t2 -c$CONNECTIONS -d$DURATION"
mkdir -p "$work/data"
run sqlite "$work/data/kim.db" "$work/data/kim.db"
rm -rf "$work/data"
mkdir -p "$work/data"
psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${bench_db}"
pg_url="${PG_ADMIN_URL%/*}/${bench_db}?sslmode=disable"
run postgres "$pg_url" "${PG_ADMIN_URL%/*}/${bench_db}"
