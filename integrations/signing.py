"""ECDSA P-256 code signing of module archives, with key rotation.

A version's signature is ECDSA with SHA-256 over its signed statement (module, technical
name, version and the archive's SHA-256: ``domain.module_signature``), DER-encoded, so
anyone can check a download with stock OpenSSL and the published public key::

    openssl dgst -sha256 -verify pub.pem -signature sig.der statement.txt

Versions signed before statements existed carry the legacy form, ECDSA over the archive's
SHA-256 (``openssl dgst -sha256 -verify pub.pem -signature sig.der module.zip``); both
verify here (``verify_file`` / ``verify_statement``).

Rotation, key ids and the development key are the shared ``integrations.key_ring``: the
current private key signs; retired public keys still verify what they signed before. The
development key lives at ``data_dir/keys/signing-key.pem``.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from integrations.key_ring import KeyKind, PublicKeyInfo, SigningKeyRing, key_id, public_pem

__all__ = [
    "ALGORITHM",
    "DEV_KEY_PATH",
    "ECDSA_P256",
    "FileSignature",
    "KeyRing",
    "PublicKeyInfo",
    "file_sha256",
    "key_id",
    "load_private_key",
    "load_public_key",
    "public_pem",
    "statement_verifies_with_public_pem",
    "verify_with_public_pem",
]

ALGORITHM = "ecdsa-p256-sha256"
CHUNK_SIZE = 1024 * 1024
DEV_KEY_PATH = Path("keys") / "signing-key.pem"

_SIGNATURE = ec.ECDSA(Prehashed(hashes.SHA256()))


def _require_p256(key: object, what: str) -> None:
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        raise ValueError(f"{what} must be an ECDSA P-256 key, got {type(key).__name__}")
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{what} must be on curve P-256 (secp256r1), got {key.curve.name}")


ECDSA_P256: KeyKind[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey] = KeyKind(
    label="signing",
    check=_require_p256,
    generate=lambda: ec.generate_private_key(ec.SECP256R1()),
    # The message is the file's SHA-256 digest (``Prehashed``), so openssl's dgst agrees.
    sign=lambda key, digest: key.sign(digest, _SIGNATURE),
    verify=lambda key, signature, digest: key.verify(signature, digest, _SIGNATURE),
)


@dataclass(frozen=True)
class FileSignature:
    key_id: str
    signature_b64: str
    algorithm: str = ALGORITHM


def file_sha256(path: Path) -> bytes:
    """The SHA-256 digest of a file, read in chunks (archives can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.digest()


def load_private_key(pem: str, *, what: str = "signing private key") -> ec.EllipticCurvePrivateKey:
    """Parse an unencrypted PEM private key; ValueError unless it is a P-256 key."""
    return ECDSA_P256.load_private_key(pem, what=what)


def load_public_key(pem: str, *, what: str = "signing public key") -> ec.EllipticCurvePublicKey:
    """Parse a PEM SubjectPublicKeyInfo; ValueError unless it is a P-256 key."""
    return ECDSA_P256.load_public_key(pem, what=what)


def verify_with_public_pem(path: Path, signature_b64: str, pem: str) -> bool:
    """Check a signature against one published public key (what ``marketplace verify``
    does). A malformed signature is False; a malformed key is a ValueError."""
    return ECDSA_P256.verifies(load_public_key(pem), file_sha256(path), signature_b64)


def _statement_digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def statement_verifies_with_public_pem(text: str, signature_b64: str, pem: str) -> bool:
    """Check a v2 signature of the statement ``text`` against one published public key. A
    malformed signature is False; a malformed key is a ValueError."""
    return ECDSA_P256.verifies(load_public_key(pem), _statement_digest(text), signature_b64)


class KeyRing(SigningKeyRing[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey]):
    """The module signing keys: signs archives, verifies with the current or a retired key."""

    kind = ECDSA_P256
    dev_key_path = DEV_KEY_PATH

    def sign_file(self, path: Path) -> FileSignature:
        return FileSignature(
            key_id=self.current_key_id, signature_b64=self.sign_message(file_sha256(path))
        )

    def verify_file(self, path: Path, signature_b64: str, key_id: str) -> bool:
        """True when the key named ``key_id`` (current or retired) signed this file's hash
        (the legacy, hash-only form)."""
        if key_id not in self._public:
            return False
        return self.verify_message(file_sha256(path), signature_b64, key_id)

    def sign_statement(self, text: str) -> FileSignature:
        """The current key's signature of a statement (``domain.module_signature``):
        ECDSA over the SHA-256 of its UTF-8 bytes, what ``openssl dgst -sha256`` checks."""
        return FileSignature(
            key_id=self.current_key_id, signature_b64=self.sign_message(_statement_digest(text))
        )

    def verify_statement(self, text: str, signature_b64: str, key_id: str) -> bool:
        """True when the key named ``key_id`` (current or retired) signed this statement."""
        return self.verify_message(_statement_digest(text), signature_b64, key_id)
