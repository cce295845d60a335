"""Which marketplace keys this instance trusts: pinned ones, and those a trusted key endorsed.

**Pinning.** An instance ships with (or is configured with) the marketplace's license
signing public keys: ``TrustStore(pinned=...)``. A key id is the first 16 hex characters
of the SHA-256 of the key's DER SubjectPublicKeyInfo, as the marketplace names them. The
keys the marketplace lists at ``GET /licenses/public-key`` are *not* trusted for being
listed there: whoever can answer for the marketplace could list any key.

**Rotation.** A new key is trusted only if it is pinned, or if a key already trusted
*endorsed* it: a signed ``license_key_endorsement`` (canonical JSON, contract 1)::

    {"contract": 1, "issued_at": "...Z", "key_id": "<id of the endorsing key>",
     "kind": "license_key_endorsement", "new_key_id": "<id of the new key>",
     "new_public_key_pem": "-----BEGIN PUBLIC KEY-----\\n..."}

The marketplace operator makes it with the old key while that key still signs (``marketplace
license endorse-key``), and the marketplace publishes it at
``GET /licenses/key-endorsements``. The client fetches that list when an answer names a key
it does not know, follows chains (A endorses B, B endorses C), and remembers what it learnt
in a file of endorsements, which is checked again from the pinned keys every time it is read
(editing it cannot add a key). Compromise of a pinned key is outside what rotation can
repair: ship new pins then.
"""

import json
from collections.abc import Iterable, Mapping
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fastvue_license.documents import KeyLookup, open_envelope, parse_time, text_field
from fastvue_license.errors import LicenseError, MalformedDocument
from fastvue_license.files import read_json, write_private

ENDORSEMENT = "license_key_endorsement"
ENDORSEMENT_CONTRACTS = frozenset({1})
_PEM_BLOCK = "-----END PUBLIC KEY-----"


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex characters of the SHA-256 of the key's DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sha256(der).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(pem: str) -> Ed25519PublicKey:
    """One PEM public key; ValueError unless it is an Ed25519 key."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode() + b"\n")
    except (ValueError, TypeError) as error:
        raise ValueError(f"not a PEM public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"not an Ed25519 key but {type(key).__name__}")
    return key


def load_public_keys(text: str) -> list[Ed25519PublicKey]:
    """Pinned keys as they are written down: one or more PEM blocks one after the other,
    or the JSON list ``GET /licenses/public-key`` answers (``public_key_pem`` of each)."""
    stripped = text.strip()
    if stripped.startswith("["):
        entries = json.loads(stripped)
        if not isinstance(entries, list) or not all(
            isinstance(entry, Mapping) and isinstance(entry.get("public_key_pem"), str)
            for entry in entries
        ):
            raise ValueError("a JSON key list is a list of objects with public_key_pem")
        pems = [entry["public_key_pem"] for entry in entries]
    else:
        pems = [block + _PEM_BLOCK for block in stripped.split(_PEM_BLOCK) if block.strip()]
    if not pems:
        raise ValueError("no public key given")
    return [load_public_key(pem) for pem in pems]


class TrustStore:
    """The pinned keys and, through endorsements, the keys they vouch for."""

    def __init__(
        self, pinned: Iterable[Ed25519PublicKey], *, learned_path: Path | None = None
    ) -> None:
        self._pinned = {key_id(key): key for key in pinned}
        if not self._pinned:
            raise ValueError("at least one key must be pinned")
        self._trusted = dict(self._pinned)
        self._endorsements: dict[str, dict[str, Any]] = {}
        self.learned_path = learned_path
        if learned_path is not None:
            learned = read_json(learned_path)
            if isinstance(learned, list):
                self.accept_endorsements(learned, remember=False)

    @property
    def pinned_ids(self) -> frozenset[str]:
        return frozenset(self._pinned)

    @property
    def trusted_ids(self) -> frozenset[str]:
        return frozenset(self._trusted)

    def key(self, kid: str) -> Ed25519PublicKey | None:
        return self._trusted.get(kid)

    def accept_endorsements(
        self, envelopes: Iterable[object], *, remember: bool = True
    ) -> set[str]:
        """Trust the keys that trusted keys endorsed, following chains; the ids of keys
        trusted now that were not before. Endorsements that do not verify (yet, or ever)
        are skipped; ``remember`` writes the ones that did to ``learned_path``."""
        pending = list(envelopes)
        added: set[str] = set()
        progress = True
        while pending and progress:
            progress = False
            for envelope in list(pending):
                try:
                    new_id, new_key = _endorsed_key(envelope, self.key)
                except LicenseError:
                    continue  # perhaps endorsed by a key a later entry brings in
                pending.remove(envelope)
                progress = True
                if new_id not in self._trusted:
                    self._trusted[new_id] = new_key
                    added.add(new_id)
                assert isinstance(envelope, Mapping)
                self._endorsements.setdefault(new_id, dict(envelope))
        if added and remember and self.learned_path is not None:
            write_private(
                self.learned_path,
                json.dumps(list(self._endorsements.values()), indent=1, sort_keys=True),
            )
        return added


def _endorsed_key(envelope: object, keys: KeyLookup) -> tuple[str, Ed25519PublicKey]:
    document, _ = open_envelope(
        envelope, keys, kinds=frozenset({ENDORSEMENT}), contracts=ENDORSEMENT_CONTRACTS
    )
    parse_time(document.get("issued_at"), "issued_at")
    pem = text_field(document, "new_public_key_pem")
    assert pem is not None
    try:
        new_key = load_public_key(pem)
    except ValueError as error:
        raise MalformedDocument(f"the endorsed key is unusable: {error}") from None
    if key_id(new_key) != document.get("new_key_id"):
        raise MalformedDocument("the endorsed key id does not match its public key")
    return key_id(new_key), new_key
