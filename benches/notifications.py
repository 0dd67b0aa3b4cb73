#!/usr/bin/env python3
"""Publishing to everyone, measured (standard library only), for benches/notifications.sh.

usage: notifications.py BASE_URL PASSWORD ADMIN WATCHER ONE_KIM_ID ROUNDS

Each round publishes one bulletin to a single KIM (WATCHER's: ten recipients) and one
to all KIMs (every seeded account), alternately, and times each `publish` request.
After each publication it polls the inbox of WATCHER (the last account the fan-out
writes) until the bulletin is there (for the publications to all, that wait is the time
from the publish answer to the last inbox row), then `/metrics` until the outbox has no
unpublished event, so no fan-out runs during a timed request. Prints p50/p99 of both and their ratio.
"""
import http.client
import json
import sys
import time
import urllib.parse


def main() -> None:
    base, password, admin, watcher, one_kim, rounds = sys.argv[1:7]
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def call(method, path, token=None, body=None, form=None):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if form is not None:
            payload = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        else:
            payload = None
        conn.request(method, path, payload, headers)
        response = conn.getresponse()
        data = response.read()
        if response.status >= 300:
            sys.exit(f"{method} {path}: HTTP {response.status} {data[:200]!r}")
        return json.loads(data) if data else None

    def unpublished_events():
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        text = response.read().decode()
        for line in text.splitlines():
            if line.startswith("kim_outbox_unpublished_events "):
                return float(line.split()[1])
        sys.exit("/metrics has no kim_outbox_unpublished_events")

    def sign_in(username):
        form = {"grant_type": "password", "username": username, "password": password}
        return call("POST", "/api/v1/auth/token", form=form)["access_token"]

    admin_token, watcher_token = sign_in(admin), sign_in(watcher)
    audiences = {
        "one KIM": {"scope": "kims", "kim_ids": [int(one_kim)]},
        "all KIMs": {"scope": "all_kims"},
    }
    publish = {label: [] for label in audiences}
    delivered = []
    for n in range(int(rounds)):
        for label, audience in audiences.items():
            draft = call("POST", "/api/v1/bulletins", admin_token, {
                "title": f"Buletin {n} ({label})", "body": "Isi.", "category": "umum",
                "audience": audience})
            started = time.perf_counter()
            call("POST", f"/api/v1/bulletins/{draft['id']}/publish", admin_token, {})
            answered = time.perf_counter()
            publish[label].append(answered - started)
            while True:
                inbox = call("GET", "/api/v1/notifications?limit=1", watcher_token)
                if inbox["data"] and inbox["data"][0]["target"]["id"] == draft["id"]:
                    break
                time.sleep(0.005)
            if label == "all KIMs":
                delivered.append(time.perf_counter() - answered)
            # The watcher's row is not the dispatcher's last step: wait until the event
            # is marked published, so no fan-out's tail overlaps the next timed request.
            while unpublished_events() > 0:
                time.sleep(0.005)

    def pct(values, p):
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000

    for label, values in publish.items():
        print(f"  publish to {label:8}: p50 {pct(values, 50):7.1f} ms  p99 {pct(values, 99):7.1f} ms")
    one, everyone = publish["one KIM"], publish["all KIMs"]
    print(f"  publish p99 all/one: {pct(everyone, 99) / pct(one, 99):.2f}")
    print(f"  publish answer to last inbox row: p50 {pct(delivered, 50):7.1f} ms  "
          f"p99 {pct(delivered, 99):7.1f} ms")


if __name__ == "__main__":
    main()
