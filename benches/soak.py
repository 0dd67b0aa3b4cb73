"""The soak's traffic and checks, run by benches/soak.sh (stdlib only).

Virtual users, each a thread with its own client address (X-Forwarded-For, which
nginx passes on and the instances trust), for DURATION seconds through nginx:
  - citizens: read the public bulletins and track a report by its code;
  - KIM members: sync (bulletins, notifications), submit reports with an
    Idempotency-Key and retry on any error as a mobile app does, and now and then
    upload a photo (tus) and attach it;
  - officers: list new reports and move them on;
  - live streams: /notifications/stream, reconnecting with Last-Event-ID;
  - a webhook receiver, subscribed to report events.
Midway the orchestrator kills one instance (SIGKILL) and restarts it; it writes the
times to KILL_FILE. At the end: per-route rate, p50/p99, errors; RSS per instance
every 30 s; and the checks, printed as PASS/FAIL (exit 1 on a FAIL).
"""

import base64
import http.client
import http.server
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid

HOST, PORT = "127.0.0.1", int(os.environ["NGINX_PORT"])
DURATION = float(os.environ["DURATION"])
PASSWORD = os.environ["PASSWORD"]
KIMS = int(os.environ["KIMS"])
PG_URL = os.environ["PG_URL"]
PIDS_FILE = os.environ["PIDS_FILE"]
KILL_FILE = os.environ["KILL_FILE"]
HOOK_PORT = int(os.environ["HOOK_PORT"])
WARM_UP = float(os.environ.get("WARM_UP", DURATION / 4))
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
REPORT = {
    "kind": "complaint",
    "category_code": "infrastruktur",
    "title": "Lampu jalan padam",
    "description": "Lampu jalan di depan balai RW 03 padam sejak seminggu.",
    "kelurahan_code": "18.72.01.1001",
    "address": "Jl. Ahmad Yani, RW 03",
    "reporter_name": "Siti Rahayu",
    "reporter_contact": "0812-3456-7890",
    "privacy": "normal",
}

lock = threading.Lock()
samples = {}  # route -> list of (started, seconds, status); status 0 = no answer
acknowledged = {}  # idempotency key -> report id
tracking_codes = []
stream_events = [0]
stop_at = time.monotonic() + DURATION
start_wall = time.time()


def record(route, started, status):
    with lock:
        samples.setdefault(route, []).append((started, time.monotonic() - started, status))


def request(route, method, path, address, token=None, body=None, headers=None, raw=None):
    """One request through nginx; answers (status, headers, body bytes); status 0 when
    no answer came (connection refused or cut)."""
    sent = {"X-Forwarded-For": address}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if body is not None:
        raw = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
        conn.request(method, path, body=raw, headers=sent)
        answer = conn.getresponse()
        data = answer.read()
        conn.close()
    except (OSError, http.client.HTTPException):
        record(route, started, 0)
        return 0, {}, b""
    record(route, started, answer.status)
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, data


def address_of(kind, n):
    return f"10.{ {'citizen': 1, 'member': 2, 'officer': 3, 'stream': 4}[kind] }.{n // 250}.{n % 250 + 1}"


def sign_in(username, address):
    form = f"grant_type=password&username={username}&password={PASSWORD}".encode()
    while time.monotonic() < stop_at + 60:
        status, _, data = request(
            "POST /auth/token", "POST", "/api/v1/auth/token", address,
            raw=form, headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status == 200:
            return json.loads(data)["access_token"]
        time.sleep(1)
    raise SystemExit(f"{username} cannot sign in")


def citizen(n):
    address = address_of("citizen", n)
    while time.monotonic() < stop_at:
        request("GET /bulletins", "GET", "/api/v1/bulletins?limit=20", address)
        with lock:
            code = random.choice(tracking_codes) if tracking_codes else None
        if code:
            request("GET /reports/track/{code}", "GET", f"/api/v1/reports/track/{code}", address)
        # Within TRACK_RATE_PER_MINUTE (30) of one address.
        time.sleep(random.uniform(2, 5))


def submit(token, address):
    """Submits one report as a phone does: the same key until an answer says done."""
    key = str(uuid.uuid4())
    # The key in the text too, so that the database shows a report made twice.
    body = dict(REPORT, description=f"{REPORT['description']} Kode {key}.")
    for attempt in range(20):
        status, _, data = request(
            "POST /reports", "POST", "/api/v1/reports", address, token,
            body=body, headers={"Idempotency-Key": key},
        )
        if status == 201:
            created = json.loads(data)
            with lock:
                acknowledged[key] = created["id"]
                tracking_codes.append(created["tracking_code"])
            return created["id"]
        if status in (400, 401, 403, 404, 422):
            return None
        time.sleep(min(2 ** attempt * 0.2, 5))
    return None


def attach_photo(token, address, report):
    status, headers, _ = request(
        "POST /uploads", "POST", "/api/v1/uploads", address, token,
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(PNG)), "Content-Length": "0"},
    )
    if status != 201:
        return
    location = headers["location"]
    status, _, _ = request(
        "PATCH /uploads/{id}", "PATCH", location, address, token, raw=PNG,
        headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                 "Content-Type": "application/offset+octet-stream"},
    )
    if status != 204:
        return
    request(
        "POST /reports/{id}/attachments/from-upload", "POST",
        f"/api/v1/reports/{report}/attachments/from-upload", address, token,
        body={"upload_id": location.rsplit("/", 1)[1]},
    )


