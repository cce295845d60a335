"""`marketplace license`: the reference license client (``clients/fastvue_license``) as
an operator runs it, and the endorsement that lets instances follow a key rotation."""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastvue_license import (
    AnswerCache,
    Instance,
    LicenseClient,
    LicenseResult,
    TrustStore,
    load_public_keys,
)
from integrations.license_signing import endorse
from integrations.wiring import license_keyring_from
from settings import Settings


@dataclass(frozen=True)
class CheckRequest:
    api: str
    instance: Instance
    pinned_keys: Path
    cache: Path | None
    learned_keys: Path | None
    activate: bool = False
    offline_only: bool = False
    offline_file: Path | None = None


def trust_store(pinned_keys: Path, learned_keys: Path | None) -> TrustStore:
    """ValueError when the pinned keys cannot be read or hold no Ed25519 key."""
    try:
        text = pinned_keys.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read the pinned keys: {error}") from None
    return TrustStore(load_public_keys(text), learned_path=learned_keys)


def check(request: CheckRequest) -> LicenseResult:
    """Activate (when asked), then check: an offline file, the cache only, or online with
    the cache as fallback."""
    learned = request.learned_keys
    if learned is None and request.cache is not None:
        learned = request.cache.with_name(request.cache.name + ".keys.json")
    client = LicenseClient(
        request.api,
        request.instance,
        trust=trust_store(request.pinned_keys, learned),
        cache=AnswerCache(request.cache) if request.cache is not None else None,
    )
    if request.offline_file is not None:
        return client.check_offline_file(request.offline_file)
    if request.offline_only:
        return client.check_cached()

    async def online() -> LicenseResult:
        if request.activate:
            activated = await client.activate()
            if not activated.valid:
                return activated
        return await client.check()

    return asyncio.run(online())


def describe(result: LicenseResult) -> str:
    verdict = "VALID" if result.valid else "INVALID"
    return f"{verdict} {result.code} ({result.source}): {result.detail}"


def endorsement(settings: Settings, new_public_pem: str) -> str:
    """The configured license key's endorsement of ``new_public_pem``, as one JSON line."""
    ring = license_keyring_from(settings)
    return json.dumps(endorse(ring, new_public_pem, datetime.now(UTC)))
