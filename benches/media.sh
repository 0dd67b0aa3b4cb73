#!/usr/bin/env bash
# Attachment media benchmark, run by hand: bash benches/media.sh [BINARY]
# Starts the release build twice on SQLite — files on the filesystem, and in moto's
# S3 server — and runs benches/media.py against both: upload-to-201 of a 12-megapixel
# phone JPEG, RSS growth with 8 simultaneous uploads, variant sizes, and download
# throughput beside a plain file read. Needs python3 (Pillow and requests from PyPI in
# /var/tmp/kim-bench-venv) and moto (/var/tmp/kim-s3-venv, as .ci/run installs it).
# Knobs: UPLOADS (10), DOWNLOADS (20), PORT (18410).
set -euo pipefail
source "$(dirname "$0")/unlimited_rates.sh"
cd "$(dirname "$0")/.."

PORT=${PORT:-18410}
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet --release --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi
venv=/var/tmp/kim-bench-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import PIL, requests" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check pillow requests
fi
s3_venv=/var/tmp/kim-s3-venv
if [ ! -x "$s3_venv/bin/moto_server" ]; then
  python3 -m venv "$s3_venv"
  "$s3_venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.*'
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

s3_port=$((PORT + 2))
"$s3_venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:${s3_port}/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS -X PUT "http://127.0.0.1:${s3_port}/kim-bench" >/dev/null

password="bench-kopi-tubruk-di-metro-$$"
start() { # $1 = name, $2 = port, $3.. = extra environment
  local name=$1 port=$2
  shift 2
  mkdir -p "$work/$name"
  local run=(env -i PATH="$PATH" "${unlimited_rates[@]}" KIM_DATA_DIR="$work/$name" BIND_ADDR="127.0.0.1:$port" RUST_LOG=warn "$@")
  printf '%s\n' "$password" | "${run[@]}" "$BIN" create-admin --username bench-admin --password-stdin >/dev/null
  "${run[@]}" "$BIN" serve >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
}
start fs "$PORT"
fs_pid=${pids[-1]}
start s3 $((PORT + 1)) STORAGE_URL=s3://kim-bench/media AWS_ENDPOINT_URL="http://127.0.0.1:${s3_port}" \
  AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1

BASE_FS="http://127.0.0.1:$PORT" BASE_S3="http://127.0.0.1:$((PORT + 1))" PID_FS="$fs_pid" \
  USERNAME=bench-admin PASSWORD="$password" "$venv/bin/python" benches/media.py
