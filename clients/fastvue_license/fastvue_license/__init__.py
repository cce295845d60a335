"""fastvue-license: the reference license client of the FastVue Marketplace.

An installed FastVue instance activates its license, verifies it online with a fresh nonce,
checks every answer's Ed25519 signature against pinned keys (and keys those endorsed),
keeps the last granted answer for offline grace until its ``valid_until``, and reads
offline license files. It depends on ``cryptography``, ``httpx`` and ``idna`` only.
"""

from fastvue_license.answers import (
    CONTRACTS,
    Answer,
    Instance,
    OfflineLicense,
    mask_license_key,
    normalize_domain,
    normalize_license_key,
)
from fastvue_license.cache import AnswerCache
from fastvue_license.client import LicenseClient, LicenseResult, new_nonce, read_offline_license
from fastvue_license.errors import (
    AnswerMismatch,
    DomainMismatch,
    InvalidSignature,
    LicenseError,
    MalformedDocument,
    RequestRefused,
    ServerUnreachable,
    StaleDocument,
    UnknownKey,
    UnsupportedContract,
)
from fastvue_license.keys import TrustStore, key_id, load_public_key, load_public_keys

__version__ = "0.1.0"
__all__ = [
    "CONTRACTS",
    "Answer",
    "AnswerCache",
    "AnswerMismatch",
    "DomainMismatch",
    "Instance",
    "InvalidSignature",
    "LicenseClient",
    "LicenseError",
    "LicenseResult",
    "MalformedDocument",
    "OfflineLicense",
    "RequestRefused",
    "ServerUnreachable",
    "StaleDocument",
    "TrustStore",
    "UnknownKey",
    "UnsupportedContract",
    "key_id",
    "load_public_key",
    "load_public_keys",
    "mask_license_key",
    "new_nonce",
    "normalize_domain",
    "normalize_license_key",
    "read_offline_license",
]
