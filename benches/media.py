"""Attachment media benchmark, run by hand through benches/media.sh.

Prints, from one run on this machine:
  - upload-to-201 time of a 12-megapixel phone JPEG (4000 x 3000, ~4 MB, with EXIF):
    cleaning, re-encoding and both variants; median and max of UPLOADS sequential ones;
  - the server's resident memory growth (VmHWM - VmRSS before) during 8 simultaneous
    such uploads, released together;
  - thumb and preview bytes as a share of the kept original's;
  - download throughput of the original from the filesystem store and from the S3
    store (moto), against a plain read of the same bytes from disk, side by side.
Environment: BASE_FS, BASE_S3 (servers), PID_FS (the filesystem server's pid),
USERNAME, PASSWORD, UPLOADS (10), DOWNLOADS (20).
"""

import io
import os
import statistics
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

    # Eight at once first, on a fresh process (after one warm-up upload), so the peak
    # is theirs.
    target = bulletin(base, auth)
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
