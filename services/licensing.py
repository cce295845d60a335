"""Licenses: the owner's list and details, and what installed FastVue instances do with a
key alone (activate, deactivate, verify), every answer a signed ``LicenseAnswer`` (refusals
included); the signed offline file for air-gapped instances.

Verify is the hot path (every installed instance, all day): one repository round trip that
reads the license, its module and seats and touches the caller's seat, then the signed
answer. Keep it so: no other query, no model built twice."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, NotFound
from domain.licensing import (
    ActivationOutcome,
    AnswerStatus,
    ChurnPolicy,
    LicenseAnswer,
    OfflineLicense,
    Operation,
    VerifyCode,
    answer_status,
    answer_valid_until,
    decide_activation,
    decide_verification,
    license_key_hash,
    mask_license_key,
    normalize_domain,
    normalize_license_key,
    offline_not_after,
)
from integrations.license_signing import LicenseKeyRing
from integrations.license_vault import LicenseVault
from integrations.signing import PublicKeyInfo
from models.commerce import License, LicenseActivation
from models.module import MarketplaceModule
from models.repositories import audit, licenses, platform_settings
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
class Answered:
    """A signed answer and the document it carries; ``outcome`` for activations."""

    signed: Signed
    answer: LicenseAnswer
    outcome: ActivationOutcome | None = None


@dataclass(frozen=True, slots=True)
class InstanceRequest:
    """What an instance sends with its key: who it is, where it runs, and a fresh nonce."""

    instance_id: str
    domain: str
    nonce: str


def churn_policy(settings: Settings) -> ChurnPolicy:
    return ChurnPolicy(
        window=settings.license_churn_window,
        extra_instances=settings.license_churn_extra_instances,
    )


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
    operation: Operation,
    code: VerifyCode,
    key: LicenseKey,
    request: InstanceRequest,
    module: str | None,
    module_slug: str | None,
    expires_at: datetime | None,
    now: datetime,
) -> tuple[Signed, LicenseAnswer]:
    """The signed answer: only a granted one is valid past ``now``."""
    status = answer_status(code)
    valid_until = (
        answer_valid_until(now, expires_at, settings.license_answer_cache)
        if status is AnswerStatus.GRANTED
        else now
    )
    answer = LicenseAnswer(
        key_id=license_keys.key_id,
        operation=operation,
        status=status,
        code=code,
        license_key=mask_license_key(key.normalized),
        license_key_sha256=key.key_hash,
        module=module,
        module_slug=module_slug,
        expires_at=expires_at,
        instance_id=request.instance_id,
        domain=request.domain,
        nonce=request.nonce,
        issued_at=now,
        valid_until=valid_until,
    )
    return Signed(**license_keys.sign_document(answer)), answer


async def verify(
    session: AsyncSession,
    key: LicenseKey,
    request: InstanceRequest,
    *,
    license_keys: LicenseKeyRing,
    settings: Settings,
) -> Signed:
    """Always a signed answer with a code; the caller's seat records the check (and, on
    the same round trip, how long the answer it gets may be valid)."""
    now = datetime.now(UTC)
    record = await licenses.verify_and_touch(
        session,
        key.key_hash,
        request.instance_id,
        request.domain,
        now,
        now + settings.license_answer_cache,
    )
    facts = record.facts if record else None
    code = decide_verification(facts, request.instance_id, request.domain, now)
    signed, _ = _answer(
        license_keys,
        settings,
        operation=Operation.VERIFY,
        code=code,
        key=key,
        request=request,
        module=record.module if record else None,
        module_slug=record.module_slug if record else None,
        expires_at=facts.expires_at if facts else None,
        now=now,
    )
    await session.commit()
    return signed


async def activate(
    session: AsyncSession,
    key: LicenseKey,
    request: InstanceRequest,
    *,
    client_address: str,
    license_keys: LicenseKeyRing,
    settings: Settings,
) -> Answered:
    """Take a seat for an instance; activating the same instance again changes nothing.
    A refusal is a signed answer too, with its code; nothing is written then."""
    now = datetime.now(UTC)
    row = await licenses.by_key_hash(session, key.key_hash, lock=True)
    facts, module = None, None
    if row is not None:
        active = await licenses.active_activations(session, row.id)
        policy = churn_policy(settings)
        released = await licenses.releases_in_use(session, row.id, now, policy.window)
        facts = licenses.facts_of(row, active, released)
        module = await licenses.module_of(session, row)
    decision = decide_activation(
        facts, request.instance_id, request.domain, now, churn_policy(settings)
    )
    if row is not None and decision.allowed:
        answer_until = answer_valid_until(now, row.expires_at, settings.license_answer_cache)
        if decision.outcome is ActivationOutcome.ACTIVATE:
            session.add(
                LicenseActivation(
                    license_id=row.id,
                    instance_id=request.instance_id,
                    domain=decision.domain,
                    ip_address=client_address[:45],
                    activated_at=now,
                    last_check=now,
                    answers_valid_until=answer_until,
                )
            )
            if row.activated_at is None:
                row.activated_at = now
            await audit.record(
                session,
                actor_id=None,
                action="license.activate",
                entity_type="license",
                entity_id=row.id,
                changes={"instance_id": request.instance_id, "domain": decision.domain},
            )
        else:
            current = await licenses.activation(session, row.id, request.instance_id)
            assert current is not None  # ALREADY_ACTIVE: the instance holds a seat
            current.domain = decision.domain
            current.answers_valid_until = max(
                current.answers_valid_until or answer_until, answer_until
            )
        await session.flush()
    signed, answer = _answer(
        license_keys,
        settings,
        operation=Operation.ACTIVATE,
        code=decision.code,
        key=key,
        request=request,
        module=module.technical_name if module else None,
        module_slug=module.slug if module else None,
        expires_at=row.expires_at if row else None,
        now=now,
    )
    await session.commit()
    return Answered(signed, answer, decision.outcome)


async def deactivate(
    session: AsyncSession,
    key: LicenseKey,
    request: InstanceRequest,
    *,
    license_keys: LicenseKeyRing,
    settings: Settings,
) -> Answered:
    """Free the instance's seat: ``DEACTIVATED``, or a signed ``NOT_FOUND`` (no such key)
    or ``NOT_ACTIVATED`` (the instance holds no seat). The seat's answers stay valid until
    their ``valid_until``, and the churn limit counts it until then."""
    now = datetime.now(UTC)
    row = await licenses.by_key_hash(session, key.key_hash, lock=True)
    module = await licenses.module_of(session, row) if row is not None else None
    current = (
        await licenses.activation(session, row.id, request.instance_id) if row is not None else None
    )
    if row is None:
        code = VerifyCode.NOT_FOUND
    elif current is None:
        code = VerifyCode.NOT_ACTIVATED
    else:
        code = VerifyCode.DEACTIVATED
        current.status = "deactivated"
        current.deactivated_at = now
        await audit.record(
            session,
            actor_id=None,
            action="license.deactivate",
            entity_type="license",
            entity_id=row.id,
            changes={"instance_id": request.instance_id, "domain": current.domain},
        )
        await session.flush()
    signed, answer = _answer(
        license_keys,
        settings,
        operation=Operation.DEACTIVATE,
        code=code,
        key=key,
        request=request,
        module=module.technical_name if module else None,
        module_slug=module.slug if module else None,
        expires_at=row.expires_at if row else None,
        now=now,
    )
    await session.commit()
    return Answered(signed, answer)


async def offline_file(
    session: AsyncSession,
    user: User,
    key: str,
    instance_id: str,
    domain: str,
    days: int | None,
    *,
    license_keys: LicenseKeyRing,
    settings: Settings,
) -> Signed:
    """A signed, time-limited license file for one air-gapped instance, which must hold a
    seat for that domain (activate it first, from any machine, with its domain). It lasts
    at most ``days`` and the deployment's offline lifetime, never past the license's expiry,
    and never past the end of the buyer's refund window while that is open. The seat's
    ``answers_valid_until`` is raised to the file's end: the churn limit counts the
    instance until then, even once it is deactivated."""
    row = await owned_license(session, user.id, key)
    now = datetime.now(UTC)
    normalized_key = normalize_license_key(key)
    host = normalize_domain(domain)
    active = await licenses.active_activations(session, row.id)
    code = decide_verification(licenses.facts_of(row, active), instance_id, host, now)
    seat = next((a for a in active if a.instance_id == instance_id), None)
    if code is VerifyCode.VALID and (seat is None or seat.domain != host):
        code = VerifyCode.DOMAIN_MISMATCH  # an activation from before domains were bound
    if code in (VerifyCode.REVOKED, VerifyCode.CANCELLED, VerifyCode.EXPIRED):
        raise Conflict("license_not_active", "only an active license gets an offline file")
    if code is VerifyCode.NOT_ACTIVATED:
        raise Conflict(
            "instance_not_activated", "activate the instance (with its domain) before asking"
        )
    if code is not VerifyCode.VALID:
        raise Conflict(code.lower(), f"no offline file for this instance: {code}")
    lifetime = settings.offline_license_lifetime
    if days is not None:
        lifetime = min(lifetime, timedelta(days=days))
    order = await licenses.paid_order_of(session, row)
    refundable_until = None
    if order is not None and order.paid_at is not None:
        platform = await platform_settings.current(session, settings.platform_defaults())
        refundable_until = order.paid_at + platform.refund_window
    not_after = offline_not_after(
        now, lifetime, expires_at=row.expires_at, refundable_until=refundable_until
    )
    module = await licenses.module_of(session, row)
    document = OfflineLicense(
        key_id=license_keys.key_id,
        license_id=row.id,
        license_key=mask_license_key(normalized_key),
        license_key_sha256=license_key_hash(normalized_key),
        module=module.technical_name,
        module_slug=module.slug,
        licensee=(user.full_name or user.email)[:200],
        instance_id=instance_id,
        domain=host,
        issued_at=now,
        not_after=not_after,
    )
    signed = Signed(**license_keys.sign_document(document))
    assert seat is not None  # VALID: the instance holds a seat
    seat.answers_valid_until = max(seat.answers_valid_until or not_after, not_after)
    await audit.record(
        session,
        actor_id=user.id,
        action="license.offline_file",
        entity_type="license",
        entity_id=row.id,
        changes={
            "instance_id": instance_id,
            "domain": host,
            "not_after": not_after.isoformat(),
        },
    )
    await session.commit()
    return signed
