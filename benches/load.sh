#!/usr/bin/env bash
# Load benchmark, run by hand: bash benches/load.sh
# Builds a release binary, starts it on SQLite and on PostgreSQL, drives it with wrk
# from a second process on loopback and prints requests/s, p50/p99 latency and the
# server's peak memory. Knobs: DURATION (10s), CONNECTIONS (64), HTTP_WORKERS (1), KIMS (10000),
# PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WORKERS=${HTTP_WORKERS:-1}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18080}
KIMS=${KIMS:-10000}
BASE="http://127.0.0.1:${PORT}"

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
cargo build --quiet --release --bin kim-api --example bare_actix
BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
BARE="${CARGO_TARGET_DIR:-target}/release/examples/bare_actix"
ADMIN_PASSWORD="bench-kopi-tubruk-di-metro"

work=$(mktemp -d)
server_pid=""
bench_db="kim_bench_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${bench_db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

start_server() { # $1 = label, $2 = DATABASE_URL
  env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$1" DATABASE_URL="$2" BIND_ADDR="127.0.0.1:${PORT}" \
    HTTP_WORKERS="$WORKERS" RUST_LOG=warn "$BIN" serve >"$work/$1.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "$BASE/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server did not become ready; log:" >&2
  cat "$work/$1.log" >&2
  exit 1
}

stop_server() {
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

peak_rss_mb() {
  awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/${server_pid}/status"
}

measure() { # $1 = backend, $2 = path, $3 = connections [, $4 = bearer token]
  local out rps p50 p99
  local auth=()
  [ -n "${4:-}" ] && auth=(-H "Authorization: Bearer $4")
  out=$(wrk -t1 -c"$3" -d"$DURATION" --latency "${auth[@]}" "$BASE$2")
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ { $1=$1; printf "%s; ", $0 }' <<<"$out")
  printf '%-9s %-38s %6s %10s %9s %9s %8s MB  %s\n' "$1" "$2${4:+ (bearer)}" "$3" "$rps" "$p50" "$p99" "$(peak_rss_mb)" "$errors"
}

admin_token() { # $1 = label, $2 = DATABASE_URL
  printf '%s\n' "$ADMIN_PASSWORD" | env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$1" DATABASE_URL="$2" \
    RUST_LOG=warn "$BIN" create-admin --username bench --password-stdin >/dev/null
  curl -fsS -X POST "$BASE/api/v1/auth/token" -d grant_type=password -d username=bench \
    -d password="$ADMIN_PASSWORD" | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}

run_backend() { # $1 = label, $2 = DATABASE_URL
  start_server "$1" "$2"
  local token
  token=$(admin_token "$1" "$2")
  measure "$1" /health/live "$CONNECTIONS"
  measure "$1" /api/v1/users/1 "$CONNECTIONS" "$token"
  measure "$1" /api/v1/me "$CONNECTIONS" "$token"
  measure "$1" "/api/v1/regions" "$CONNECTIONS"
  measure "$1" "/api/v1/regions?level=kelurahan&parent=18.72.01" "$CONNECTIONS"
  measure "$1" "/api/v1/regions" 1000
  # The KIM registry: reads on a small table, then on 10 000 KIMs.
  python3 benches/seed_kims.py "$BASE" "$token" 22
  measure "$1" /api/v1/kims/1 "$CONNECTIONS" "$token"
  measure "$1" "/api/v1/kims?kecamatan_code=18.72.03&area_type=urban" "$CONNECTIONS" "$token"
  local seeded=$SECONDS
  python3 benches/seed_kims.py "$BASE" "$token" "$((KIMS - 22))"
  echo "          (registered $((KIMS - 22)) more KIMs through the API in $((SECONDS - seeded)) s)"
  measure "$1" /api/v1/kims/1 "$CONNECTIONS" "$token"
  measure "$1" "/api/v1/kims?kecamatan_code=18.72.03&area_type=urban" "$CONNECTIONS" "$token"
  stop_server
}

echo "kim-api load benchmark: wrk, ${DURATION} per row, ${WORKERS} HTTP worker(s), $(nproc) cores"
printf '%-9s %-38s %6s %10s %9s %9s %11s\n' backend path conns "req/s" p50 p99 "peak RSS"

# The yardstick: a bare actix-web JSON handler on the same machine.
BIND_ADDR="127.0.0.1:${PORT}" HTTP_WORKERS="$WORKERS" "$BARE" &
server_pid=$!
for _ in $(seq 1 100); do curl -fsS "$BASE/json" >/dev/null 2>&1 && break; sleep 0.1; done
measure bare /json "$CONNECTIONS"
stop_server
run_backend sqlite "$work/sqlite/kim.db"
if psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${bench_db}" >/dev/null 2>&1; then
  run_backend postgres "${PG_ADMIN_URL%/*}/${bench_db}"
else
  echo "postgres: skipped (cannot create a database at $PG_ADMIN_URL)"
fi
