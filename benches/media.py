"""Attachment media benchmark, run by hand through benches/media.sh.

Prints, from one run on this machine:
  - upload-to-201 time of a 12-megapixel phone JPEG (4000 x 3000, ~4 MB, with EXIF):
    cleaning, re-encoding and both variants; median and max of UPLOADS sequential ones;
  - the server's resident memory growth (VmHWM - VmRSS before) during 8 simultaneous
    such uploads, released together;
  - a decompression bomb (a ~1 KB PNG claiming 50 000 x 50 000): time to its 422 and
    the server's memory growth while refusing it, before anything else ran;
  - the same photo sent resumably (tus: creation, 1 MiB pieces, attach) beside the
    one-request multipart upload;
  - thumb and preview bytes as a share of the kept original's;
  - download throughput of the original from the filesystem store and from the S3
    store (moto), against a plain read of the same bytes from disk, side by side.
Environment: BASE_FS, BASE_S3 (servers), PID_FS (the filesystem server's pid),
USERNAME, PASSWORD, UPLOADS (10), DOWNLOADS (20).
"""

import base64
import io
import os
import statistics
import struct
import zlib
import tempfile
import threading
import time

import requests
from PIL import Image

UPLOADS = int(os.environ.get("UPLOADS", "10"))
DOWNLOADS = int(os.environ.get("DOWNLOADS", "20"))


def phone_photo():
    """A 4000 x 3000 JPEG of ~4 MB with EXIF (make, model, owner, GPS, orientation 6)."""
    width, height = 4000, 3000
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 22)
    photo = Image.merge("RGB", (gradient, noise, Image.eval(gradient, lambda v: 255 - v)))
    exif = Image.Exif()
    exif[0x010F] = "KIMPHONE"
    exif[0x0110] = "Galaksi A5"
    exif[0x013B] = "Budi Santoso"
    exif[0x0112] = 6
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=86, exif=exif)
    return out.getvalue()


