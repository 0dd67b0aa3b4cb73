"""Verifies captured webhook deliveries with the official Standard Webhooks library.

Reads {"deliveries": [{"body", "headers", "secrets": [...]}]} on stdin; for each delivery
every secret must verify it, and the same delivery with its body changed must not.
"""
import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

case = json.load(sys.stdin)
for number, delivery in enumerate(case["deliveries"]):
    for secret in delivery["secrets"]:
        payload = Webhook(secret).verify(delivery["body"], delivery["headers"])
        if payload != json.loads(delivery["body"]):
            sys.exit(f"delivery {number}: the verified payload differs")
        try:
            Webhook(secret).verify(delivery["body"] + " ", delivery["headers"])
        except WebhookVerificationError:
            pass
        else:
            sys.exit(f"delivery {number}: a changed body verified")
print(f"verified {len(case['deliveries'])}")
