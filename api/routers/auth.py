"""Accounts: register, sign in (OAuth2 password flow), personal API tokens, email
verification, password change and reset."""

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
    WorkflowsDep,
)
from api.errors import RATE_LIMITED
from api.params import IdPath
from api.schemas.auth import (
    AcceptedOut,
    ApiTokenCreated,
    ApiTokenIn,
    ApiTokenOut,
    EmailVerifiedOut,
    MailedTokenIn,
    MeOut,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
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
    workflows: WorkflowsDep,
) -> User:
    """Registrations are slowed per client (``register_rate_per_client``). A mail with a
    code to confirm the address goes out (``POST /verify-email``)."""
    return await accounts.register(
        session,
        email=str(body.email),
        password=body.password,
        full_name=body.full_name,
        passwords=passwords,
        client=client,
        limiter=limiter,
        settings=settings,
        workflows=workflows,
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


@router.post("/verify-email", response_model=EmailVerifiedOut, responses=RATE_LIMITED)
async def verify_email(
    body: MailedTokenIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
) -> EmailVerifiedOut:
    """Confirm an address with the code mailed to it: good once, until it expires, and
    only while the account still has that address. Any bad code is ``invalid_token``."""
    user = await accounts.verify_email(
        session, token=body.token, client=client, limiter=limiter, settings=settings
    )
    return EmailVerifiedOut(email=user.email, email_verified=user.email_verified)


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedOut,
    responses=RATE_LIMITED,
)
async def resend_verification(
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    workflows: WorkflowsDep,
) -> AcceptedOut:
    """Mail a new code (earlier ones stop working); a few an hour per account."""
    sent_to = await accounts.resend_verification(
        session, principal, limiter=limiter, settings=settings, workflows=workflows
    )
    return AcceptedOut(detail=f"a new code is on its way to {sent_to}")


@router.post("/password", response_model=TokenOut, responses=RATE_LIMITED)
async def change_password(
    body: PasswordChangeIn,
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    adapters: AdaptersDep,
    limiter: RateLimiterDep,
    passwords: PasswordsDep,
) -> TokenOut:
    """Change the password; the current one is required (``wrong_password``, 403, and
    wrong ones back off per account). Every session signed in before ends, this one too:
    the answer is a new access token."""
    issued = await accounts.change_password(
        session,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
        revoke_api_tokens=body.revoke_api_tokens,
        passwords=passwords,
        limiter=limiter,
        settings=settings,
        jwt_secret=adapters.jwt_secret,
    )
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedOut,
    responses=RATE_LIMITED,
)
async def request_password_reset(
    body: PasswordResetIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    workflows: WorkflowsDep,
) -> AcceptedOut:
    """Mail a reset code to the account with this address. The answer is the same whether
    or not there is one; requests are limited per address and per client."""
    await accounts.request_password_reset(
        session,
        email=str(body.email),
        client=client,
        limiter=limiter,
        settings=settings,
        workflows=workflows,
    )
    return AcceptedOut(
        detail="if an account has this address, a mail with a reset code is on its way"
    )


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=RATE_LIMITED,
)
async def confirm_password_reset(
    body: PasswordResetConfirmIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    passwords: PasswordsDep,
) -> Response:
    """Set a new password with the mailed code (good once, until it expires). Every
    session ends and every API token is revoked; sign in again."""
    await accounts.reset_password(
        session,
        token=body.token,
        new_password=body.new_password,
        passwords=passwords,
        client=client,
        limiter=limiter,
        settings=settings,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
