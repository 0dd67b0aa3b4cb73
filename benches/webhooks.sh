#!/usr/bin/env bash
# Webhook delivery: commit-to-delivery latency and events delivered per second, to a
# local receiver (benches/webhook_receiver.rs), on SQLite and PostgreSQL.
#
# For each backend: seed one KIM, subscribe the receiver to `report.created`, then
# 1. paced: PACED reports submitted one by one at RATE per second; the latency from
#    each event's commit (the body's `timestamp`) to its arrival, p50 and p99;
# 2. burst: wrk -t2 -cCONNECTIONS -dDURATION submitting reports as fast as the service
#    takes them; deliveries per second at the receiver (first to last arrival, the
#    drain after wrk included) beside submissions per second, and the latency.
#
#   bash benches/webhooks.sh [path/to/release/kim-api]
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
PACED=${PACED:-300}
RATE=${RATE:-30}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18490}
RECEIVER_PORT=${RECEIVER_PORT:-18491}
BASE="http://127.0.0.1:${PORT}"
RECEIVER="http://127.0.0.1:${RECEIVER_PORT}"
BIN=${1:-}
target="${CARGO_TARGET_DIR:-target}"
if [ -z "$BIN" ]; then
  cargo build --quiet --release --bin kim-api
  BIN="$target/release/kim-api"
fi
cargo build --quiet --release --example webhook_receiver
RECEIVER_BIN="$target/release/examples/webhook_receiver"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

work=$(mktemp -d)
server_pid=""
receiver_pid=""
bench_db="kim_webhooks_bench_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null && wait "$receiver_pid" 2>/dev/null
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${bench_db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

BIND_ADDR="127.0.0.1:${RECEIVER_PORT}" "$RECEIVER_BIN" &
receiver_pid=$!

cat >"$work/submit.lua" <<'LUA'
local token = os.getenv("TOKEN")
local body = '{"kind":"complaint","category_code":"infrastruktur","title":"Lampu jalan padam",'
  .. '"description":"Lampu penerangan di depan balai RW padam sejak pekan lalu.",'
  .. '"kelurahan_code":"18.72.01.1001","latitude":-5.1131,"longitude":105.3067}'
request = function()
  return wrk.format("POST", "/api/v1/reports",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
LUA

serve() { # $1 = DATABASE_URL
  KIM_DATA_DIR="$work/data" DATABASE_URL="$1" BIND_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json \
    WEBHOOK_ALLOW_PRIVATE_TARGETS=true RUST_LOG=warn "$BIN" serve >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "$BASE/health/live" >/dev/null && return 0
    sleep 0.1
  done
  echo "the service did not start" >&2
  cat "$work/server.log" >&2
  exit 1
}

sign_in() { # $1 = username, $2 = password
  curl -sf -X POST "$BASE/api/v1/auth/token" -d grant_type=password -d "username=$1" \
    --data-urlencode "password=$2" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

received() {
  curl -sf "$RECEIVER/stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["count"])'
}

await_received() { # $1 = count
  for _ in $(seq 1 1200); do
    [ "$(received)" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "only $(received) of $1 deliveries arrived" >&2
  exit 1
}

run() { # $1 = backend, $2 = DATABASE_URL
  local backend=$1 url=$2
  echo "== $backend"
  local password
  password=$(KIM_DATA_DIR="$work/data" DATABASE_URL="$url" "$BIN" seed-demo --kims 1 --reports 0 \
    --bulletins 0 | sed -n 's/.*password \([^:]*\):.*/\1/p')
  serve "$url"
  local admin member
  admin=$(sign_in demo.admin "$password")
  member=$(sign_in anggota.kim1 "$password")
  curl -sf -X POST "$BASE/api/v1/webhooks" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' \
    -d "{\"url\": \"$RECEIVER/hook\", \"events\": [\"report.created\"]}" >/dev/null

  curl -sf -X POST "$RECEIVER/reset"
  python3 - "$BASE" "$member" "$PACED" "$RATE" <<'PY'
import json, sys, time, urllib.request
base, token, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
body = json.dumps({"kind": "complaint", "category_code": "infrastruktur", "title": "Lampu jalan padam",
    "description": "Lampu penerangan di depan balai RW padam.", "kelurahan_code": "18.72.01.1001"}).encode()
start = time.monotonic()
for n in range(count):
    time.sleep(max(0.0, start + n / rate - time.monotonic()))
    request = urllib.request.Request(f"{base}/api/v1/reports", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    urllib.request.urlopen(request).read()
PY
  await_received "$PACED"
  local paced
  paced=$(curl -sf "$RECEIVER/stats")

  curl -sf -X POST "$RECEIVER/reset"
  TOKEN="$member" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$work/submit.lua" "$BASE/api/v1/reports" \
    >"$work/wrk.out"
  local sent bad rate
  sent=$(awk '/requests in/ { print $1 }' "$work/wrk.out")
  bad=$(awk '/Non-2xx/ { print $5 }' "$work/wrk.out")
  rate=$(awk '/Requests\/sec/ { print $2 }' "$work/wrk.out")
  await_received $((sent - ${bad:-0}))
  local burst
  burst=$(curl -sf "$RECEIVER/stats")
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
  python3 - "$paced" "$burst" "$rate" "${bad:-0}" "$RATE" <<'PY'
import json, sys
paced, burst = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rate, bad, pace = float(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"  paced, {paced['count']} events at {pace}/s: commit-to-delivery p50 {paced['p50_ms']:.1f} ms,"
      f" p99 {paced['p99_ms']:.1f} ms, max {paced['max_ms']:.1f} ms")
print(f"  burst: {rate:.0f} submissions/s (non-2xx {bad}), {burst['count']} events delivered at"
      f" {burst['per_second']:.0f}/s = {burst['per_second'] / rate:.2f} of submissions;"
      f" p50 {burst['p50_ms']:.0f} ms, p99 {burst['p99_ms']:.0f} ms")
PY
}

echo "paced: $PACED at $RATE/s; burst: wrk -t2 -c$CONNECTIONS -d$DURATION"
mkdir -p "$work/data"
run sqlite "$work/data/kim.db"
rm -rf "$work/data"
mkdir -p "$work/data"
psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${bench_db}"
run postgres "${PG_ADMIN_URL%/*}/${bench_db}?sslmode=disable"
