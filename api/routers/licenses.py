"""Licenses: the owner's list, and what installed FastVue instances call with a key alone
(activate, deactivate, verify), answered with Ed25519-signed documents."""

import json
from typing import Annotated

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
    InstanceIn,
    LicenseOut,
    LicensePublicKey,
    SignedDocumentOut,
    VerifyIn,
    VerifyOut,
)
from services import licensing
from services.licensing import LicenseKey, LicenseView, Signed

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


@router.post("/{key}/verify", response_model=VerifyOut, responses=RATE_LIMITED)
async def verify_license(
    key: LicenseKeyPath,
    body: VerifyIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    license_keys: LicenseKeysDep,
) -> Response:
    """No sign-in: the key is the credential. Always a signed answer with a code."""
    signed = await licensing.verify(
        session,
        _limited(key, limiter, settings, client),
        body.instance_id,
        body.domain,
        body.nonce,
        license_keys=license_keys,
        settings=settings,
    )
    return _signed_response(signed)


def _signed_response(signed: Signed) -> Response:
    """The signed answer as JSON, its ``answer`` being the signed payload itself: the hot
    path skips re-serialising the model the payload was just made from."""
    body = (
        f'{{"payload":{json.dumps(signed.payload, ensure_ascii=False)},'
        f'"signature":{json.dumps(signed.signature)},'
        f'"key_id":{json.dumps(signed.key_id)},'
        f'"answer":{signed.payload}}}'
    )
    return Response(content=body.encode("utf-8"), media_type="application/json")


def _signed_out(signed: Signed) -> dict[str, str]:
    return {"payload": signed.payload, "signature": signed.signature, "key_id": signed.key_id}


@router.post("/{key}/activate", response_model=ActivationOut, responses=RATE_LIMITED)
async def activate_license(
    key: LicenseKeyPath,
    body: InstanceIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    license_keys: LicenseKeysDep,
) -> dict[str, object]:
    """Take a seat for an instance; activating the same instance again changes nothing."""
    activated = await licensing.activate(
        session,
        _limited(key, limiter, settings, client),
        body.instance_id,
        body.domain,
        client_address=client,
        license_keys=license_keys,
        settings=settings,
    )
    return {
        **_signed_out(activated.signed),
        "answer": activated.answer,
        "outcome": activated.outcome,
    }


@router.post("/{key}/deactivate", response_model=LicenseOut, responses=RATE_LIMITED)
async def deactivate_license(
    key: LicenseKeyPath,
    body: InstanceIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
) -> LicenseOut:
    """Free the instance's seat."""
    return _license_out(
        await licensing.deactivate(
            session, _limited(key, limiter, settings, client), body.instance_id
        )
    )


@router.get("/{key}/offline", response_model=SignedDocumentOut)
async def offline_license(
    key: LicenseKeyPath,
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    license_keys: LicenseKeysDep,
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> dict[str, str]:
    """A signed, time-limited license file for air-gapped instances."""
    return _signed_out(
        await licensing.offline_file(
            session,
            principal.user,
            key,
            days,
            license_keys=license_keys,
            settings=settings,
        )
    )
