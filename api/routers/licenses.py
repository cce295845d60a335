"""Licenses: the owner's list, and what installed FastVue instances call with a key alone
(activate, deactivate, verify), every answer an Ed25519-signed document, refusals included.

HTTP statuses: verify asks a question and always answers 200 with the signed code;
activate and deactivate ask for a change and answer 200 when it is done, else the signed
refusal with 404 (``NOT_FOUND``, ``NOT_ACTIVATED``) or 409 (every other code), whose
``error`` is the code in lower case."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import (
    AccountPrincipal,
    ClientAddressDep,
    LicenseKeysDep,
    LicenseVaultDep,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
)
from api.errors import RATE_LIMITED
from api.params import LicenseKeyPath
from api.schemas.licenses import (
    ActivationOut,
    AnswerOut,
    InstanceIn,
    LicenseOut,
    LicensePublicKey,
    RefusedActivationOut,
    RefusedAnswerOut,
    SignedDocumentOut,
)
from domain.licensing import AnswerStatus, InstanceDomain, InstanceId, VerifyCode
from services import licensing
from services.licensing import Answered, InstanceRequest, LicenseKey, LicenseView, Signed

router = APIRouter(prefix="/api/v1/marketplace/licenses", tags=["licenses"])


def _license_out(view: LicenseView) -> LicenseOut:
    row, module = view.license, view.module
    return LicenseOut(
        id=row.id,
        license_key=view.shown_key,
        module_slug=module.slug,
        module_name=module.display_name,
        license_type=row.license_type,
        status=row.status,
        expires_at=row.expires_at,
        max_instances=row.max_instances,
        instance_domains=list(row.instance_domains or []),
        active_instances=view.active_instances,
    )


def _limited(
    key: str, limiter: RateLimiterDep, settings: SettingsDep, client: ClientAddressDep
) -> LicenseKey:
    """The key, once the caller and the key are both within their rate limits (every
    call counts, whatever it answers)."""
    license_key = LicenseKey.of(key)
    limiter.check(settings.verify_rate_per_client, "license-client", client)
    limiter.check(settings.verify_rate_per_key, "license-key", license_key.key_hash)
    return license_key


@router.get("", response_model=list[LicenseOut])
async def my_licenses(
    principal: AccountPrincipal, session: SessionDep, vault: LicenseVaultDep
) -> list[LicenseOut]:
    return [
        _license_out(view)
        for view in await licensing.owned_licenses(session, principal.user.id, vault=vault)
    ]


@router.get("/public-key", response_model=list[LicensePublicKey])
async def license_public_keys(license_keys: LicenseKeysDep) -> list[LicensePublicKey]:
    """Ed25519 keys that sign verify answers and offline licenses, by key id."""
    return [
        LicensePublicKey(key_id=k.key_id, status=k.status, public_key_pem=k.pem)
        for k in licensing.public_keys(license_keys)
    ]


@router.get("/key-endorsements", response_model=list[SignedDocumentOut])
async def license_key_endorsements(license_keys: LicenseKeysDep) -> list[dict[str, str]]:
    """Signed statements by which a license key vouches for its successor: an instance
    trusts a key it did not pin only through these (README, "Reference license client")."""
    return licensing.key_endorsements(license_keys)


@router.get("/{key}", response_model=LicenseOut)
async def license_details(
    key: LicenseKeyPath, principal: AccountPrincipal, session: SessionDep
) -> LicenseOut:
    return _license_out(await licensing.details(session, principal.user.id, key))


def _request(body: InstanceIn) -> InstanceRequest:
    return InstanceRequest(body.instance_id, body.domain, body.nonce)


@router.post("/{key}/verify", response_model=AnswerOut, responses=RATE_LIMITED)
async def verify_license(
    key: LicenseKeyPath,
    body: InstanceIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    license_keys: LicenseKeysDep,
) -> Response:
    """No sign-in: the key is the credential. Always 200 with a signed answer and its
    code (``VALID`` or why not)."""
    signed = await licensing.verify(
        session,
        _limited(key, limiter, settings, client),
        _request(body),
        license_keys=license_keys,
        settings=settings,
    )
    return _signed_response(signed)


def _signed_response(
    signed: Signed, status_code: int = 200, extra: dict[str, Any] | None = None
) -> Response:
    """The signed answer as JSON, its ``answer`` being the signed payload itself: the hot
    path skips re-serialising the model the payload was just made from."""
    more = "".join(
        f",{json.dumps(name)}:{json.dumps(value, ensure_ascii=False)}"
        for name, value in (extra or {}).items()
    )
    body = (
        f'{{"payload":{json.dumps(signed.payload, ensure_ascii=False)},'
        f'"signature":{json.dumps(signed.signature)},'
        f'"key_id":{json.dumps(signed.key_id)},'
        f'"answer":{signed.payload}{more}}}'
    )
    return Response(
        content=body.encode("utf-8"), status_code=status_code, media_type="application/json"
    )


_NOT_FOUND_CODES = frozenset({VerifyCode.NOT_FOUND, VerifyCode.NOT_ACTIVATED})


def _change_response(answered: Answered, extra: dict[str, Any] | None = None) -> Response:
    """Activate and deactivate: 200 when done; a refusal 404 or 409, with ``error``."""
    answer = answered.answer
    if answer.status is not AnswerStatus.REFUSED:
        return _signed_response(answered.signed, 200, extra)
    status = 404 if answer.code in _NOT_FOUND_CODES else 409
    refusal = {
        "error": answer.code.lower(),
        "detail": f"{answer.operation} refused: {answer.code}",
        **(extra or {}),
    }
    return _signed_response(answered.signed, status, refusal)


def _refusals(model: type) -> dict[int | str, dict[str, Any]]:
    return {
        404: {"model": model, "description": "Signed refusal: `NOT_FOUND` or `NOT_ACTIVATED`"},
        409: {"model": model, "description": "Signed refusal: every other code"},
        **RATE_LIMITED,
    }


def _signed_out(signed: Signed) -> dict[str, str]:
    return {"payload": signed.payload, "signature": signed.signature, "key_id": signed.key_id}


@router.post(
    "/{key}/activate",
    response_model=ActivationOut,
    responses=_refusals(RefusedActivationOut),
)
async def activate_license(
    key: LicenseKeyPath,
    body: InstanceIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    license_keys: LicenseKeysDep,
) -> Response:
    """Take a seat for an instance and its domain; activating the same instance again
    changes nothing. Refusals are signed too (404 or 409)."""
    answered = await licensing.activate(
        session,
        _limited(key, limiter, settings, client),
        _request(body),
        client_address=client,
        license_keys=license_keys,
        settings=settings,
    )
    assert answered.outcome is not None
    return _change_response(answered, {"outcome": answered.outcome.value})


@router.post("/{key}/deactivate", response_model=AnswerOut, responses=_refusals(RefusedAnswerOut))
async def deactivate_license(
    key: LicenseKeyPath,
    body: InstanceIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    license_keys: LicenseKeysDep,
) -> Response:
    """Free the instance's seat: a signed ``DEACTIVATED``, or a signed refusal (404)."""
    return _change_response(
        await licensing.deactivate(
            session,
            _limited(key, limiter, settings, client),
            _request(body),
            license_keys=license_keys,
            settings=settings,
        )
    )


@router.get("/{key}/offline", response_model=SignedDocumentOut)
async def offline_license(
    key: LicenseKeyPath,
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    license_keys: LicenseKeysDep,
    instance_id: Annotated[InstanceId, Query(description="An instance holding a seat")],
    domain: Annotated[
        InstanceDomain, Query(description="The domain the instance was activated for")
    ],
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> dict[str, str]:
    """A signed, time-limited license file for one air-gapped instance that holds a seat
    for that domain (activate it first): 409 ``instance_not_activated``,
    ``domain_mismatch``, ``license_not_active``... otherwise."""
    return _signed_out(
        await licensing.offline_file(
            session,
            principal.user,
            key,
            instance_id,
            domain,
            days,
            license_keys=license_keys,
            settings=settings,
        )
    )
