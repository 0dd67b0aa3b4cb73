#!/usr/bin/env bash
# A soak as a city runs the service, run by hand:
#   bash benches/soak.sh [BINARY]            10 minutes (DURATION=600)
#   SHORT=1 bash benches/soak.sh [BINARY]    2 minutes
# PostgreSQL (a fresh database), the S3-compatible store (moto), two instances behind
# nginx (docker/nginx.conf, ports rewritten), and benches/soak.py's traffic. Halfway,
# instance b is killed with SIGKILL and started again. Prints per-route rate,
# p50/p99 and errors, each instance's RSS every 30 s, and the checks (exit 1 if one
# fails). Knobs: DURATION, KIMS (20), CITIZENS (20), MEMBERS (12), OFFICERS (2),
# STREAMS (20), PORT (18480: nginx; +1, +2 the instances; +3 the store; +4 the
# webhook receiver), PG_ADMIN_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
[ "${SHORT:-0}" = 1 ] && DURATION=120
PORT=${PORT:-18480}
export KIMS=${KIMS:-20}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}

BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --release --locked --quiet --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi

if ! command -v nginx >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
s3_venv=/var/tmp/kim-s3-venv
if [ ! -x "$s3_venv/bin/moto_server" ]; then
  python3 -m venv "$s3_venv"
  "$s3_venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.*'
fi

work=$(mktemp -d)
chmod 755 "$work"
database="kim_soak_$$"
pids=()
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for name in a b; do [ -f "$work/$name.pid" ] && kill "$(cat "$work/$name.pid")" 2>/dev/null; done
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for port in $(seq "$PORT" $((PORT + 4))); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use (an earlier run still going?); set PORT" >&2
    exit 1
  fi
done
psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE $database"
export PG_URL="${PG_ADMIN_URL%/*}/$database"
s3_port=$((PORT + 3))
"$s3_venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$s3_port/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS -X PUT "http://127.0.0.1:$s3_port/kim-soak" >/dev/null

# What every instance shares (README: behind nginx, several instances).
shared=(
  PATH="$PATH" DATABASE_URL="$PG_URL?sslmode=disable" STORAGE_URL=s3://kim-soak/media
  AWS_ENDPOINT_URL="http://127.0.0.1:$s3_port" AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=soak
  AWS_SECRET_ACCESS_KEY=soak AWS_REGION=us-east-1
  JWT_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
  NIK_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
  TRUSTED_PROXIES=127.0.0.1/32 WEBHOOK_ALLOW_PRIVATE_TARGETS=true RUST_LOG=warn
)
mkdir -p "$work/seed"
seeded=$(env -i "${shared[@]}" KIM_DATA_DIR="$work/seed" "$BIN" seed-demo --kims "$KIMS" --reports 0 --bulletins 50)
export PASSWORD=$(sed -n 's/.*the password \([^ :]*\).*/\1/p' <<<"$seeded" | head -1)
[ -n "$PASSWORD" ] || { echo "seed-demo printed no password: $seeded" >&2; exit 1; }

start_instance() { # $1 = name, $2 = port
  mkdir -p "$work/$1"
  env -i "${shared[@]}" KIM_DATA_DIR="$work/$1" BIND_ADDR="127.0.0.1:$2" "$BIN" serve >>"$work/$1.log" 2>&1 &
  echo $! >"$work/$1.pid"
  for _ in $(seq 1 200); do
    if curl -fsS "http://127.0.0.1:$2/health/ready" >/dev/null 2>&1; then
      kill -0 "$(cat "$work/$1.pid")" && return
      break
    fi
    sleep 0.1
  done
  echo "instance $1 did not become ready:" >&2; tail -20 "$work/$1.log" >&2; exit 1
}
write_pids() { printf 'a %s\nb %s\n' "$(cat "$work/a.pid")" "$(cat "$work/b.pid")" >"$work/pids"; }
start_instance a $((PORT + 1))
start_instance b $((PORT + 2))
write_pids

mkdir -p "$work/nginx"/{client_body,proxy,fastcgi,uwsgi,scgi}
chmod -R 777 "$work/nginx"
sed -e "s/listen 8080;/listen $PORT;/" -e "s/127.0.0.1:8081/127.0.0.1:$((PORT + 1))/" \
  -e "s/127.0.0.1:8082/127.0.0.1:$((PORT + 2))/" docker/nginx.conf >"$work/nginx/nginx.conf"
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx/" -g 'daemon off;' 2>"$work/nginx.log" &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1 && break; sleep 0.1; done

echo "soak: $DURATION s, $KIMS KIMs, PostgreSQL $database, moto on $s3_port, nginx on $PORT -> $((PORT + 1)), $((PORT + 2))"
NGINX_PORT=$PORT DURATION=$DURATION PIDS_FILE="$work/pids" KILL_FILE="$work/kill.json" \
  HOOK_PORT=$((PORT + 4)) python3 benches/soak.py &
driver=$!

sleep $((DURATION / 2))
killed=$(date +%s.%N)
victim=$(cat "$work/b.pid")
{ kill -9 "$victim" && wait "$victim"; } 2>/dev/null || true
echo "[$(date +%T)] killed instance b (SIGKILL); starting it again"
start_instance b $((PORT + 2))
write_pids
ready=$(date +%s.%N)
printf '{"killed": %s, "ready": %s}\n' "$killed" "$ready" >"$work/kill.json"
echo "[$(date +%T)] instance b ready again after $(python3 -c "print(f'{$ready - $killed:.1f}')") s"

status=0
wait "$driver" || status=$?
if grep -q '"level":"ERROR"\|ERROR' "$work/a.log" "$work/b.log"; then
  echo "errors logged by the instances:"; grep -h 'ERROR' "$work/a.log" "$work/b.log" | head -5
fi
exit "$status"
