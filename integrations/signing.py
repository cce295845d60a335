"""ECDSA P-256 code signing of module archives, with key rotation.

A signature is ECDSA over the archive's SHA-256, DER-encoded, so anyone can check a download
with stock OpenSSL and the published public key::

    openssl dgst -sha256 -verify pub.pem -signature sig.der module.zip

Rotation: the current private key signs; retired public keys still verify what they signed
before. Each key is named by ``key_id`` (stored beside every signature), so verification
never has to guess which key to try.

The production key comes from settings (a PEM in the environment or a file); the embedded
default generates a development key once under the data directory and reuses it.
"""

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from integrations.private_files import create_once

ALGORITHM = "ecdsa-p256-sha256"
CHUNK_SIZE = 1024 * 1024
DEV_KEY_PATH = Path("keys") / "signing-key.pem"

_SIGNATURE = ec.ECDSA(Prehashed(hashes.SHA256()))


@dataclass(frozen=True)
class FileSignature:
    key_id: str
    signature_b64: str
    algorithm: str = ALGORITHM


@dataclass(frozen=True)
class PublicKeyInfo:
    key_id: str
    pem: str
    status: Literal["current", "retired"]


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """First 16 hex characters of the SHA-256 of the key's DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def public_pem(public_key: ec.EllipticCurvePublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def file_sha256(path: Path) -> bytes:
    """The SHA-256 digest of a file, read in chunks (archives can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.digest()


def _verify(public_key: ec.EllipticCurvePublicKey, path: Path, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(signature, file_sha256(path), _SIGNATURE)
    except InvalidSignature:
        return False
    return True


def _require_p256(key: object, what: str) -> None:
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        raise ValueError(f"{what} must be an ECDSA P-256 key, got {type(key).__name__}")
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{what} must be on curve P-256 (secp256r1), got {key.curve.name}")


def _pem_bytes(pem: str) -> bytes:
    # A PEM pasted into one environment variable often arrives with literal "\n".
    if "\\n" in pem and "\n" not in pem.strip():
        pem = pem.replace("\\n", "\n")
    return pem.strip().encode() + b"\n"


def load_private_key(pem: str, *, what: str = "signing private key") -> ec.EllipticCurvePrivateKey:
    """Parse an unencrypted PEM private key; ValueError unless it is a P-256 key."""
    try:
        key = serialization.load_pem_private_key(_pem_bytes(pem), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(f"{what}: not a valid unencrypted PEM private key ({error})") from None
    _require_p256(key, what)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_public_key(pem: str, *, what: str = "signing public key") -> ec.EllipticCurvePublicKey:
    """Parse a PEM SubjectPublicKeyInfo; ValueError unless it is a P-256 key."""
    try:
        key = serialization.load_pem_public_key(_pem_bytes(pem))
    except (ValueError, UnsupportedAlgorithm) as error:
        raise ValueError(f"{what}: not a valid PEM public key ({error})") from None
    _require_p256(key, what)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def verify_with_public_pem(path: Path, signature_b64: str, pem: str) -> bool:
    """Check a signature against one published public key (what ``marketplace verify``
    does). A malformed signature is False; a malformed key is a ValueError."""
    return _verify(load_public_key(pem), path, signature_b64)


class KeyRing:
    def __init__(
        self,
        current: ec.EllipticCurvePrivateKey,
        retired: list[ec.EllipticCurvePublicKey] | None = None,
    ) -> None:
        _require_p256(current, "current signing key")
        for public_key in retired or []:
            _require_p256(public_key, "retired signing key")
        self.current = current
        self.current_key_id = key_id(current.public_key())
        self._public: dict[str, ec.EllipticCurvePublicKey] = {}
        for public_key in retired or []:
            self._public.setdefault(key_id(public_key), public_key)
        # The current key wins if it is also listed as retired.
        self._public.pop(self.current_key_id, None)
        self._retired_ids = list(self._public)
        self._public[self.current_key_id] = current.public_key()

    @classmethod
    def from_settings(
        cls, private_key_pem: str | None, retired_public_pems: list[str], data_dir: Path
    ) -> "KeyRing":
        if private_key_pem:
            current = load_private_key(private_key_pem)
        else:
            current = _dev_key(data_dir / DEV_KEY_PATH)
        retired = [
            load_public_key(pem, what=f"retired signing key #{number}")
            for number, pem in enumerate(retired_public_pems, start=1)
        ]
        return cls(current, retired)

    def sign_file(self, path: Path) -> FileSignature:
        signature = self.current.sign(file_sha256(path), _SIGNATURE)
        return FileSignature(
            key_id=self.current_key_id, signature_b64=base64.b64encode(signature).decode()
        )

    def verify_file(self, path: Path, signature_b64: str, key_id: str) -> bool:
        """True when the key named ``key_id`` (current or retired) signed this file."""
        public_key = self._public.get(key_id)
        return public_key is not None and _verify(public_key, path, signature_b64)

    def public_keys(self) -> list[PublicKeyInfo]:
        """The current key first, then the retired ones in the order given."""
        current = PublicKeyInfo(
            self.current_key_id, public_pem(self.current.public_key()), "current"
        )
        retired = [
            PublicKeyInfo(i, public_pem(self._public[i]), "retired") for i in self._retired_ids
        ]
        return [current, *retired]


def _dev_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The development key at ``path``, generated once (see ``create_once``)."""

    def generate() -> bytes:
        return ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    pem = create_once(path, generate)
    return load_private_key(pem.decode(), what=f"development signing key {path}")