def sign_in(base):
    answer = requests.post(
        f"{base}/api/v1/auth/token",
        data={"grant_type": "password", "username": os.environ["USERNAME"], "password": os.environ["PASSWORD"]},
        timeout=30,
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def bulletin(base, auth):
    answer = requests.post(
        f"{base}/api/v1/bulletins",
        json={"title": "Foto kegiatan", "body": "Lampiran foto.", "category": "umum", "audience": {"scope": "public"}},
        headers=auth,
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["id"]


def upload(base, auth, bulletin_id, photo):
    started = time.perf_counter()
    answer = requests.post(
        f"{base}/api/v1/bulletins/{bulletin_id}/attachments",
        files={"file": ("IMG_0001.jpg", photo, "image/jpeg")},
        headers=auth,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    if answer.status_code != 201:
        raise SystemExit(f"upload answered {answer.status_code}: {answer.text[:300]}")
    return elapsed, answer.json(), answer.headers["Location"]


def bomb():
    """A valid PNG header claiming 50 000 x 50 000 RGB pixels (7.5 GB decoded) over a
    tiny compressed stream."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 100_000, 9)) + chunk(b"IEND", b""))


def refuse_bomb(base, auth, bulletin_id, png):
    started = time.perf_counter()
    answer = requests.post(
        f"{base}/api/v1/bulletins/{bulletin_id}/attachments",
        files={"file": ("bom.png", png, "image/png")},
        headers=auth,
        timeout=60,
    )
    elapsed = time.perf_counter() - started
    if answer.status_code != 422:
        raise SystemExit(f"the bomb answered {answer.status_code}: {answer.text[:300]}")
    return elapsed


def upload_resumably(base, auth, bulletin_id, photo, piece=2**20):
    """tus 1.0 as a phone client does it: create, PATCH the pieces, attach."""
    started = time.perf_counter()
    tus = dict(auth, **{"Tus-Resumable": "1.0.0"})
    created = requests.post(
        f"{base}/api/v1/uploads",
        headers=dict(tus, **{"Upload-Length": str(len(photo)),
                             "Upload-Metadata": "filename " + base64.b64encode(b"IMG_0001.jpg").decode()}),
        timeout=30,
    )
    created.raise_for_status()
    url = base + created.headers["Location"]
    for offset in range(0, len(photo), piece):
        sent = requests.patch(
            url,
            data=photo[offset:offset + piece],
            headers=dict(tus, **{"Upload-Offset": str(offset),
                                 "Content-Type": "application/offset+octet-stream"}),
            timeout=60,
        )
        if sent.status_code != 204:
            raise SystemExit(f"PATCH answered {sent.status_code}: {sent.text[:300]}")
    attached = requests.post(
        f"{base}/api/v1/bulletins/{bulletin_id}/attachments/from-upload",
        json={"upload_id": created.json()["id"]},
        headers=auth,
        timeout=120,
    )
    if attached.status_code != 201:
        raise SystemExit(f"attach answered {attached.status_code}: {attached.text[:300]}")
    return time.perf_counter() - started


def memory(pid, field):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} for {pid}")


def throughput(fetch, size):
    started = time.perf_counter()
    for _ in range(DOWNLOADS):
        got = fetch()
        assert len(got) == size, (len(got), size)
    return size * DOWNLOADS / (time.perf_counter() - started) / 2**20


def main():
    photo = phone_photo()
    print(f"photo: 4000 x 3000 JPEG, {len(photo) / 2**20:.2f} MiB with EXIF")
    base, pid = os.environ["BASE_FS"], int(os.environ["PID_FS"])
    auth = sign_in(base)

    # The bomb first, on a fresh process: its memory growth is its own.
    target = bulletin(base, auth)
    png = bomb()
    before = memory(pid, "VmRSS")
    refusals = [refuse_bomb(base, auth, target, png) for _ in range(5)]
    peak = memory(pid, "VmHWM")
    print(f"bomb ({len(png)} bytes claiming 50000 x 50000): 422 in median "
          f"{statistics.median(refusals) * 1000:.1f} ms (max {max(refusals) * 1000:.1f} ms); "
          f"RSS before {before:.0f} MiB, peak {peak:.0f} MiB, growth {peak - before:.0f} MiB")

    # Eight at once next (after one warm-up upload), so the peak is theirs.
    upload(base, auth, target, photo)
    before = memory(pid, "VmRSS")
    gate = threading.Barrier(8)
    times = []

    def one():
        gate.wait()
        times.append(upload(base, auth, bulletin(base, auth), photo)[0])

    workers = [threading.Thread(target=one) for _ in range(8)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    peak = memory(pid, "VmHWM")
    print(f"8 simultaneous uploads: all done in {wall:.2f} s (slowest {max(times):.2f} s); "
          f"RSS before {before:.0f} MiB, peak {peak:.0f} MiB, growth {peak - before:.0f} MiB")

    sequential = []
    for _ in range(UPLOADS):
        elapsed, attachment, location = upload(base, auth, bulletin(base, auth), photo)
        sequential.append(elapsed)
    print(f"upload to 201, {UPLOADS} one after another: median {statistics.median(sequential) * 1000:.0f} ms, "
          f"max {max(sequential) * 1000:.0f} ms")

    resumable = [upload_resumably(base, auth, bulletin(base, auth), photo) for _ in range(UPLOADS)]
    print(f"resumable (tus, 1 MiB pieces) to 201, {UPLOADS} one after another: median "
          f"{statistics.median(resumable) * 1000:.0f} ms = "
          f"{statistics.median(resumable) / statistics.median(sequential):.2f} x the multipart upload")

    original = requests.get(base + location, headers=auth, timeout=60).content
    sizes = {v["variant"]: v["size_bytes"] for v in attachment["variants"]}
    for variant in ("thumb", "preview"):
        dims = next(f"{v['width']} x {v['height']}" for v in attachment["variants"] if v["variant"] == variant)
        print(f"{variant}: {dims}, {sizes[variant]} bytes = {100 * sizes[variant] / len(original):.2f} % "
              f"of the kept original ({len(original)} bytes)")

    with tempfile.NamedTemporaryFile(delete=False) as plain:
        plain.write(original)
    size = len(original)

    def read_plain():
        with open(plain.name, "rb") as f:
            return f.read()

    figures = {"plain file read": throughput(read_plain, size)}
    session = requests.Session()
    figures["download, filesystem store"] = throughput(
        lambda: session.get(base + location, headers=auth, timeout=60).content, size)
    s3 = os.environ.get("BASE_S3")
    if s3:
        s3_auth = sign_in(s3)
        _, _, s3_location = upload(s3, s3_auth, bulletin(s3, s3_auth), photo)
        s3_size = len(session.get(s3 + s3_location, headers=s3_auth, timeout=60).content)
        figures["download, S3 store (moto)"] = throughput(
            lambda: session.get(s3 + s3_location, headers=s3_auth, timeout=60).content, s3_size)
    os.unlink(plain.name)
    yardstick = figures["plain file read"]
    for name, mib_s in figures.items():
        print(f"{name}: {mib_s:.0f} MiB/s ({mib_s / yardstick:.3f} of a plain read)")


main()
