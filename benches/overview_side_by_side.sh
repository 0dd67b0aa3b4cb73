#!/usr/bin/env bash
# stats/overview of several builds on one existing database, side by side, run by hand:
#   bash benches/overview_side_by_side.sh DATABASE_URL DATA_DIR BINARY...
# DATA_DIR is the KIM_DATA_DIR the database was seeded with, holding `seed.out` (the
# output of `kim-api seed-demo`, for demo.admin's password). Each binary serves the
# database in turn (applying its migrations: run older builds first); printed is the
# fastest of RUNS (5) for one list page (the yardstick), the default 30 days and the
# past year, and the year's figures, which must agree between builds.
# On PostgreSQL, run `VACUUM ANALYZE` after seeding first: a fresh bulk load has no
# visibility map, so index-only scans are not yet index-only (autovacuum does it later).
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
URL=$1 DATA_DIR=$2
shift 2
RUNS=${RUNS:-5} PORT=${PORT:-18455}
BASE="http://127.0.0.1:$PORT"
password=$(awk '/password/ { sub(":", "", $NF); print $NF }' "$DATA_DIR/seed.out")
today=$(TZ=Asia/Jakarta date +%F)
year_ago=$(TZ=Asia/Jakarta date -d '-365 days' +%F)
for bin in "$@"; do
  KIM_DATA_DIR="$DATA_DIR" DATABASE_URL="$URL" BIND_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json RUST_LOG=warn \
    "$bin" serve >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -sf "$BASE/health/live" >/dev/null && break; sleep 0.2; done
  token=$(curl -sf -X POST "$BASE/api/v1/auth/token" -d grant_type=password -d username=demo.admin \
    --data-urlencode "password=$password" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
  echo "--- $bin"
  for path in "/api/v1/reports?limit=20" "/api/v1/stats/overview" "/api/v1/stats/overview?from=$year_ago&to=$today"; do
    best=""
    for _ in $(seq 1 "$RUNS"); do
      out=$(curl -s -o /tmp/overview_side_by_side.body -w '%{http_code} %{time_total}' -H "Authorization: Bearer $token" "$BASE$path")
      [ "${out%% *}" = 200 ] || { echo "$path answered ${out%% *}" >&2; kill "$pid"; exit 1; }
      best=$(python3 -c "import sys; a, b = sys.argv[1], float(sys.argv[2]); print(b if not a else min(float(a), b))" "$best" "${out#* }")
    done
    printf '  %-58s %9.1f ms\n' "$path" "$(python3 -c "print($best * 1000)")"
  done
  python3 -c 'import json; r = json.load(open("/tmp/overview_side_by_side.body"))["reports"]; print("  year:", r["submitted"], "submitted,", r["overdue"], "overdue, medians", r["median_first_response_seconds"], "s and", r["median_resolution_seconds"], "s")'
  kill "$pid" && wait "$pid" 2>/dev/null || true
done
