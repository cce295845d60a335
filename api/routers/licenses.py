"""Licenses: the owner's list, and what installed FastVue instances call with a key alone
(activate, deactivate, verify), answered with Ed25519-signed documents."""

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import AccountPrincipal, SessionDep, SettingsDep
from api.schemas import Strict
from domain.errors import Conflict, NotFound
from domain.licensing import (
    ActivationOutcome,
    InstanceId,
    Nonce,
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
from models.commerce import License, LicenseActivation
from models.repositories import audit, licenses

router = APIRouter(prefix="/api/v1/marketplace/licenses", tags=["licenses"])
KeyPath = Annotated[str, Path(min_length=1, max_length=100)]


class LicenseOut(BaseModel):
    id: int
    license_key: str = Field(description="Full for its owner")
    module_slug: str
    module_name: str
    license_type: str
    status: str
    expires_at: datetime | None
    max_instances: int
    instance_domains: list[str]
    active_instances: int | None = None


class InstanceIn(Strict):
    instance_id: InstanceId
    domain: str | None = Field(default=None, max_length=300)


class VerifyIn(InstanceIn):
    nonce: Nonce | None = None


class SignedDocumentOut(BaseModel):
    payload: str = Field(description="Canonical JSON: the bytes the signature covers")
    signature: str = Field(description="Ed25519, base64")
    key_id: str


class VerifyOut(SignedDocumentOut):
    answer: VerificationAnswer


class ActivationOut(VerifyOut):
    outcome: ActivationOutcome


class LicensePublicKey(BaseModel):
    key_id: str
    algorithm: str = "ed25519"
    status: str
    public_key_pem: str


def _license_out(
    row: License, module, shown_key: str, active_instances: int | None = None
) -> LicenseOut:
    return LicenseOut(
        id=row.id,
        license_key=shown_key,
        module_slug=module.slug,
        module_name=module.display_name,
        license_type=row.license_type,
        status=row.status,
        expires_at=row.expires_at,
        max_instances=row.max_instances,
        instance_domains=list(row.instance_domains or []),
        active_instances=active_instances,
    )


def _owner_key(vault, row: License) -> str:
    """The full key, opened from its ciphertext for the owner's eyes only."""
    if not row.key_ciphertext:
        return ""
    return vault.open(row.key_ciphertext, bound_to=row.license_key) or ""


def _key_hash(key: str) -> str:
    return license_key_hash(normalize_license_key(key))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limit(request: Request, settings, key_hash: str) -> None:
    limiter = request.app.state.rate_limiter
    limiter.check(settings.verify_rate_per_client, "license-client", _client(request))
    limiter.check(settings.verify_rate_per_key, "license-key", key_hash)


@router.get("", response_model=list[LicenseOut])
async def my_licenses(principal: AccountPrincipal, session: SessionDep, request: Request):
    vault = request.app.state.adapters.license_vault
    return [
        _license_out(row, module, _owner_key(vault, row))
        for row, module in await licenses.of_user(session, principal.user.id)
    ]


@router.get("/public-key", response_model=list[LicensePublicKey])
async def license_public_keys(request: Request):
    """Ed25519 keys that sign verify answers and offline licenses, by key id."""
    return [
        LicensePublicKey(key_id=k.key_id, status=k.status, public_key_pem=k.pem)
        for k in request.app.state.adapters.license_keys.public_keys()
    ]


async def owned_license(session, principal, key: str) -> License:
    row = await licenses.by_key_hash(session, _key_hash(key))
    if row is None or row.user_id != principal.user.id:
        raise NotFound("license_not_found", "no such license among yours")
    return row


@router.get("/{key}", response_model=LicenseOut)
async def license_details(
    key: KeyPath, principal: AccountPrincipal, session: SessionDep, request: Request
):
    row = await owned_license(session, principal, key)
    module = await licenses.module_of(session, row)
    active = await licenses.active_activations(session, row.id)
    return _license_out(row, module, normalize_license_key(key), len(active))


def _answer(request, settings, expires_at, module_name, key, body, code, now) -> dict:
    answer = VerificationAnswer(
        code=code,
        license_key=mask_license_key(key),
        module=module_name,
        expires_at=expires_at,
        instance_id=body.instance_id,
        issued_at=now,
        valid_until=answer_valid_until(
            now,
            expires_at if code is VerifyCode.VALID else None,
            settings.license_answer_cache,
        ),
        nonce=getattr(body, "nonce", None),
    )
    signed = request.app.state.adapters.license_keys.sign_document(answer)
    return {**signed, "answer": answer}


@router.post("/{key}/verify", response_model=VerifyOut)
async def verify_license(
    key: KeyPath, body: VerifyIn, request: Request, session: SessionDep, settings: SettingsDep
):
    """No sign-in: the key is the credential. Always a signed answer with a code."""
    normalized = normalize_license_key(key)
    key_hash = license_key_hash(normalized)
    _limit(request, settings, key_hash)
    now = datetime.now(UTC)
    record = await licenses.verify_and_touch(session, key_hash, body.instance_id, now)
    facts = record.facts if record else None
    code = decide_verification(facts, body.instance_id, body.domain, now)
    signed = _answer(
        request,
        settings,
        facts.expires_at if facts else None,
        record.module if record else None,
        normalized,
        body,
        code,
        now,
    )
    return _signed_response(signed)


def _signed_response(signed: dict) -> Response:
    """The signed answer as JSON, its ``answer`` being the signed payload itself: the hot
    path skips re-serialising the model the payload was just made from."""
    body = (
        f'{{"payload":{json.dumps(signed["payload"], ensure_ascii=False)},'
        f'"signature":{json.dumps(signed["signature"])},'
        f'"key_id":{json.dumps(signed["key_id"])},'
        f'"answer":{signed["payload"]}}}'
    )
    return Response(content=body.encode("utf-8"), media_type="application/json")


@router.post("/{key}/activate", response_model=ActivationOut)
async def activate_license(
    key: KeyPath, body: InstanceIn, request: Request, session: SessionDep, settings: SettingsDep
):
    """Take a seat for an instance; activating the same instance again changes nothing."""
    normalized = normalize_license_key(key)
    key_hash = license_key_hash(normalized)
    _limit(request, settings, key_hash)
    now = datetime.now(UTC)
    row = await licenses.by_key_hash(session, key_hash, lock=True)
    if row is None:
        raise NotFound("license_not_found", "no license has this key")
    active = await licenses.active_activations(session, row.id)
    decision = decide_activation(licenses.facts_of(row, active), body.instance_id, body.domain, now)
    if not decision.allowed:
        raise Conflict(decision.code.lower(), f"activation refused: {decision.code}")
    if decision.outcome is ActivationOutcome.ACTIVATE:
        existing = await licenses.activation(session, row.id, body.instance_id)
        if existing is None:
            session.add(
                LicenseActivation(
                    license_id=row.id,
                    instance_id=body.instance_id,
                    domain=decision.domain,
                    ip_address=_client(request)[:45],
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
            changes={"instance_id": body.instance_id, "domain": decision.domain},
        )
    elif decision.domain is not None:
        current = await licenses.activation(session, row.id, body.instance_id)
        current.domain = decision.domain
    await session.flush()
    module = await licenses.module_of(session, row)
    signed = _answer(
        request,
        settings,
        row.expires_at,
        module.technical_name if module else None,
        normalized,
        body,
        VerifyCode.VALID,
        now,
    )
    return {**signed, "outcome": decision.outcome}


@router.post("/{key}/deactivate", response_model=LicenseOut)
async def deactivate_license(
    key: KeyPath, body: InstanceIn, request: Request, session: SessionDep, settings: SettingsDep
):
    """Free the instance's seat."""
    normalized = normalize_license_key(key)
    key_hash = license_key_hash(normalized)
    _limit(request, settings, key_hash)
    row = await licenses.by_key_hash(session, key_hash, lock=True)
    if row is None:
        raise NotFound("license_not_found", "no license has this key")
    current = await licenses.activation(session, row.id, body.instance_id)
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
        changes={"instance_id": body.instance_id},
    )
    await session.flush()
    module = await licenses.module_of(session, row)
    active = await licenses.active_activations(session, row.id)
    return _license_out(row, module, mask_license_key(normalized), len(active))


@router.get("/{key}/offline", response_model=SignedDocumentOut)
async def offline_license(
    key: KeyPath,
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
):
    """A signed, time-limited license file for air-gapped instances."""
    row = await owned_license(session, principal, key)
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
    keys = request.app.state.adapters.license_keys
    document = OfflineLicense(
        license_id=row.id,
        license_key=mask_license_key(normalize_license_key(key)),
        module=module.technical_name,
        licensee=(principal.user.full_name or principal.user.email)[:200],
        max_instances=row.max_instances,
        instance_domains=list(row.instance_domains or []),
        issued_at=now,
        not_after=not_after,
        key_id=keys.key_id,
    )
    return keys.sign_document(document)