def member(n):
    address = address_of("member", n)
    username = f"anggota.kim{n % KIMS + 1}"
    token = sign_in(username, address)
    submitted = 0
    while time.monotonic() < stop_at:
        status, _, _ = request("GET /bulletins (member)", "GET", "/api/v1/bulletins?limit=20", address, token)
        if status == 401:
            token = sign_in(username, address)
            continue
        request("GET /notifications", "GET", "/api/v1/notifications?limit=20", address, token)
        report = submit(token, address)
        submitted += 1
        if report and submitted % 5 == 0:
            attach_photo(token, address, report)
        time.sleep(random.uniform(1, 4))


def officer(n):
    address = address_of("officer", n)
    token = sign_in("demo.petugas", address)
    moves = {"submitted": "verified", "verified": "in_progress", "in_progress": "resolved"}
    while time.monotonic() < stop_at:
        status, _, data = request(
            "GET /reports?status", "GET", f"/api/v1/reports?limit=20&status={random.choice(list(moves))}",
            address, token,
        )
        if status == 401:
            token = sign_in("demo.petugas", address)
            continue
        if status == 200:
            for item in json.loads(data)["data"][:3]:
                target = moves.get(item["status"])
                if target:
                    request(
                        "POST /reports/{id}/status", "POST", f"/api/v1/reports/{item['id']}/status",
                        address, token, body={"status": target, "note": "Ditindaklanjuti."},
                    )
        time.sleep(random.uniform(2, 5))


