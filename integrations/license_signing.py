"""Ed25519 signing of license answers and offline license files, with key rotation.

The signature covers the canonical bytes of a ``domain.licensing`` document (sorted-key
JSON, UTF-8), and a signed document carries that exact text, so any Ed25519 library can
check it, and so can stock OpenSSL with the published public key::

    openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in payload -sigfile sig

(``payload``: the document's ``payload`` text; ``sig``: its ``signature``, base64-decoded.)

Rotation works as for module signing (``integrations.signing``): the current private key
signs, retired public keys still verify what they signed, and each key is named by
``key_id`` so verification never has to guess. The production key comes from settings; the
embedded default generates a development key once under the data directory and reuses it.
"""

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from domain.errors import DomainError
from domain.licensing import (
    OfflineLicense,
    SignedDocument,
    canonical_json,
    parse_signed_payload,
)
from integrations.private_files import create_once
from integrations.signing import PublicKeyInfo

ALGORITHM = "ed25519"
DEV_KEY_PATH = Path("keys") / "license-key.pem"

Document = TypeVar("Document", bound=SignedDocument)


@dataclass(frozen=True)
class SignedPayload:
    key_id: str
    signature_b64: str
    algorithm: str = ALGORITHM


def key_id(public_key: ed25519.Ed25519PublicKey) -> str:
    """First 16 hex characters of the SHA-256 of the key's DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def public_pem(public_key: ed25519.Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _verify(public_key: ed25519.Ed25519PublicKey, payload: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return False
    try:
        public_key.verify(signature, payload)
    except InvalidSignature:
        return False
    return True


def _require_ed25519(key: object, what: str) -> None:
    if not isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        raise ValueError(f"{what} must be an Ed25519 key, got {type(key).__name__}")


def _pem_bytes(pem: str) -> bytes:
    # A PEM pasted into one environment variable often arrives with literal "\n".
    if "\\n" in pem and "\n" not in pem.strip():
        pem = pem.replace("\\n", "\n")
    return pem.strip().encode() + b"\n"


def load_private_key(
    pem: str, *, what: str = "license signing private key"
) -> ed25519.Ed25519PrivateKey:
    """Parse an unencrypted PEM private key; ValueError unless it is an Ed25519 key."""
    try:
        key = serialization.load_pem_private_key(_pem_bytes(pem), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(f"{what}: not a valid unencrypted PEM private key ({error})") from None
    _require_ed25519(key, what)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key


def load_public_key(
    pem: str, *, what: str = "license signing public key"
) -> ed25519.Ed25519PublicKey:
    """Parse a PEM SubjectPublicKeyInfo; ValueError unless it is an Ed25519 key."""
    try:
        key = serialization.load_pem_public_key(_pem_bytes(pem))
    except (ValueError, UnsupportedAlgorithm) as error:
        raise ValueError(f"{what}: not a valid PEM public key ({error})") from None
    _require_ed25519(key, what)
    assert isinstance(key, ed25519.Ed25519PublicKey)
    return key


def verify_with_public_pem(payload: bytes, signature_b64: str, pem: str) -> bool:
    """Check a signature against one published public key. A malformed signature is
    False; a malformed key is a ValueError."""
    return _verify(load_public_key(pem), payload, signature_b64)


@overload
def verify_document(doc: Any, public_pem: str) -> SignedDocument | None: ...
@overload
def verify_document(doc: Any, public_pem: str, expected: type[Document]) -> Document | None: ...
def verify_document(
    doc: Any, public_pem: str, expected: type[SignedDocument] | None = None
) -> SignedDocument | None:
    """The document ``doc`` (as made by ``LicenseKeyRing.sign_document``) carries, if the
    key ``public_pem`` signed it; None if the signature, the payload or (with ``expected``)
    its kind is wrong. The ``key_id`` beside the signature is only a hint for picking the
    key and is not trusted; an offline license must name the key that signed it.

    A malformed ``public_pem`` is a ValueError, not None: that is the verifier's mistake.
    """
    public_key = load_public_key(public_pem)
    if not isinstance(doc, Mapping):
        return None
    payload, signature = doc.get("payload"), doc.get("signature")
    if not isinstance(payload, str) or not isinstance(signature, str):
        return None
    try:
        payload_bytes = payload.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if not _verify(public_key, payload_bytes, signature):
        return None
    try:
        document = parse_signed_payload(payload_bytes)
    except DomainError:
        return None
    if expected is not None and not isinstance(document, expected):
        return None
    if isinstance(document, OfflineLicense) and document.key_id != key_id(public_key):
        return None
    return document


class LicenseKeyRing:
    def __init__(
        self,
        current: ed25519.Ed25519PrivateKey,
        retired: list[ed25519.Ed25519PublicKey] | None = None,
    ) -> None:
        _require_ed25519(current, "current license signing key")
        for public_key in retired or []:
            _require_ed25519(public_key, "retired license signing key")
        self.current = current
        self.key_id = key_id(current.public_key())
        self._public: dict[str, ed25519.Ed25519PublicKey] = {}
        for public_key in retired or []:
            self._public.setdefault(key_id(public_key), public_key)
        # The current key wins if it is also listed as retired.
        self._public.pop(self.key_id, None)
        self._retired_ids = list(self._public)
        self._public[self.key_id] = current.public_key()

    @classmethod
    def from_settings(
        cls, private_key_pem: str | None, retired_public_pems: list[str], data_dir: Path
    ) -> "LicenseKeyRing":
        if private_key_pem:
            current = load_private_key(private_key_pem)
        else:
            current = _dev_key(data_dir / DEV_KEY_PATH)
        retired = [
            load_public_key(pem, what=f"retired license signing key #{number}")
            for number, pem in enumerate(retired_public_pems, start=1)
        ]
        return cls(current, retired)

    def sign(self, payload: bytes) -> SignedPayload:
        signature = self.current.sign(payload)
        return SignedPayload(key_id=self.key_id, signature_b64=base64.b64encode(signature).decode())

    def verify(self, payload: bytes, signature_b64: str, key_id: str) -> bool:
        """True when the key named ``key_id`` (current or retired) signed ``payload``."""
        public_key = self._public.get(key_id)
        return public_key is not None and _verify(public_key, payload, signature_b64)

    def public_keys(self) -> list[PublicKeyInfo]:
        """The current key first, then the retired ones in the order given."""
        current = PublicKeyInfo(self.key_id, public_pem(self.current.public_key()), "current")
        retired = [
            PublicKeyInfo(i, public_pem(self._public[i]), "retired") for i in self._retired_ids
        ]
        return [current, *retired]

    def sign_document(self, document: SignedDocument) -> dict[str, str]:
        """``{"payload": canonical JSON text, "signature": base64, "key_id": ...}``.

        An offline license must name the current key in its ``key_id`` (ValueError if not),
        so the signed file itself says which key checks it."""
        if not isinstance(document, SignedDocument):
            raise TypeError(f"cannot sign a {type(document).__name__}")
        if isinstance(document, OfflineLicense) and document.key_id != self.key_id:
            raise ValueError(
                f"the offline license names key {document.key_id}, the current key is {self.key_id}"
            )
        payload = canonical_json(document)
        signed = self.sign(payload.encode("utf-8"))
        return {"payload": payload, "signature": signed.signature_b64, "key_id": signed.key_id}


def _dev_key(path: Path) -> ed25519.Ed25519PrivateKey:
    """The development key at ``path``, generated once (see ``create_once``)."""

    def generate() -> bytes:
        return ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    pem = create_once(path, generate)
    return load_private_key(pem.decode(), what=f"development license signing key {path}")
