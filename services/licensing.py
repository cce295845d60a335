"""Licenses: the owner's list and details, and what installed FastVue instances do with a
key alone (activate, deactivate, verify), answered with Ed25519-signed documents; the
signed offline file for air-gapped instances.

Verify is the hot path (every installed instance, all day): one repository round trip that
reads the license, its module and seats and touches the caller's seat, then the signed
answer. Keep it so: no other query, no model built twice."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, NotFound
from domain.licensing import (
    ActivationOutcome,
    OfflineLicense,
    VerificationAnswer,
    VerifyCode,
    answer_valid_until,
    decide_activation,
    decide_verification,
    license_key_hash,
    mask_license_key,
    normalize_license_key,
)
from integrations.license_signing import LicenseKeyRing
from integrations.license_vault import LicenseVault
from integrations.signing import PublicKeyInfo
from models.commerce import License, LicenseActivation
from models.module import MarketplaceModule
from models.repositories import audit, licenses
from models.user import User
from settings import Settings


@dataclass(frozen=True, slots=True)
class LicenseKey:
    """A key as an instance sent it: its canonical form, and the hash it is stored under."""

    normalized: str
    key_hash: str

    @classmethod
    def of(cls, text: str) -> "LicenseKey":
        """``malformed_license_key`` when ``text`` is no license key."""
        normalized = normalize_license_key(text)
        return cls(normalized, license_key_hash(normalized))


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed document: ``payload`` is the canonical JSON text the Ed25519
    ``signature`` (base64) covers, made with the key ``key_id``."""

    payload: str
    signature: str
    key_id: str


@dataclass(frozen=True)
class Activated:
    signed: Signed
    answer: VerificationAnswer
    outcome: ActivationOutcome


@dataclass(frozen=True)
class LicenseView:
    """A license as its owner (or the instance holding its key) sees it; ``shown_key`` is
    the full key for its owner, else masked."""

    license: License
    module: MarketplaceModule
    shown_key: str
    active_instances: int = 0


def _owner_key(vault: LicenseVault, row: License) -> str:
    """The full key, opened from its ciphertext for the owner's eyes only."""
    if not row.key_ciphertext:
        return ""
    return vault.open(row.key_ciphertext, bound_to=row.license_key) or ""


async def owned_licenses(
    session: AsyncSession, user_id: int, *, vault: LicenseVault
) -> list[LicenseView]:
    owned = await licenses.of_user(session, user_id)
    active = await licenses.active_activation_counts(session, [row.id for row, _ in owned])
    return [
        LicenseView(row, module, _owner_key(vault, row), active.get(row.id, 0))
        for row, module in owned
    ]


def public_keys(license_keys: LicenseKeyRing) -> list[PublicKeyInfo]:
    """Ed25519 keys that sign verify answers and offline licenses, current first."""
    return license_keys.public_keys()


def key_endorsements(license_keys: LicenseKeyRing) -> list[dict[str, str]]:
    """Signed endorsements of newer keys by older ones: how instances that pinned an old
    key come to trust its successor (``domain.license_keys``)."""
    return list(license_keys.endorsements)


async def owned_license(session: AsyncSession, user_id: int, key: str) -> License:
    """The caller's license by its key; another's is as absent as a missing one."""
    row = await licenses.by_key_hash(session, license_key_hash(normalize_license_key(key)))
    if row is None or row.user_id != user_id:
        raise NotFound("license_not_found", "no such license among yours")
    return row


async def details(session: AsyncSession, user_id: int, key: str) -> LicenseView:
    row = await owned_license(session, user_id, key)
    module = await licenses.module_of(session, row)
    active = await licenses.active_activations(session, row.id)
    return LicenseView(row, module, normalize_license_key(key), len(active))


def _answer(
    license_keys: LicenseKeyRing,
    settings: Settings,
    *,
    expires_at: datetime | None,
    module_name: str | None,
    key: str,
    instance_id: str,
    nonce: str | None,
    code: VerifyCode,
    now: datetime,
) -> tuple[Signed, VerificationAnswer]:
    answer = VerificationAnswer(
        code=code,
        license_key=mask_license_key(key),
        module=module_name,
        expires_at=expires_at,
        instance_id=instance_id,
        issued_at=now,
        valid_until=answer_valid_until(
            now,
            expires_at if code is VerifyCode.VALID else None,
            settings.license_answer_cache,
        ),
        nonce=nonce,
    )
    return Signed(**license_keys.sign_document(answer)), answer


