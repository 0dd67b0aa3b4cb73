#!/usr/bin/env bash
# Dashboard statistics and CSV export at scale, run by hand:
#   bash benches/dashboard.sh [BINARY]
# On SQLite and on PostgreSQL (sslmode=disable): fills a fresh database with
# `kim-api seed-demo --kims 500 --reports $REPORTS` (reports spread over the past year),
# starts the service and, as demo.admin, times side by side:
#   - GET /api/v1/reports?limit=20 (the yardstick: one list page);
#   - GET /api/v1/stats/overview for the default 30 days and for the whole past year;
#   - GET /api/v1/reports/export.csv of every report (rows, bytes, seconds, rows/s).
# Each request runs RUNS times (3) and the fastest is printed. The service's peak
# resident memory (VmHWM) is read before and after the export.
# Knobs: REPORTS (1000000), RUNS (3), PG_ADMIN_URL, PORT (18401).
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

REPORTS=${REPORTS:-1000000}
RUNS=${RUNS:-3}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18401}
BASE="http://127.0.0.1:${PORT}"
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet --release --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi
BIN=$(realpath "$BIN")

work=$(mktemp -d)
server_pid=""
bench_db="kim_dashboard_bench_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${bench_db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

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

peak_rss_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status"; }

# Fastest of RUNS requests, in seconds; fails on a non-200 answer.
fastest() { # $1 = token, $2 = path
  local best=""
  for _ in $(seq 1 "$RUNS"); do
    local out
    out=$(curl -s -o "$work/body" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $1" "$BASE$2")
    [ "${out%% *}" = 200 ] || { echo "$2 answered ${out%% *}" >&2; head -c 500 "$work/body" >&2; exit 1; }
    best=$(python3 -c "import sys; a = sys.argv[1]; b = float(sys.argv[2]); print(b if not a else min(float(a), b))" "$best" "${out#* }")
  done
  echo "$best"
}

run() { # $1 = backend, $2 = DATABASE_URL
  local backend=$1 url=$2 started=$SECONDS
  KIM_DATA_DIR="$work/data" DATABASE_URL="$url" LOG_FORMAT=json RUST_LOG=warn \
    "$BIN" seed-demo --kims 500 --reports "$REPORTS" --bulletins 100 >"$work/seed.out"
  local password=$(awk '/password/ { sub(":", "", $NF); print $NF }' "$work/seed.out")
  echo "$backend: $(head -1 "$work/seed.out") (wall $((SECONDS - started)) s)"
  # What autovacuum does to a table at rest: without a visibility map, PostgreSQL's
  # index-only scans fetch every row from the heap.
  [ "$backend" = postgres ] && psql -q "$url" -c "VACUUM ANALYZE"
  start_server "$url"
  local token=$(curl -sf -X POST "$BASE/api/v1/auth/token" -d grant_type=password -d username=demo.admin \
    --data-urlencode "password=$password" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
  local today=$(TZ=Asia/Jakarta date +%F) year_ago=$(TZ=Asia/Jakarta date -d '-365 days' +%F)
  local page=$(fastest "$token" "/api/v1/reports?limit=20")
  local month=$(fastest "$token" "/api/v1/stats/overview")
  local year=$(fastest "$token" "/api/v1/stats/overview?from=$year_ago&to=$today")
  local submitted=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["reports"]["submitted"])' "$work/body")
  local rss_before=$(peak_rss_mib)
  local out=$(curl -s -o "$work/export.csv" -w '%{http_code} %{time_total} %{size_download}' \
    -H "Authorization: Bearer $token" "$BASE/api/v1/reports/export.csv")
  local rss_after=$(peak_rss_mib)
  [ "${out%% *}" = 200 ] || { echo "export answered ${out%% *}" >&2; exit 1; }
  local rows=$(python3 -c 'import csv, sys; r = csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")); next(r); print(sum(1 for _ in r))' "$work/export.csv")
  stop_server
  read -r _ export_time export_bytes <<<"$out"
  python3 - "$page" "$month" "$year" "$submitted" "$export_time" "$export_bytes" "$rows" "$rss_before" "$rss_after" <<'PY'
import sys
page, month, year = map(float, sys.argv[1:4])
submitted = int(sys.argv[4])
export_time, export_bytes, rows = float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
before, after = sys.argv[8], sys.argv[9]
print(f"  list page (yardstick)        {page * 1000:9.1f} ms")
print(f"  stats/overview, 30 days      {month * 1000:9.1f} ms   {month / page:6.1f}x a list page")
print(f"  stats/overview, 365 days     {year * 1000:9.1f} ms   {year / page:6.1f}x a list page  ({submitted} reports)")
print(f"  export.csv                   {export_time:9.1f} s    {rows} rows, {export_bytes / 2**20:.0f} MiB, {rows / export_time:.0f} rows/s")
print(f"  peak RSS before/after export {before} / {after} MiB")
PY
}

echo "reports: $REPORTS, fastest of $RUNS"
mkdir -p "$work/data"
run sqlite "$work/data/kim.db"
rm -rf "$work/data"
mkdir -p "$work/data"
psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${bench_db}"
run postgres "${PG_ADMIN_URL%/*}/${bench_db}?sslmode=disable"