def stream(n):
    address = address_of("stream", n)
    username = f"anggota.kim{n % KIMS + 1}"
    token = sign_in(username, address)
    last_id = None
    while time.monotonic() < stop_at:
        headers = {"X-Forwarded-For": address, "Authorization": f"Bearer {token}",
                   "Accept": "text/event-stream"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        started = time.monotonic()
        try:
            conn = http.client.HTTPConnection(HOST, PORT, timeout=max(1, stop_at - time.monotonic()))
            conn.request("GET", "/api/v1/notifications/stream", headers=headers)
            answer = conn.getresponse()
            record("GET /notifications/stream (connect)", started, answer.status)
            if answer.status == 401:
                token = sign_in(username, address)
                continue
            while time.monotonic() < stop_at:
                line = answer.fp.readline()
                if not line:
                    break
                if line.startswith(b"id: "):
                    last_id = line[4:].strip().decode()
                    with lock:
                        stream_events[0] += 1
            conn.close()
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(1)


received_hooks = {}


class Hooks(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            hook = self.headers.get("webhook-id")
            received_hooks[hook] = received_hooks.get(hook, 0) + 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def psql(sql):
    return subprocess.run(
        ["psql", "-At", PG_URL, "-c", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None


rss_samples = []  # (seconds since start, {name: MiB})


def watch_memory():
    while time.monotonic() < stop_at:
        pids = dict(line.split() for line in open(PIDS_FILE).read().split("\n") if line.strip())
        taken = {name: rss_mib(pid) for name, pid in sorted(pids.items())}
        elapsed = time.time() - start_wall
        rss_samples.append((elapsed, taken))
        shown = "  ".join(f"{name} {mib:.1f} MiB" if mib else f"{name} down" for name, mib in taken.items())
        print(f"[{elapsed:5.0f} s] RSS  {shown}", flush=True)
        time.sleep(min(30, max(0.1, stop_at - time.monotonic())))


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0


def main():
    admin_address = "10.9.0.1"
    admin = sign_in("demo.admin", admin_address)
    hooks = http.server.ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Hooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    status, _, data = request(
        "POST /webhooks", "POST", "/api/v1/webhooks", admin_address, admin,
        body={"url": f"http://127.0.0.1:{HOOK_PORT}/hooks", "events": ["report.created", "report.status_changed"]},
    )
    assert status == 201, data
    subscription = json.loads(data)["id"]
    roles = [(citizen, int(os.environ.get("CITIZENS", 20))), (member, int(os.environ.get("MEMBERS", 12))),
             (officer, int(os.environ.get("OFFICERS", 2))), (stream, int(os.environ.get("STREAMS", 20)))]
    threads = [threading.Thread(target=role, args=(n,), daemon=True) for role, count in roles for n in range(count)]
    threads.append(threading.Thread(target=watch_memory, daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0, stop_at - time.monotonic()) + 120)

    print("\nper route (through nginx)")
    print(f"  {'route':44} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'5xx/none':>9} {'429':>5}")
    kill = json.load(open(KILL_FILE)) if os.path.exists(KILL_FILE) else None
    in_kill, outside_kill = 0, 0
    for route, taken in sorted(samples.items()):
        latencies = [seconds * 1000 for _, seconds, status in taken if status and status < 500]
        failed = [(started, status) for started, _, status in taken if status == 0 or status >= 500]
        limited = sum(1 for _, _, status in taken if status == 429)
        print(f"  {route:44} {len(taken) / DURATION:7.1f} {percentile(latencies, 0.5):8.1f} "
              f"{percentile(latencies, 0.99):8.1f} {len(failed):9} {limited:5}")
        for started, _ in failed:
            wall = start_wall + (started - (stop_at - DURATION))
            if kill and kill["killed"] - 1 <= wall <= kill["ready"] + 10:
                in_kill += 1
            else:
                outside_kill += 1

    # Deliveries still due are given a minute to arrive.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = int(psql(f"SELECT count(*) FROM webhook_deliveries WHERE subscription_id = {subscription} AND status = 'pending'"))
        if pending == 0:
            break
        time.sleep(1)
    expected = set(f"evt_{row}" for row in psql(
        f"SELECT event_id FROM webhook_deliveries WHERE subscription_id = {subscription}").split() if row)
    missed = expected - set(received_hooks)
    ids = list(acknowledged.values())
    existing = int(psql(f"SELECT count(*) FROM reports WHERE id IN ({','.join(map(str, ids)) or '0'})"))
    total = int(psql("SELECT count(*) FROM reports"))
    twice = int(psql("SELECT count(*) FROM (SELECT description FROM reports GROUP BY description HAVING count(*) > 1) d"))
    keys_without_answer = total - len(set(ids))

    print(f"\nsubmitted and acknowledged: {len(ids)} reports; in the database: {total}; "
          f"stream events: {stream_events[0]}; webhook deliveries: {len(expected)}, "
          f"received: {sum(received_hooks.values())} ({len(received_hooks)} distinct)")
    checks = []
    checks.append(("every acknowledged report exists, once", existing == len(ids) == len(set(ids)) and twice == 0,
                   f"{existing} of {len(ids)} found, {twice} made twice; {keys_without_answer} in the database "
                   f"beyond them (submissions given up after 20 tries)"))
    checks.append(("every event delivered to the webhook receiver at least once", not missed,
                   f"{len(missed)} of {len(expected)} never arrived"))
    checks.append(("no 5xx or cut answers but those of the kill", outside_kill == 0,
                   f"{in_kill} during the kill, {outside_kill} outside it"))
    survivor = "a"
    series = [(t, taken.get(survivor)) for t, taken in rss_samples if taken.get(survivor)]
    warm = [mib for t, mib in series if t >= WARM_UP]
    if len(warm) >= 2:
        growth = (warm[-1] - warm[0]) / warm[0]
        checks.append((f"RSS of instance {survivor} flat after warm-up (< 10 %)", growth < 0.10,
                       f"{warm[0]:.1f} -> {warm[-1]:.1f} MiB ({growth * 100:+.1f} %)"))
    else:
        checks.append(("RSS flat after warm-up", False, "too few samples after warm-up (run longer)"))
    failed = False
    for name, passed, detail in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {name}: {detail}")
        failed |= not passed
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
