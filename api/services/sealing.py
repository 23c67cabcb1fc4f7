"""Sealed fields: values only the server can read back (AES-256-GCM under a key derived from the secret).

The reporter's contact is sealed before it reaches the database, so a database dump or backup does not
expose who reported whom; only the running server, for an admin paying a reward, opens it. Rotating
SAFEGRID_SECRET_KEY makes sealed values unreadable, like the receipts keyed by the same secret.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from api.config import Settings

_PREFIX = "v1."


class SealBroken(ValueError):
    """The value was sealed under another secret, or altered."""


def _aead(settings: Settings, purpose: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"safegrid:{purpose}".encode()).derive(
        settings.secret_key.encode()
    )
    return AESGCM(key)


def seal(settings: Settings, purpose: str, value: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead(settings, purpose).encrypt(nonce, value.encode(), purpose.encode())
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(settings: Settings, purpose: str, token: str) -> str:
    if not token.startswith(_PREFIX):
        raise SealBroken("not a sealed value")
    try:
        raw = base64.urlsafe_b64decode(token[len(_PREFIX) :].encode())
        return _aead(settings, purpose).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
    except (InvalidTag, ValueError) as exc:  # binascii.Error and a short nonce are ValueErrors
        raise SealBroken("sealed under another secret, or altered") from exc