async def verify(
    session: AsyncSession,
    key: LicenseKey,
    instance_id: str,
    domain: str | None,
    nonce: str | None,
    *,
    license_keys: LicenseKeyRing,
    settings: Settings,
) -> Signed:
    """Always a signed answer with a code; the caller's seat records the check."""
    now = datetime.now(UTC)
    record = await licenses.verify_and_touch(session, key.key_hash, instance_id, now)
    facts = record.facts if record else None
    code = decide_verification(facts, instance_id, domain, now)
    signed, _ = _answer(
        license_keys,
        settings,
        expires_at=facts.expires_at if facts else None,
        module_name=record.module if record else None,
        key=key.normalized,
        instance_id=instance_id,
        nonce=nonce,
        code=code,
        now=now,
    )
    await session.commit()
    return signed


async def activate(
    session: AsyncSession,
    key: LicenseKey,
    instance_id: str,
    domain: str | None,
    *,
    client_address: str,
    license_keys: LicenseKeyRing,
    settings: Settings,
) -> Activated:
    """Take a seat for an instance; activating the same instance again changes nothing."""
    now = datetime.now(UTC)
    row = await licenses.by_key_hash(session, key.key_hash, lock=True)
    if row is None:
        raise NotFound("license_not_found", "no license has this key")
    active = await licenses.active_activations(session, row.id)
    decision = decide_activation(licenses.facts_of(row, active), instance_id, domain, now)
    if not decision.allowed:
        raise Conflict(decision.code.lower(), f"activation refused: {decision.code}")
    if decision.outcome is ActivationOutcome.ACTIVATE:
        existing = await licenses.activation(session, row.id, instance_id)
        if existing is None:
            session.add(
                LicenseActivation(
                    license_id=row.id,
                    instance_id=instance_id,
                    domain=decision.domain,
                    ip_address=client_address[:45],
                    activated_at=now,
                    last_check=now,
                )
            )
        else:
            existing.status, existing.domain = "active", decision.domain
            existing.activated_at, existing.deactivated_at = now, None
        if row.activated_at is None:
            row.activated_at = now
        await audit.record(
            session,
            actor_id=None,
            action="license.activate",
            entity_type="license",
            entity_id=row.id,
            changes={"instance_id": instance_id, "domain": decision.domain},
        )
    elif decision.domain is not None:
        current = await licenses.activation(session, row.id, instance_id)
        assert current is not None  # not ACTIVATE: the instance holds an active activation
        current.domain = decision.domain
    await session.flush()
    module = await licenses.module_of(session, row)
    signed, answer = _answer(
        license_keys,
        settings,
        expires_at=row.expires_at,
        module_name=module.technical_name if module else None,
        key=key.normalized,
        instance_id=instance_id,
        nonce=None,
        code=VerifyCode.VALID,
        now=now,
    )
    await session.commit()
    return Activated(signed, answer, decision.outcome)


async def deactivate(session: AsyncSession, key: LicenseKey, instance_id: str) -> LicenseView:
    """Free the instance's seat; the license is shown with its key masked."""
    row = await licenses.by_key_hash(session, key.key_hash, lock=True)
    if row is None:
        raise NotFound("license_not_found", "no license has this key")
    current = await licenses.activation(session, row.id, instance_id)
    if current is None or current.status != "active":
        raise NotFound("activation_not_found", "this instance holds no seat")
    current.status = "deactivated"
    current.deactivated_at = datetime.now(UTC)
    await audit.record(
        session,
        actor_id=None,
        action="license.deactivate",
        entity_type="license",
        entity_id=row.id,
        changes={"instance_id": instance_id},
    )
    await session.flush()
    module = await licenses.module_of(session, row)
    active = await licenses.active_activations(session, row.id)
    await session.commit()
    return LicenseView(row, module, mask_license_key(key.normalized), len(active))


async def offline_file(
    session: AsyncSession,
    user: User,
    key: str,
    days: int | None,
    *,
    license_keys: LicenseKeyRing,
    settings: Settings,
) -> Signed:
    """A signed, time-limited license file for air-gapped instances: at most ``days``
    (and the deployment's offline lifetime), never past the license's expiry."""
    row = await owned_license(session, user.id, key)
    now = datetime.now(UTC)
    lifetime = settings.offline_license_lifetime
    if days is not None:
        lifetime = min(lifetime, timedelta(days=days))
    not_after = now + lifetime
    if row.expires_at is not None:
        not_after = min(not_after, row.expires_at)
    if row.status != "active" or not_after <= now:
        raise Conflict("license_not_active", "only an active license gets an offline file")
    module = await licenses.module_of(session, row)
    document = OfflineLicense(
        license_id=row.id,
        license_key=mask_license_key(normalize_license_key(key)),
        module=module.technical_name,
        licensee=(user.full_name or user.email)[:200],
        max_instances=row.max_instances,
        instance_domains=list(row.instance_domains or []),
        issued_at=now,
        not_after=not_after,
        key_id=license_keys.key_id,
    )
    return Signed(**license_keys.sign_document(document))
