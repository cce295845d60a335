"""Keeping license keys readable for their owner only: AES-256-GCM at rest.

Lookups use the key's SHA-256 (``domain.licensing.license_key_hash``); the ciphertext is
only opened to show the owner their own key.
"""

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.licensing import license_key_hash, new_license_key

NONCE_BYTES = 12


class LicenseVault:
    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("the license key encryption secret needs 32+ characters")
        self._aead = AESGCM(hashlib.sha256(secret.encode()).digest())

    def seal(self, license_key: str, *, bound_to: str) -> str:
        """Encrypt ``license_key``; ``bound_to`` (its hash) is authenticated alongside, so
        a ciphertext moved to another row does not open."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, license_key.encode(), bound_to.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, token: str, *, bound_to: str) -> str | None:
        try:
            raw = base64.b64decode(token, validate=True)
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to.encode())
        except (ValueError, InvalidTag):
            return None
        return plain.decode()

    def new_key_columns(self) -> dict[str, str]:
        """A fresh license key as a license row stores it: hash, ciphertext, last group."""
        key = new_license_key()
        digest = license_key_hash(key)
        return {
            "license_key": digest,
            "key_ciphertext": self.seal(key, bound_to=digest),
            "key_last": key[-5:],
        }
