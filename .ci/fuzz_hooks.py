"""Schemathesis hooks for .ci/fuzz: a fresh gov_admin token for the generated requests.

Generated requests may sign the fuzzing account out or end its sessions (that is part
of what is fuzzed), so the token is fetched again every few seconds instead of once.
"""

import os

import requests
import schemathesis
from hypothesis import strategies


@schemathesis.auth(refresh_interval=5)
class GovAdminToken:
    def get(self, case, ctx):
        response = requests.post(
            os.environ["KIM_FUZZ_BASE"] + "/api/v1/auth/token",
            data={
                "grant_type": "password",
                "username": os.environ["KIM_FUZZ_USERNAME"],
                "password": os.environ["KIM_FUZZ_PASSWORD"],
            },
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# The bytes of a resumable upload's PATCH (tus): any bytes, a few at a time.
schemathesis.openapi.media_type(
    "application/offset+octet-stream", strategies.binary(max_size=2048)
)
