"""The browser's side of Web Push, with the ecosystem's reference libraries.

stdin {"make_keys": true}: a browser's P-256 key pair and auth secret, as
PushSubscription.toJSON() would hold them (plus the private key, for the decryption).

stdin {"body": <base64>, "authorization": ..., "private_key": ..., "auth": ...}:
decrypts the push message with http_ece (RFC 8291, aes128gcm) and checks the VAPID
header with py_vapid (RFC 8292); prints the plaintext and the token's claims.
"""

import base64
import json
import os
import sys

import http_ece
import py_vapid
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_keys():
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    number = private.private_numbers().private_value.to_bytes(32, "big")
    return {
        "p256dh": b64url(public),
        "auth": b64url(os.urandom(16)),
        "private_key": b64url(number),
    }


def open_message(request):
    number = int.from_bytes(unb64url(request["private_key"]), "big")
    private = ec.derive_private_key(number, ec.SECP256R1())
    plaintext = http_ece.decrypt(
        base64.b64decode(request["body"]),
        private_key=private,
        auth_secret=unb64url(request["auth"]),
        version="aes128gcm",
    )
    authorization = request["authorization"]
    if not py_vapid.Vapid02.verify(authorization):
        raise SystemExit("the VAPID signature does not verify")
    params = dict(
        part.split("=", 1) for part in authorization.split(" ", 1)[1].split(",")
    )
    claims = json.loads(unb64url(params["t"].split(".")[1]))
    if not py_vapid._check_sub(claims["sub"]):
        raise SystemExit("the VAPID subject is no mailto: or https: URI")
    return {"plaintext": plaintext.decode(), "claims": claims, "k": params["k"]}


request = json.load(sys.stdin)
answer = make_keys() if request.get("make_keys") else open_message(request)
json.dump(answer, sys.stdout)
