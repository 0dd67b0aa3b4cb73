#!/usr/bin/env bash
# Builds the runtime image and starts it, on a machine where base images cannot be
# pulled but Debian packages can, and where `podman run` is refused:
#   1. a Debian bookworm base from packages (debootstrap --variant=minbase);
#   2. the Dockerfile's `runtime` target around a release binary built here, with
#      podman (chroot isolation, vfs storage);
#   3. the image's entrypoint started from the image's own filesystem as the image's
#      user (podman mount + chroot --userspec), and checked: /health/ready answers,
#      the process is not root, the health check's command is in the image, the size.
# Usage: bash docker/check.sh [BINARY]   (run as root; not part of .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-18580}
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --release --locked --quiet --bin kim-api
  BIN="${CARGO_TARGET_DIR:-target}/release/kim-api"
fi
for tool in podman debootstrap; do
  command -v "$tool" >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman debootstrap
  }
done
podman=(podman --storage-driver vfs)
work=$(mktemp -d)
container=""
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  if [ -n "$container" ]; then
    umount "$root/proc" "$root/dev" 2>/dev/null || true
    "${podman[@]}" umount "$container" >/dev/null 2>&1 || true
    "${podman[@]}" rm -f "$container" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mirror=$(sed -n 's/^URIs: \(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
# Made once per machine; `podman --storage-driver vfs rmi localhost/kim-base:bookworm`
# to make it again.
if ! "${podman[@]}" image exists localhost/kim-base:bookworm; then
  echo "==> base image from Debian packages ($mirror)"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # Slim as debian:bookworm-slim is: no package caches or lists, no documentation,
  # manual pages or translations, now or from packages installed later.
  rm -rf "$work/rootfs"/var/cache/apt/archives/*.deb "$work/rootfs"/var/lib/apt/lists/* \
    "$work/rootfs"/usr/share/doc/* "$work/rootfs"/usr/share/man/* "$work/rootfs"/usr/share/info/* \
    "$work/rootfs"/usr/share/locale/*
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
    >"$work/rootfs/etc/dpkg/dpkg.cfg.d/slim"
  tar -C "$work/rootfs" -c . | "${podman[@]}" import - localhost/kim-base:bookworm >/dev/null
  rm -rf "$work/rootfs"
fi

echo "==> runtime image (podman build --isolation=chroot, target runtime)"
mkdir -p "$work/context"
# Line tables are for profiling here; the image keeps symbols (named frames in a panic's
# backtrace) and not the rest.
strip --strip-debug -o "$work/context/kim-api" "$BIN"
"${podman[@]}" build --isolation=chroot --format docker --quiet \
  --build-arg BASE=localhost/kim-base:bookworm --target runtime \
  -f docker/Dockerfile -t localhost/kim-api:check "$work/context" >/dev/null

echo "==> start the entrypoint from the image's filesystem, as its user"
container=$("${podman[@]}" create localhost/kim-api:check)
root=$("${podman[@]}" mount "$container")
user=$("${podman[@]}" image inspect --format '{{.Config.User}}' localhost/kim-api:check)
entrypoint=$("${podman[@]}" image inspect --format '{{join .Config.Entrypoint " "}} {{join .Config.Cmd " "}}' localhost/kim-api:check)
healthcheck=$("${podman[@]}" image inspect --format '{{join .Config.Healthcheck.Test " "}}' localhost/kim-api:check)
uid=$(chroot "$root" id -u "$user")
gid=$(chroot "$root" id -g "$user")
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
# The image's environment, with the port moved off 8080 (the host's network).
mapfile -t image_env < <("${podman[@]}" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' localhost/kim-api:check | sed '/^$/d')
chroot --userspec="$uid:$gid" "$root" env -i "${image_env[@]}" BIND_ADDR="127.0.0.1:$PORT" \
  HOME=/var/lib/kim-api sh -c "cd /var/lib/kim-api && exec $entrypoint" >"$work/server.log" 2>&1 &
server=$!
ready=""
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/health/ready" >"$work/ready.json" 2>/dev/null; then ready=yes; break; fi
  sleep 0.2
done
pid=$(pgrep -f "^/usr/local/bin/kim-api serve" | head -1 || true)
running_uid=$( [ -n "$pid" ] && stat -c %u "/proc/$pid" || echo "?")
health_tool=$(awk '{for (i = 1; i <= NF; i++) if ($i == "curl") print "curl"}' <<<"$healthcheck" | head -1)
size=$("${podman[@]}" image inspect --format '{{.Size}}' localhost/kim-api:check)
base_size=$("${podman[@]}" image inspect --format '{{.Size}}' localhost/kim-base:bookworm)

failed=0
check() { # $1 = passed (0/1), $2 = what
  if [ "$1" = 1 ]; then echo "  PASS  $2"; else echo "  FAIL  $2"; failed=1; fi
}
echo "image localhost/kim-api:check: user '$user' (uid $uid), entrypoint '$entrypoint'"
echo "health check: $healthcheck"
check "$([ -n "$ready" ] && echo 1 || echo 0)" "/health/ready answers 200: $(cat "$work/ready.json" 2>/dev/null)"
check "$([ "$running_uid" = "$uid" ] && [ "$uid" != 0 ] && echo 1 || echo 0)" "the service runs as uid $running_uid, not root"
check "$([ -n "$health_tool" ] && [ -x "$root/usr/bin/$health_tool" ] && echo 1 || echo 0)" "the health check's command ($health_tool) is in the image"
printf '  size  %.1f MiB (base from Debian packages %.1f MiB)\n' "$(bc -l <<<"$size / 1048576")" "$(bc -l <<<"$base_size / 1048576")"
[ "$failed" = 0 ] || { echo "server log:"; tail -20 "$work/server.log"; }
exit "$failed"
