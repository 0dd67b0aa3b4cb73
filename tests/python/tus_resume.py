"""Sends a file with the official tus client (`tuspy`), the connection cut halfway.

Reads {"endpoint", "token", "file" (base64), "file_name"} on stdin. Creates the upload
with tuspy, sends the first half in a PATCH whose connection is then dropped (as a
phone losing its signal), asks the offset as a resuming client does, and lets tuspy
finish from there. Prints {"url", "offset_after_cut", "offset_at_end"} as JSON.
"""
import base64
import io
import json
import socket
import sys
import time
from urllib.parse import urlsplit

from tusclient import client

case = json.load(sys.stdin)
data = base64.b64decode(case["file"])
headers = {"Authorization": "Bearer " + case["token"]}
tus = client.TusClient(case["endpoint"] + "/api/v1/uploads", headers=headers)

first = tus.uploader(file_stream=io.BytesIO(data), chunk_size=len(data), metadata={"filename": case["file_name"]})
url = first.create_url()

# The first half of a PATCH announcing the whole file, then the connection drops.
half = len(data) // 2
target = urlsplit(url if url.startswith("http") else case["endpoint"] + url)
with socket.create_connection((target.hostname, target.port)) as conn:
    conn.sendall(
        (
            f"PATCH {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n"
            f"Authorization: Bearer {case['token']}\r\nTus-Resumable: 1.0.0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        + data[:half]
    )
    conn.shutdown(socket.SHUT_WR)

# The server stores what arrived when it sees the connection end; a resuming client
# asks (HEAD) until the offset is what it knows it sent, as a phone retries.
resumed = None
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    resumed = tus.uploader(file_stream=io.BytesIO(data), url=url, chunk_size=len(data))
    if resumed.offset == half:
        break
    time.sleep(0.05)
offset_after_cut = resumed.offset
resumed.upload()
print(json.dumps({"url": url, "offset_after_cut": offset_after_cut, "offset_at_end": resumed.offset}))
