"""A real SMTP server (aiosmtpd) for the mail tests: prints its port as the first line,
then each message it accepts as one JSON line, decoded with the standard library's
e-mail parser (headers, subject, plain-text body), then acknowledges it."""

import email
import email.policy
import json
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        print(
            json.dumps(
                {
                    "to": envelope.rcpt_tos,
                    "from": envelope.mail_from,
                    "subject": message["Subject"],
                    "list_unsubscribe": message["List-Unsubscribe"],
                    "list_unsubscribe_post": message["List-Unsubscribe-Post"],
                    "content_type": message.get_content_type(),
                    "body": message.get_content(),
                }
            ),
            flush=True,
        )
        return "250 OK"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


port = free_port()
controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print(json.dumps({"port": port}), flush=True)
# Runs until the test closes stdin (or ends).
sys.stdin.read()
controller.stop()
