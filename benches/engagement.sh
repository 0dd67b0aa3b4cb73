#!/usr/bin/env bash
# KIM engagement and consultation results at scale, run by hand:
#   bash benches/engagement.sh [BINARY]
# On SQLite and on PostgreSQL (sslmode=disable): fills a fresh database with
# `kim-api seed-demo --kims 500 --activities $ACTIVITIES --reports $REPORTS` (on
# PostgreSQL then VACUUM ANALYZE, as autovacuum would), starts the service, opens a
# consultation to all KIMs and has each of the 500 KIMs' kim_admins answer it through
# the API, then, as demo.admin, times side by side the fastest of RUNS (5) requests of:
#   - GET /api/v1/reports?limit=20 (the yardstick: one list page);
#   - GET /api/v1/kims/{id}/engagement for 12 and for 36 months, of the first KIM;
#   - GET /api/v1/consultations/{id}/results over the 500 responses.
# Knobs: ACTIVITIES (100000), REPORTS (100000), RUNS (5), PG_ADMIN_URL, PORT (18402).
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

ACTIVITIES=${ACTIVITIES:-100000}
REPORTS=${REPORTS:-100000}
RUNS=${RUNS:-5}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18402}
BASE="http://127.0.0.1:${PORT}"
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet --release --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi
BIN=$(realpath "$BIN")

work=$(mktemp -d)
server_pid=""
bench_db="kim_engagement_bench_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${bench_db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fastest() { # $1 = token, $2 = path; milliseconds, failing on a non-200 answer
  local best=""
  for _ in $(seq 1 "$RUNS"); do
    local out
    out=$(curl -s -o "$work/body" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $1" "$BASE$2")
    [ "${out%% *}" = 200 ] || { echo "$2 answered ${out%% *}" >&2; head -c 500 "$work/body" >&2; exit 1; }
    best=$(python3 -c "import sys; a, b = sys.argv[1], float(sys.argv[2]); print(b if not a else min(float(a), b))" "$best" "${out#* }")
  done
  python3 -c "print(round(float('$best') * 1000, 1))"
}

run() { # $1 = backend, $2 = DATABASE_URL
  local backend=$1 url=$2
  KIM_DATA_DIR="$work/data" DATABASE_URL="$url" LOG_FORMAT=json RUST_LOG=warn \
    "$BIN" seed-demo --kims 500 --reports "$REPORTS" --bulletins 100 --activities "$ACTIVITIES" >"$work/seed.out"
  [ "$backend" = postgres ] && psql -q "$url" -c "VACUUM ANALYZE"
  echo "$backend: $(head -1 "$work/seed.out")"
  local password=$(awk '/password/ { sub(":", "", $NF); print $NF }' "$work/seed.out")
  local kim=$(awk '/ketua.kim/ { sub("ketua.kim", "", $1); print $1 }' "$work/seed.out")
  KIM_DATA_DIR="$work/data" DATABASE_URL="$url" BIND_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json \
    RUST_LOG=warn "$BIN" serve >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/health/live" >/dev/null && break; sleep 0.1; done
  local token=$(curl -sf -X POST "$BASE/api/v1/auth/token" -d grant_type=password -d username=demo.admin \
    --data-urlencode "password=$password" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
  local page=$(fastest "$token" "/api/v1/reports?limit=20")
  local year=$(fastest "$token" "/api/v1/kims/$kim/engagement?months=12")
  local counts=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["activities"], "activities,", d["reach"], "reached,", d["reports_submitted"], "reports")' "$work/body")
  local three=$(fastest "$token" "/api/v1/kims/$kim/engagement?months=36")
  local consultation=$(python3 "benches/consultation_responses.py" "$BASE" "$token" "$password")
  local results=$(fastest "$token" "/api/v1/consultations/$consultation/results")
  local answered=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["kims_answered"], "of", d["kims_addressed"], "KIMs answered")' "$work/body")
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
  python3 - "$page" "$year" "$three" "$counts" "$results" "$answered" <<'PY'
import sys
page, year, three, results = map(float, sys.argv[1:4] + sys.argv[5:6])
print(f"  list page (yardstick)        {page:8.1f} ms")
print(f"  engagement, 12 months        {year:8.1f} ms  {year / page:5.1f}x a list page  ({sys.argv[4]})")
print(f"  engagement, 36 months        {three:8.1f} ms  {three / page:5.1f}x a list page")
print(f"  consultation results         {results:8.1f} ms  {results / page:5.1f}x a list page  ({sys.argv[6]})")
PY
}

echo "activities: $ACTIVITIES, reports: $REPORTS, fastest of $RUNS"
mkdir -p "$work/data"
run sqlite "$work/data/kim.db"
rm -rf "$work/data"
mkdir -p "$work/data"
psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${bench_db}"
run postgres "${PG_ADMIN_URL%/*}/${bench_db}?sslmode=disable"
