"""Accounts: register, sign in (OAuth2 password flow), personal API tokens."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import (
    AccountPrincipal,
    AdaptersDep,
    ClientAddressDep,
    PasswordsDep,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
)
from api.errors import RATE_LIMITED
from api.params import IdPath
from api.schemas.auth import (
    ApiTokenCreated,
    ApiTokenIn,
    ApiTokenOut,
    MeOut,
    RegisterIn,
    TokenOut,
    UserOut,
)
from models.user import ApiToken, User
from services import accounts

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=RATE_LIMITED,
)
async def register(
    body: RegisterIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    passwords: PasswordsDep,
) -> User:
    """Registrations are slowed per client (``register_rate_per_client``)."""
    return await accounts.register(
        session,
        email=str(body.email),
        password=body.password,
        full_name=body.full_name,
        passwords=passwords,
        client=client,
        limiter=limiter,
        settings=settings,
    )


@router.post("/token", response_model=TokenOut, responses=RATE_LIMITED)
async def sign_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    adapters: AdaptersDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    passwords: PasswordsDep,
) -> TokenOut:
    """Failed attempts back off per account and client address, and per client address
    (``sign_in_failures_*``); signing in right does not count."""
    issued = await accounts.sign_in(
        session,
        email=form.username,
        password=form.password,
        client=client,
        limiter=limiter,
        settings=settings,
        jwt_secret=adapters.jwt_secret,
        passwords=passwords,
    )
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at)


@router.get("/me", response_model=MeOut)
async def me(principal: AccountPrincipal) -> MeOut:
    return MeOut.model_validate(
        {**UserOut.model_validate(principal.user).model_dump(), "scopes": sorted(principal.scopes)}
    )


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=ApiTokenCreated)
async def create_api_token(
    body: ApiTokenIn, principal: AccountPrincipal, session: SessionDep, settings: SettingsDep
) -> ApiTokenCreated:
    created = await accounts.create_api_token(
        session,
        principal,
        name=body.name,
        scopes=body.scopes,
        expires_in_days=body.expires_in_days,
        settings=settings,
    )
    return ApiTokenCreated(
        **ApiTokenOut.model_validate(created.token).model_dump(), token=created.secret
    )


@router.get("/tokens", response_model=list[ApiTokenOut])
async def list_api_tokens(principal: AccountPrincipal, session: SessionDep) -> list[ApiToken]:
    return await accounts.list_api_tokens(session, principal.user.id)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_token(
    token_id: IdPath, principal: AccountPrincipal, session: SessionDep
) -> Response:
    await accounts.revoke_api_token(session, principal.user.id, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
