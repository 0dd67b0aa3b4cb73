#!/usr/bin/env bash
# Idle memory of release binaries side by side, run by hand:
#   bash benches/idle_memory.sh BINARY [OTHER_BINARY] [ROUNDS]
# Starts each binary on a fresh SQLite data directory, waits for /health/ready, fetches
# the OpenAPI document four times (every worker serves it), and prints the process's
# RssAnon (heap and stacks; no file-backed pages) per round, alternating the binaries.
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
A=${1:?binary}
B=${2:-}
ROUNDS=${3:-3}
PORT=${PORT:-18501}

rss_anon() { # $1 = binary
  local dir pid rss
  dir=$(mktemp -d)
  env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$dir" BIND_ADDR="127.0.0.1:${PORT}" RUST_LOG=error \
    "$1" serve >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:${PORT}/health/ready" >/dev/null 2>&1 && break
    sleep 0.1
  done
  for _ in 1 2 3 4; do curl -fsS "http://127.0.0.1:${PORT}/api-docs/openapi.json" -o /dev/null; done
  sleep 1
  rss=$(awk '/RssAnon/ {print $2}' "/proc/${pid}/status")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  awk -v kib="$rss" 'BEGIN {printf "%.1f MiB", kib / 1024}'
}

for round in $(seq 1 "$ROUNDS"); do
  line="round ${round}: $(basename "$A") $(rss_anon "$A")"
  [ -n "$B" ] && line="${line}  $(basename "$B") $(rss_anon "$B")"
  echo "$line"
done
