#!/usr/bin/env python3
"""1 000 live streams, measured (standard library only), for benches/notification_stream.sh.

usage: notification_stream.py BASE_URL PASSWORD ADMIN USERS_FILE SERVER_PID CONNECTIONS ROUNDS

Signs in the accounts listed in USERS_FILE (one username a line), opens CONNECTIONS
`GET /api/v1/notifications/stream` connections spread over them, then publishes ROUNDS
bulletins to all KIMs. For each publication it takes the moment the publish request
was answered (the commit) and, on every connection, the moment the notification's event
arrived; prints the p50/p99/max of that delay over all connections and rounds, and the
server's resident memory at start, after the sign-ins (password hashing leaves memory
with the allocator), with the connections open and at its peak.
"""
import asyncio
import http.client
import json
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def call(base, method, path, token=None, body=None, form=None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = None
    if form is not None:
        payload = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        payload = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, payload, headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status >= 300:
        sys.exit(f"{method} {path}: HTTP {response.status} {data[:200]!r}")
    return json.loads(data) if data else None


class Stream:
    refused = 0

    def __init__(self):
        self.arrivals = {}  # bulletin id -> perf_counter at arrival

    async def run(self, host, port, token, ready):
        # As EventSource does: a refused connection (503 while the service sheds the
        # burst of connects) is tried again after a pause.
        while True:
            reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
            writer.write(
                f"GET /api/v1/notifications/stream HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            await writer.drain()
            status = await reader.readline()
            if b" 200 " in status:
                break
            if b" 503 " not in status:
                sys.exit(f"stream refused: {status!r}")
            Stream.refused += 1
            writer.close()
            await asyncio.sleep(0.5)
        ready.set()
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"data:"):
                arrived = time.perf_counter()
                try:
                    event = json.loads(line[5:])
                except ValueError:
                    continue  # a chunk-size line of the chunked encoding, or a split
                self.arrivals.setdefault(event["target"]["id"], arrived)


async def measure(base, password, admin, users, pid, connections, rounds):
    url = urllib.parse.urlsplit(base)
    started = rss_mib(pid)
    sign_in = lambda username: call(base, "POST", "/api/v1/auth/token", form={
        "grant_type": "password", "username": username, "password": password})["access_token"]
    admin_token = sign_in(admin)
    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(sign_in, users))
    idle = rss_mib(pid)
    streams, tasks, readies = [], [], []
    for n in range(connections):
        stream, ready = Stream(), asyncio.Event()
        streams.append(stream)
        readies.append(ready)
        tasks.append(asyncio.create_task(stream.run(url.hostname, url.port, tokens[n % len(tokens)], ready)))
    await asyncio.gather(*(ready.wait() for ready in readies))
    await asyncio.sleep(1)
    connected = rss_mib(pid)
    delays, peak = [], connected
    loop = asyncio.get_running_loop()
    for n in range(rounds):
        draft = await loop.run_in_executor(None, lambda: call(base, "POST", "/api/v1/bulletins", admin_token, {
            "title": f"Peringatan {n}", "body": "Isi.", "category": "umum", "audience": {"scope": "all_kims"}}))
        await loop.run_in_executor(None, lambda: call(base, "POST", f"/api/v1/bulletins/{draft['id']}/publish", admin_token, {}))
        committed = time.perf_counter()
        deadline = committed + 30
        while time.perf_counter() < deadline and not all(draft["id"] in s.arrivals for s in streams):
            await asyncio.sleep(0.01)
        missing = sum(draft["id"] not in s.arrivals for s in streams)
        if missing:
            sys.exit(f"round {n}: {missing} connections got no event within 30 s")
        delays.extend(s.arrivals[draft["id"]] - committed for s in streams)
        peak = max(peak, rss_mib(pid))
    for task in tasks:
        task.cancel()

    def pct(p):
        ordered = sorted(delays)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000

    print(f"  {connections} streams over {len(tokens)} accounts, {rounds} publications to all KIMs; "
          f"{Stream.refused} connects answered 503 while all opened at once (retried after 0.5 s)")
    print(f"  server RSS: started {started:.1f} MiB, after {len(tokens)} sign-ins {idle:.1f} MiB, "
          f"{connections} streams open {connected:.1f} MiB, peak while fanning out {peak:.1f} MiB")
    print(f"  commit to event: p50 {pct(50):.1f} ms  p99 {pct(99):.1f} ms  max {max(delays) * 1000:.1f} ms")


def main():
    base, password, admin, users_file, pid, connections, rounds = sys.argv[1:8]
    with open(users_file) as listing:
        users = [line.strip() for line in listing if line.strip()]
    asyncio.run(measure(base, password, admin, users, int(pid), int(connections), int(rounds)))


if __name__ == "__main__":
    main()
