"""Sends a file with the official tus client (`tuspy`), the connection cut halfway.

Reads {"endpoint", "token", "file" (base64), "file_name"} on stdin. Creates the upload
with tuspy, sends the first half in a PATCH whose sending side is then closed (as a phone losing
its signal mid-upload), waits for the server's answer to that cut request, asks the
offset as a resuming client does, and lets tuspy finish from there. Prints {"url",
"cut_answer" (the status line answering the cut request), "offset_after_cut",
"offset_at_end"} as JSON.
"""
import base64
import io
import json
import socket
import sys
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
    # The server answers the cut request once it has stored what arrived (or closes
    # the connection): awaiting that answer is awaiting the stored piece.
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk

# A resuming client asks (HEAD) where to go on from.
resumed = tus.uploader(file_stream=io.BytesIO(data), url=url, chunk_size=len(data))
offset_after_cut = resumed.offset
resumed.upload()
status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
print(json.dumps({"url": url, "cut_answer": status_line, "offset_after_cut": offset_after_cut,
                  "offset_at_end": resumed.offset}))
