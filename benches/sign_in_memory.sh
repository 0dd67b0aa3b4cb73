#!/usr/bin/env bash
# Memory under bursts of sign-ins, run by hand: bash benches/sign_in_memory.sh [BINARY]
# Starts the service (release build unless BINARY is given) on SQLite, sends WAVES
# waves of BURST simultaneous sign-ins for unknown accounts (each from its own
# forwarded address, so throttling does not stop them), and prints the resident memory
# after start, after each wave, and after IDLE seconds of quiet.
# (TRUST_FORWARDED_FOR is what binaries before TRUSTED_PROXIES read.)
# Knobs: BURST (32), WAVES (3), IDLE (10), PORT (18280); MALLOC_* variables are passed on.
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

BURST=${BURST:-32}
WAVES=${WAVES:-3}
IDLE=${IDLE:-10}
PORT=${PORT:-18280}
BASE="http://127.0.0.1:${PORT}"
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet --release --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

malloc_env=()
while IFS= read -r line; do malloc_env+=("$line"); done < <(env | grep '^MALLOC_' || true)

env -i PATH="$PATH" "${unlimited_rates[@]}" "${malloc_env[@]}" KIM_DATA_DIR="$work" BIND_ADDR="127.0.0.1:${PORT}" \
  TRUSTED_PROXIES=127.0.0.1 TRUST_FORWARDED_FOR=true RUST_LOG=error "$BIN" serve \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/health/ready" >/dev/null 2>&1 && break
  sleep 0.1
done

rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/${server_pid}/status"; }

echo "binary: $BIN ${malloc_env[*]:-}"
echo "after start: $(rss_mb) MB"
for wave in $(seq 1 "$WAVES"); do
  started=$(date +%s.%N)
  statuses=$(seq 1 "$BURST" | xargs -P "$BURST" -I{} curl -s -o /dev/null -w '%{http_code}\n' \
    -H "X-Forwarded-For: 198.18.${wave}.{}" "$BASE/api/v1/auth/token" \
    -d grant_type=password -d "username=nobody-${wave}-{}" -d password=not-a-real-password |
    sort | uniq -c | tr '\n' ' ')
  seconds=$(echo "$(date +%s.%N) - $started" | bc)
  echo "after wave ${wave} of ${BURST}: $(rss_mb) MB in ${seconds} s   statuses: ${statuses}"
done
sleep "$IDLE"
echo "after ${IDLE} s idle: $(rss_mb) MB"
