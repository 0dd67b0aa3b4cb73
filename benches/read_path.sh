#!/usr/bin/env bash
# The read path against the bare handler, run by hand: bash benches/read_path.sh [BINARY]
# Starts the service (release build unless BINARY is given) with its default HTTP
# workers on SQLite, on PostgreSQL over TLS (libpq's default sslmode=prefer) and on
# PostgreSQL without TLS, and measures side by side in one run with
# `wrk -t2 -c64`: `/health/live` (no database, no token) and an authenticated
# `GET /api/v1/kims/{id}` (token check, revocation check, one KIM). Prints both rates,
# their ratio, and the peak resident memory with 1 000 keep-alive connections.
# Knobs: DURATION (10s), CONNECTIONS (64), PG_ADMIN_URL, PORT (18380), DB_POOL_SIZE,
# AUTH_RECHECK_SECS (0 checks the token holder against the database on every request).
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18380}
BASE="http://127.0.0.1:${PORT}"
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet --release --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

work=$(mktemp -d)
server_pid=""
bench_db="kim_read_bench_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${bench_db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
password="bench-kopi-tubruk-di-metro"

rps() { # $1 = path, $2 = connections [, $3 = token]
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  wrk -t2 -c"$2" -d"$DURATION" "${auth[@]}" "$BASE$1" | awk '/Requests\/sec/ { print $2 }'
}

run() { # $1 = label, $2 = DATABASE_URL
  local label=$1 url=$2 token kim live read big peak
  mkdir -p "$work/$label"
  printf '%s\n' "$password" | env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$label" DATABASE_URL="$url" \
    RUST_LOG=error "$BIN" create-admin --username bench --password-stdin >/dev/null
  env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$label" DATABASE_URL="$url" BIND_ADDR="127.0.0.1:${PORT}" \
    RUST_LOG=error ${DB_POOL_SIZE:+DB_POOL_SIZE=$DB_POOL_SIZE} ${AUTH_RECHECK_SECS:+AUTH_RECHECK_SECS=$AUTH_RECHECK_SECS} "$BIN" serve >"$work/$label.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -fsS "$BASE/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  token=$(curl -fsS "$BASE/api/v1/auth/token" -d grant_type=password -d username=bench \
    -d "password=$password" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  kim=$(curl -fsS "$BASE/api/v1/kims" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name":"KIM Tolok Ukur","kelurahan_code":"18.72.01.1001","area_type":"urban","focus":["literasi"]}' |
    sed -E 's/.*"id":([0-9]+).*/\1/')
  curl -fsS -o /dev/null "$BASE/api/v1/kims/$kim" -H "Authorization: Bearer $token"
  live=$(rps /health/live "$CONNECTIONS")
  read=$(rps "/api/v1/kims/$kim" "$CONNECTIONS" "$token")
  big=$(rps "/api/v1/kims/$kim" 1000 "$token")
  peak=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/${server_pid}/status")
  printf '%-16s %12s %14s %7.2f %16s %10s MB\n' "$label" "$live" "$read" \
    "$(echo "$read / $live" | bc -l)" "$big" "$peak"
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

echo "read path: wrk -t2 -c${CONNECTIONS} -d${DURATION}, default HTTP workers, $(nproc) cores; $BIN"
printf '%-16s %12s %14s %7s %16s %13s\n' backend "live req/s" "GET kim req/s" ratio "c1000 req/s" "peak RSS"
run sqlite "$work/sqlite/kim.db"
if psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${bench_db}" >/dev/null 2>&1; then
  pg_url="${PG_ADMIN_URL%/*}/${bench_db}"
  run postgres-tls "$pg_url"
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE ${bench_db} WITH (FORCE)" >/dev/null
  psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${bench_db}" >/dev/null
  run postgres-plain "${pg_url}?sslmode=disable"
else
  echo "postgres: skipped (cannot create a database at $PG_ADMIN_URL)"
fi
