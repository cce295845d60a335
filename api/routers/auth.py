"""Accounts: register, sign in (OAuth2 password flow), personal API tokens."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api import security
from api.deps import AccountPrincipal, SessionDep, SettingsDep
from api.params import IdPath
from api.routers.auth_schemas import (
    EMAIL_MAX,
    PASSWORD_MAX,
    ApiTokenCreated,
    ApiTokenIn,
    ApiTokenOut,
    MeOut,
    RegisterIn,
    TokenOut,
    UserOut,
)
from domain.access import ROLE_SCOPES, Role
from domain.errors import DomainError, Forbidden, NotFound, Unauthenticated
from models.repositories import audit, users
from models.user import ApiToken

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def register(body: RegisterIn, session: SessionDep):
    user = await users.create_user(
        session,
        email=str(body.email),
        password_hash=security.hash_password(body.password),
        full_name=body.full_name,
        role=Role.CONSUMER,
    )
    await audit.record(
        session, actor_id=user.id, action="user.register", entity_type="user", entity_id=user.id
    )
    return user


@router.post("/token", response_model=TokenOut)
async def sign_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
):
    """Password guessing is slowed per client and per account (``sign_in_rate_*``)."""
    email = form.username.strip()
    limiter = request.app.state.rate_limiter
    client = request.client.host if request.client else "unknown"
    limiter.check(settings.sign_in_rate_per_client, "sign-in-client", client)
    limiter.check(settings.sign_in_rate_per_account, "sign-in-account", email.lower()[:320])
    if "\x00" in email or len(email) > EMAIL_MAX or len(form.password) > PASSWORD_MAX:
        raise Unauthenticated("invalid_credentials", "wrong email or password")
    user = await users.get_user_by_email(session, email)
    valid = security.verify_password(form.password, user.password_hash if user else None)
    if user is None or not valid:
        raise Unauthenticated("invalid_credentials", "wrong email or password")
    if not user.is_active:
        raise Forbidden("account_disabled", "this account is disabled")
    token, expires = security.issue_access_token(
        user.id,
        secret=request.app.state.adapters.jwt_secret,
        issuer=settings.jwt_issuer,
        ttl=settings.access_token_ttl,
    )
    await users.mark_login(session, user, datetime.now(UTC))
    return TokenOut(access_token=token, expires_at=expires)


@router.get("/me", response_model=MeOut)
async def me(principal: AccountPrincipal):
    return MeOut.model_validate(
        {**UserOut.model_validate(principal.user).model_dump(), "scopes": sorted(principal.scopes)}
    )


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=ApiTokenCreated)
async def create_api_token(
    body: ApiTokenIn, principal: AccountPrincipal, session: SessionDep, settings: SettingsDep
):
    if principal.token_id is not None:
        raise Forbidden("token_cannot_mint_tokens", "API tokens cannot create other tokens")
    if timedelta(days=body.expires_in_days) > settings.api_token_max_ttl:
        raise DomainError(
            "token_lifetime_too_long",
            f"tokens live at most {settings.api_token_max_ttl.days} days",
        )
    allowed = ROLE_SCOPES[principal.role]
    beyond = set(body.scopes) - allowed
    if beyond:
        raise DomainError(
            "scope_not_allowed",
            f"your role cannot grant: {', '.join(sorted(beyond))}",
        )
    secret, prefix, digest = security.new_api_token()
    expires = datetime.now(UTC) + timedelta(days=body.expires_in_days)
    token = await users.add_token(
        session,
        ApiToken(
            user_id=principal.user.id,
            name=body.name,
            token_prefix=prefix,
            token_hash=digest,
            scopes=sorted(set(body.scopes)),
            expires_at=expires,
        ),
    )
    await audit.record(
        session,
        actor_id=principal.user.id,
        action="api_token.create",
        entity_type="api_token",
        entity_id=token.id,
        changes={"name": body.name, "scopes": token.scopes},
    )
    await session.refresh(token)
    return ApiTokenCreated(**ApiTokenOut.model_validate(token).model_dump(), token=secret)


@router.get("/tokens", response_model=list[ApiTokenOut])
async def list_api_tokens(principal: AccountPrincipal, session: SessionDep):
    return await users.list_tokens(session, principal.user.id)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_token(token_id: IdPath, principal: AccountPrincipal, session: SessionDep):
    token = await users.get_token(session, principal.user.id, token_id)
    if token is None:
        raise NotFound("token_not_found", "no such API token")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        await audit.record(
            session,
            actor_id=principal.user.id,
            action="api_token.revoke",
            entity_type="api_token",
            entity_id=token.id,
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
