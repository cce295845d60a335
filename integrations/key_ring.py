"""One key ring for every signing key we rotate: the module signing key (ECDSA P-256,
``integrations.signing``) and the license signing key (Ed25519,
``integrations.license_signing``).

A ring holds the current private key, which signs, and the retired public keys, which still
verify what they signed before. Each key is named by ``key_id`` (the first 16 hex characters
of the SHA-256 of its DER SubjectPublicKeyInfo), stored beside every signature, so
verification never has to guess which key to try. The production key comes from settings
(a PEM in the environment or a file); the embedded default generates a development key once
under the data directory (``create_once``) and reuses it.

What differs between the two rings is only the algorithm, a ``KeyKind``: which keys it
takes, how it makes a new one, how it signs and verifies bytes, and the words its errors use.
"""

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from integrations.private_files import create_once

PrivateKey = TypeVar("PrivateKey", bound=PrivateKeyTypes)
PublicKey = TypeVar("PublicKey", bound=PublicKeyTypes)


@dataclass(frozen=True)
class PublicKeyInfo:
    key_id: str
    pem: str
    status: Literal["current", "retired"]


@dataclass(frozen=True)
class KeyKind(Generic[PrivateKey, PublicKey]):
    """One signature algorithm, as a ring needs it."""

    label: str
    """How errors name the key: ``"signing"`` gives "retired signing key #2"."""
    check: Callable[[object, str], None]
    """Raise ValueError (naming the key ``what``) unless it is a key of this kind."""
    generate: Callable[[], PrivateKey]
    sign: Callable[[PrivateKey, bytes], bytes]
    verify: Callable[[PublicKey, bytes, bytes], None]
    """Raise ``InvalidSignature`` unless the signature is good."""

    def load_private_key(self, pem: str, *, what: str | None = None) -> PrivateKey:
        """Parse an unencrypted PEM private key; ValueError unless it is of this kind."""
        what = what or f"{self.label} private key"
        try:
            key = serialization.load_pem_private_key(pem_bytes(pem), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as error:
            raise ValueError(f"{what}: not a valid unencrypted PEM private key ({error})") from None
        self.check(key, what)
        return key  # type: ignore[return-value]

    def load_public_key(self, pem: str, *, what: str | None = None) -> PublicKey:
        """Parse a PEM SubjectPublicKeyInfo; ValueError unless it is of this kind."""
        what = what or f"{self.label} public key"
        try:
            key = serialization.load_pem_public_key(pem_bytes(pem))
        except (ValueError, UnsupportedAlgorithm) as error:
            raise ValueError(f"{what}: not a valid PEM public key ({error})") from None
        self.check(key, what)
        return key  # type: ignore[return-value]

    def verifies(self, public_key: PublicKey, message: bytes, signature_b64: str) -> bool:
        """True when ``signature_b64`` is the key's signature of ``message``; a malformed
        signature is False, never an error."""
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError, TypeError):
            return False
        try:
            self.verify(public_key, signature, message)
        except InvalidSignature:
            return False
        return True

    def dev_key(self, path: Path) -> PrivateKey:
        """The development key at ``path``, generated once (see ``create_once``)."""

        def generate() -> bytes:
            return self.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )

        pem = create_once(path, generate)
        return self.load_private_key(pem.decode(), what=f"development {self.label} key {path}")


def pem_bytes(pem: str) -> bytes:
    # A PEM pasted into one environment variable often arrives with literal "\n".
    if "\\n" in pem and "\n" not in pem.strip():
        pem = pem.replace("\\n", "\n")
    return pem.strip().encode() + b"\n"


def key_id(public_key: PublicKeyTypes) -> str:
    """First 16 hex characters of the SHA-256 of the key's DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def public_pem(public_key: PublicKeyTypes) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class SigningKeyRing(Generic[PrivateKey, PublicKey]):
    """The current key and the retired public keys of one ``KeyKind``. Subclasses say
    what they sign (files, documents) and where the development key lives."""

    kind: ClassVar[KeyKind[Any, Any]]
    dev_key_path: ClassVar[Path]
    """Under the data directory; existing data directories keep their keys here."""

    def __init__(self, current: PrivateKey, retired: Sequence[PublicKey] | None = None) -> None:
        label = self.kind.label
        self.kind.check(current, f"current {label} key")
        for public_key in retired or []:
            self.kind.check(public_key, f"retired {label} key")
        self.current = current
        self.current_key_id = key_id(current.public_key())
        self._public: dict[str, PublicKey] = {}
        for public_key in retired or []:
            self._public.setdefault(key_id(public_key), public_key)
        # The current key wins if it is also listed as retired.
        self._public.pop(self.current_key_id, None)
        self._retired_ids = list(self._public)
        # The public half of a PrivateKey is a PublicKey of the same kind.
        self._public[self.current_key_id] = current.public_key()  # type: ignore[assignment]

    @classmethod
    def from_settings(
        cls, private_key_pem: str | None, retired_public_pems: list[str], data_dir: Path
    ) -> Self:
        """The configured key, else the development key under ``data_dir``; the retired
        public keys in the order given."""
        kind = cls.kind
        if private_key_pem:
            current = kind.load_private_key(private_key_pem)
        else:
            current = kind.dev_key(data_dir / cls.dev_key_path)
        retired = [
            kind.load_public_key(pem, what=f"retired {kind.label} key #{number}")
            for number, pem in enumerate(retired_public_pems, start=1)
        ]
        return cls(current, retired)

    def sign_message(self, message: bytes) -> str:
        """The current key's signature of ``message``, base64."""
        return base64.b64encode(self.kind.sign(self.current, message)).decode()

    def verify_message(self, message: bytes, signature_b64: str, key_id: str) -> bool:
        """True when the key named ``key_id`` (current or retired) signed ``message``."""
        public_key = self._public.get(key_id)
        return public_key is not None and self.kind.verifies(public_key, message, signature_b64)

    def public_keys(self) -> list[PublicKeyInfo]:
        """The current key first, then the retired ones in the order given."""
        current = PublicKeyInfo(
            self.current_key_id,
            public_pem(self.current.public_key()),
            "current",
        )
        retired = [
            PublicKeyInfo(i, public_pem(self._public[i]), "retired") for i in self._retired_ids
        ]
        return [current, *retired]
