"""Opens a consultation to all KIMs and has every demo KIM's kim_admin answer it.

Used by benches/engagement.sh: python3 consultation_responses.py BASE GOV_TOKEN
PASSWORD. The KIM ids are listed through the API (GET /api/v1/kims as gov), the
boards sign in as `ketua.kim<id>` with the demo password, and each answers with
varied values. Prints the consultation id.
"""
import datetime
import json
import sys
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

base, gov, password = sys.argv[1], sys.argv[2], sys.argv[3]


def call(method, path, token=None, body=None, form=None):
    data, headers = None, {}
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


now = datetime.datetime.now(datetime.timezone.utc)
consultation = call("POST", "/api/v1/consultations", gov, {
    "title": "Jadwal pengangkutan sampah", "summary": "Bench",
    "questions": [
        {"id": "setuju", "text": "Setuju?", "kind": "choice", "options": ["Setuju", "Tidak setuju", "Ragu-ragu"]},
        {"id": "kepuasan", "text": "Puas?", "kind": "scale"},
        {"id": "saran", "text": "Saran", "kind": "text"},
    ],
    "audience": {"scope": "all_kims"},
    "opens_at": (now - datetime.timedelta(minutes=1)).isoformat(),
    "closes_at": (now + datetime.timedelta(days=7)).isoformat(),
})["id"]
call("POST", f"/api/v1/consultations/{consultation}/status", gov, {"status": "open"})

kims, cursor = [], None
while True:
    page = call("GET", "/api/v1/kims?limit=100" + (f"&cursor={cursor}" if cursor else ""), gov)
    kims += [kim["id"] for kim in page["data"]]
    cursor = page["next_cursor"]
    if not cursor:
        break


def answer(index_kim):
    index, kim = index_kim
    token = call("POST", "/api/v1/auth/token", form={
        "grant_type": "password", "username": f"ketua.kim{kim}", "password": password})["access_token"]
    call("PUT", f"/api/v1/consultations/{consultation}/responses/mine", token, {
        "answers": [
            {"question_id": "setuju", "value": ["Setuju", "Tidak setuju", "Ragu-ragu"][index % 3]},
            {"question_id": "kepuasan", "value": index % 5 + 1},
            {"question_id": "saran", "value": f"Saran warga nomor {index}."},
        ],
        "citizens_consulted": 10 + index % 40,
    })


with ThreadPoolExecutor(8) as pool:
    list(pool.map(answer, enumerate(kims)))
print(consultation)
