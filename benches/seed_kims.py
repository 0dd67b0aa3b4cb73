#!/usr/bin/env python3
"""Registers N KIMs through the API (standard library only), for benches/load.sh.

usage: seed_kims.py BASE_URL TOKEN N
"""
import http.client
import json
import sys
import urllib.parse

KELURAHAN = [
    f"18.72.0{k}.10{n:02d}"
    for k, count in [(1, 5), (2, 4), (3, 4), (4, 5), (5, 4)]
    for n in range(1, count + 1)
]


def main() -> None:
    base, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for i in range(count):
        body = {
            "name": f"KIM Beban {i:05d}",
            "kelurahan_code": KELURAHAN[i % len(KELURAHAN)],
            "area_type": "urban" if i % 3 else "rural",
            "focus": ["informasi"],
        }
        conn.request("POST", "/api/v1/kims", json.dumps(body), headers)
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            sys.exit(f"KIM {i}: HTTP {response.status}")


if __name__ == "__main__":
    main()
