"""Accounts: register, sign in, personal API tokens, who a credential belongs to, the
publisher profile a caller acts as, and admins made from the command line; the account's
lifecycle: email verification, password change and reset by mailed single-use tokens,
password re-entry (step-up) for sensitive changes, and admins disabling accounts.

Every access token carries the account's ``token_version``; a password change or reset and
disabling the account bump it, so every access token issued before is refused."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import (
    EMAIL_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    ROLE_SCOPES,
    Role,
    Scope,
    granted_scopes,
)
from domain.accounts import (
    MailKind,
    TokenPurpose,
    password_changed_mail,
    token_mail,
)
from domain.errors import Conflict, DomainError, Forbidden, NotFound, Unauthenticated
from domain.processes import NotificationDelivery
from integrations.rate_limit import RateLimited, RateLimiter
from integrations.temporal.front_door import TemporalFrontDoor
from models.publisher import Publisher
from models.repositories import audit, outbox, publishers, users
from models.user import ApiToken, EmailToken, User
from services import credentials
from settings import Settings

ADMIN_INPUT_ERRORS = ("invalid_email", "invalid_password", "account_exists")
"""Codes ``make_admin`` refuses with; nothing is changed then."""


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what the credential they sent lets them do."""

    user: User
    scopes: frozenset[Scope]
    token_id: int | None = None
    """The API token used, None for a signed-in session (an access token)."""

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class NewApiToken:
    token: ApiToken
    secret: str
    """Shown once, to whoever created it; only its hash is stored."""


@dataclass(frozen=True)
class AdminMade:
    email: str
    """As given, validated."""
    user: User
    created: bool
    """False: an existing account was promoted (``promote``)."""
    api_tokens_revoked: int = 0
    """The promoted account's API tokens that were revoked."""
    email_verified: bool = False
    """Whether the promoted account's owner ever proved they receive mail at the address:
    if not, whoever registered it need not be who the operator thinks."""


# --- registering and signing in -------------------------------------------------------------


async def register(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    full_name: str | None,
    passwords: credentials.PasswordHashing,
    client: str,
    limiter: RateLimiter,
    settings: Settings,
    workflows: TemporalFrontDoor,
) -> User:
    """A consumer account; ``email_taken`` when one with this email (any case) exists.
    Slowed per client (``register_rate_per_client``): each costs a password hash. A mail
    with a verification token goes to the address (``verify_email``)."""
    limiter.check(settings.register_rate_per_client, "register-client", client)
    user = await users.create_user(
        session,
        email=email,
        password_hash=await passwords.hash(password),
        full_name=full_name,
        role=Role.CONSUMER,
    )
    await audit.record(
        session, actor_id=user.id, action="user.register", entity_type="user", entity_id=user.id
    )
    await _mail_token(session, user, TokenPurpose.VERIFY_EMAIL, settings)
    await session.commit()
    await _deliver_soon(workflows)
    return user


async def sign_in(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    client: str,
    limiter: RateLimiter,
    settings: Settings,
    jwt_secret: str,
    passwords: credentials.PasswordHashing,
) -> AccessToken:
    """An access token for the account's email and password; a wrong email and a wrong
    password are refused alike, so emails cannot be probed.

    Only failures count, per (account, client address) (``sign_in_failures_per_account_client``)
    and per client address (``sign_in_failures_per_client``): whoever guesses from other
    addresses makes their own pairs back off, never the owner's, and signing in right takes
    its hit back and clears that pair. Every attempt is counted when it starts and refunded
    when the password is right, so attempts sent at once cannot all slip past the limit."""
    email = email.strip()
    pair = f"{client} {email.lower()[:EMAIL_MAX]}"
    limiter.check(settings.sign_in_failures_per_client, "sign-in-client", client)
    try:
        limiter.check(settings.sign_in_failures_per_account_client, "sign-in-account-client", pair)
    except RateLimited:
        limiter.refund(settings.sign_in_failures_per_client, "sign-in-client", client)
        raise
    if "\x00" in email or len(email) > EMAIL_MAX or len(password) > PASSWORD_MAX:
        raise Unauthenticated("invalid_credentials", "wrong email or password")
    user = await users.get_user_by_email(session, email)
    valid = await passwords.verify(password, user.password_hash if user else None)
    if user is None or not valid:
        raise Unauthenticated("invalid_credentials", "wrong email or password")
    limiter.refund(settings.sign_in_failures_per_client, "sign-in-client", client)
    limiter.clear(settings.sign_in_failures_per_account_client, "sign-in-account-client", pair)
    if not user.is_active:
        raise Forbidden("account_disabled", "this account is disabled")
    issued = _session_token(user, jwt_secret=jwt_secret, settings=settings)
    await users.mark_login(session, user, datetime.now(UTC))
    await session.commit()
    return issued


def _session_token(user: User, *, jwt_secret: str, settings: Settings) -> AccessToken:
    token, expires = credentials.issue_access_token(
        user.id,
        token_version=user.token_version,
        secret=jwt_secret,
        issuer=settings.jwt_issuer,
        ttl=settings.access_token_ttl,
    )
    return AccessToken(token=token, expires_at=expires)


# --- who is calling -------------------------------------------------------------------------


async def resolve_principal(
    session: AsyncSession, credential: str, *, jwt_secret: str, issuer: str
) -> Principal | None:
    """The active account an API token or access token belongs to, with the scopes it
    carries; None for anything invalid, expired, revoked or disabled, and for an access
    token issued at an earlier token version (before a password change or reset, or the
    account being disabled).

    An API token's last use is noted in the request's transaction and committed with it
    (this does not commit): checking a credential is a read, not a unit of work."""
    if credentials.is_api_token(credential):
        token = await users.get_token_by_hash(session, credentials.hash_api_token(credential))
        now = datetime.now(UTC)
        if token is None or token.revoked_at is not None:
            return None
        if token.expires_at is not None and token.expires_at <= now:
            return None
        user = await users.get_user(session, token.user_id)
        if user is None or not user.is_active:
            return None
        await users.touch_token(session, token.id, now)
        requested = frozenset(Scope(s) for s in token.scopes if s in Scope._value2member_map_)
        return Principal(user, granted_scopes(Role(user.role), requested), token.id)
    claims = credentials.read_access_token(credential, secret=jwt_secret, issuer=issuer)
    if claims is None:
        return None
    user = await users.get_user(session, claims.user_id)
    if user is None or not user.is_active:
        return None
    if claims.token_version != user.token_version:
        return None  # issued before a password change, reset or disabling
    return Principal(user, granted_scopes(Role(user.role)))


async def acting_publisher(session: AsyncSession, user_id: int, *, active: bool) -> Publisher:
    """The account's publisher profile; with ``active``, refused while the publisher is
    suspended (it may still look)."""
    publisher = await publishers.get_publisher_of_user(session, user_id)
    if publisher is None:
        raise Forbidden(
            "publisher_profile_required",
            "register as a publisher first: POST /publisher/register",
        )
    if active and publisher.status == "suspended":
        raise Forbidden("publisher_suspended", "this publisher account is suspended")
    return publisher


# --- personal API tokens --------------------------------------------------------------------


async def create_api_token(
    session: AsyncSession,
    caller: Principal,
    *,
    name: str,
    scopes: list[Scope],
    expires_in_days: int,
    settings: Settings,
) -> NewApiToken:
    """A token with some of the caller's role's scopes, living at most
    ``api_token_max_ttl``. Only a signed-in caller makes tokens: a token cannot make
    another (which could outlive or outreach it)."""
    if caller.token_id is not None:
        raise Forbidden("token_cannot_mint_tokens", "API tokens cannot create other tokens")
    if timedelta(days=expires_in_days) > settings.api_token_max_ttl:
        raise DomainError(
            "token_lifetime_too_long",
            f"tokens live at most {settings.api_token_max_ttl.days} days",
        )
    allowed = ROLE_SCOPES[caller.role]
    beyond = set(scopes) - allowed
    if beyond:
        raise DomainError(
            "scope_not_allowed",
            f"your role cannot grant: {', '.join(sorted(beyond))}",
        )
    secret, prefix, digest = credentials.new_api_token()
    expires = datetime.now(UTC) + timedelta(days=expires_in_days)
    token = await users.add_token(
        session,
        ApiToken(
            user_id=caller.user.id,
            name=name,
            token_prefix=prefix,
            token_hash=digest,
            scopes=sorted(set(scopes)),
            expires_at=expires,
        ),
    )
    await audit.record(
        session,
        actor_id=caller.user.id,
        action="api_token.create",
        entity_type="api_token",
        entity_id=token.id,
        changes={"name": name, "scopes": token.scopes},
    )
    await session.commit()
    await session.refresh(token)
    return NewApiToken(token=token, secret=secret)


async def list_api_tokens(session: AsyncSession, user_id: int) -> list[ApiToken]:
    return await users.list_tokens(session, user_id)


async def revoke_api_token(session: AsyncSession, user_id: int, token_id: int) -> None:
    """Revoke one of the account's tokens; revoking it again changes nothing."""
    token = await users.get_token(session, user_id, token_id)
    if token is None:
        raise NotFound("token_not_found", "no such API token")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        await audit.record(
            session,
            actor_id=user_id,
            action="api_token.revoke",
            entity_type="api_token",
            entity_id=token.id,
        )
        await session.commit()


# --- administration -------------------------------------------------------------------------


async def make_admin(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    full_name: str | None,
    passwords: credentials.PasswordHashing,
    promote: bool = False,
) -> AdminMade:
    """Create an admin account. An account with this email (any case) is refused
    (``account_exists``) unless ``promote``: whoever registered it first must not become an
    admin with a password the operator never set. Promoted, it takes the operator's
    password and loses its API tokens and sessions (its token version is bumped); whether
    its address was ever verified is told (``email_verified``) for the operator to hear.
    Audited with no actor: done from the command line. Bad input is refused first
    (``ADMIN_INPUT_ERRORS``)."""
    try:
        email = str(TypeAdapter(EmailStr).validate_python(email))
    except ValidationError:
        raise DomainError("invalid_email", f"not an email address: {email}") from None
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise DomainError(
            "invalid_password", f"the password needs {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        )
    user = await users.get_user_by_email(session, email)
    created = user is None
    password_hash = await passwords.hash(password)
    revoked = 0
    if user is not None:
        if not promote:
            raise Conflict(
                "account_exists",
                f"an account with the email {email} already exists; pass --promote to make "
                "it an admin (its password and API tokens are then replaced)",
            )
        user.role = Role.ADMIN
        user.password_hash = password_hash
        user.token_version += 1
        revoked = await users.revoke_tokens(session, user.id, datetime.now(UTC))
        await users.spend_email_tokens(
            session, user.id, TokenPurpose.RESET_PASSWORD, datetime.now(UTC)
        )
    else:
        user = await users.create_user(
            session,
            email=email,
            password_hash=password_hash,
            full_name=full_name,
            role=Role.ADMIN,
        )
    await session.flush()
    await audit.record(
        session,
        actor_id=None,
        action="user.make_admin",
        entity_type="user",
        entity_id=user.id,
        changes={
            "via": "cli",
            "promoted": not created,
            "api_tokens_revoked": revoked,
            "email_verified": user.email_verified_at is not None,
        },
    )
    await session.commit()
    return AdminMade(
        email=email,
        user=user,
        created=created,
        api_tokens_revoked=revoked,
        email_verified=user.email_verified_at is not None,
    )


# --- the account's lifecycle ----------------------------------------------------------------


async def _deliver_soon(workflows: TemporalFrontDoor) -> None:
    """Someone waits for this mail: have the outbox delivered now rather than at the
    schedule's next minute (best effort; the schedule sends it anyway)."""
    await workflows.nudge_schedule(NotificationDelivery.SCHEDULE_ID)


def _token_ttl(purpose: TokenPurpose, settings: Settings) -> timedelta:
    if purpose is TokenPurpose.VERIFY_EMAIL:
        return settings.email_verification_ttl
    return settings.password_reset_ttl


async def _mail_token(
    session: AsyncSession, user: User, purpose: TokenPurpose, settings: Settings
) -> None:
    """Mail the account a fresh single-use token for ``purpose`` (through the outbox, in
    the caller's transaction); it supersedes the account's earlier ones. Only its hash is
    stored; the outbox keeps the mail's text only until it is delivered."""
    now = datetime.now(UTC)
    ttl = _token_ttl(purpose, settings)
    await users.spend_email_tokens(session, user.id, purpose, now)
    secret, digest = credentials.new_email_token()
    row = await users.add_email_token(
        session,
        EmailToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=digest,
            email=user.email,
            expires_at=now + ttl,
        ),
    )
    mail = token_mail(purpose, secret, ttl, settings.public_base_url)
    kind = MailKind.RESET_PASSWORD
    if purpose is TokenPurpose.VERIFY_EMAIL:
        kind = MailKind.VERIFY_EMAIL
    await outbox.enqueue(
        session,
        key=f"{kind}:{row.id}",
        kind=kind,
        to=user.email,
        subject=mail.subject,
        body=mail.body,
    )


async def _redeem(
    session: AsyncSession, secret: str, purpose: TokenPurpose
) -> tuple[EmailToken, User]:
    """Spend a mailed token: refused alike (``invalid_token``) when unknown, spent,
    expired, of another purpose, or mailed to an address the account no longer has."""
    refused = DomainError("invalid_token", "this code is unknown, used or expired")
    if len(secret) > 200 or "\x00" in secret:
        raise refused
    token = await users.take_email_token(session, credentials.hash_email_token(secret), purpose)
    now = datetime.now(UTC)
    if token is None or token.expires_at <= now:
        raise refused
    user = await users.get_user_for_update(session, token.user_id)
    if user is None or user.email.lower() != token.email.lower():
        raise refused
    token.used_at = now
    return token, user


async def verify_email(
    session: AsyncSession,
    *,
    token: str,
    client: str,
    limiter: RateLimiter,
    settings: Settings,
) -> User:
    """Confirm the address a verification token was mailed to. Tries are counted per
    client (``email_token_rate_per_client``)."""
    limiter.check(settings.email_token_rate_per_client, "email-token-client", client)
    _token, user = await _redeem(session, token, TokenPurpose.VERIFY_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)
        await audit.record(
            session,
            actor_id=user.id,
            action="user.verify_email",
            entity_type="user",
            entity_id=user.id,
            changes={"email": user.email},
        )
    await session.commit()
    return user


async def resend_verification(
    session: AsyncSession,
    caller: Principal,
    *,
    limiter: RateLimiter,
    settings: Settings,
    workflows: TemporalFrontDoor,
) -> str:
    """Mail the caller a new verification token (the earlier ones stop working); at most
    ``verification_mail_rate_per_account``. The address it went to."""
    user = caller.user
    if user.email_verified_at is not None:
        raise Conflict("already_verified", "this email address is already verified")
    limiter.check(settings.verification_mail_rate_per_account, "verify-mail-account", str(user.id))
    await _mail_token(session, user, TokenPurpose.VERIFY_EMAIL, settings)
    await session.commit()
    await _deliver_soon(workflows)
    return user.email


def require_verified_email(user: User, action: str) -> None:
    """Refuse ``action`` (see ``domain.accounts.UNVERIFIED_MAY_NOT``) to an account whose
    address is not verified."""
    if user.email_verified_at is None:
        raise Forbidden(
            "email_not_verified",
            f"verify your email address to {action}: follow the mail we sent, or ask for a "
            "new one with POST /api/v1/auth/verify-email/resend",
        )


async def confirm_password(
    user: User,
    password: str,
    *,
    passwords: credentials.PasswordHashing,
    limiter: RateLimiter,
    settings: Settings,
) -> None:
    """Step-up: the signed-in caller proves they know the account's password before a
    sensitive change. A wrong one is ``wrong_password`` (403); wrong ones are counted per
    account (``password_check_failures_per_account``), so a stolen session cannot guess
    it; a right one takes its count back."""
    key = str(user.id)
    rule = settings.password_check_failures_per_account
    limiter.check(rule, "password-check-account", key)
    if len(password) > PASSWORD_MAX or not await passwords.verify(password, user.password_hash):
        raise Forbidden("wrong_password", "the current password is wrong")
    limiter.refund(rule, "password-check-account", key)


async def _new_password(
    session: AsyncSession,
    user: User,
    new_password: str,
    *,
    passwords: credentials.PasswordHashing,
    how: str,
) -> None:
    """Set the password, end every earlier session (bump the token version), spend every
    reset token, and tell the owner by mail."""
    now = datetime.now(UTC)
    user.password_hash = await passwords.hash(new_password)
    user.token_version += 1
    await users.spend_email_tokens(session, user.id, TokenPurpose.RESET_PASSWORD, now)
    mail = password_changed_mail(how)
    await outbox.enqueue(
        session,
        key=f"{MailKind.PASSWORD_CHANGED}:{user.id}:{user.token_version}",
        kind=MailKind.PASSWORD_CHANGED,
        to=user.email,
        subject=mail.subject,
        body=mail.body,
    )


async def change_password(
    session: AsyncSession,
    caller: Principal,
    *,
    current_password: str,
    new_password: str,
    revoke_api_tokens: bool,
    passwords: credentials.PasswordHashing,
    limiter: RateLimiter,
    settings: Settings,
    jwt_secret: str,
) -> AccessToken:
    """Change the caller's password (the current one is required, ``confirm_password``).
    Every session issued before ends, the caller's included: a new access token is
    returned for this one. API tokens stay unless ``revoke_api_tokens``."""
    user = await users.get_user_for_update(session, caller.user.id)
    assert user is not None
    await confirm_password(
        user, current_password, passwords=passwords, limiter=limiter, settings=settings
    )
    await _new_password(session, user, new_password, passwords=passwords, how="changed")
    revoked = 0
    if revoke_api_tokens:
        revoked = await users.revoke_tokens(session, user.id, datetime.now(UTC))
    await audit.record(
        session,
        actor_id=user.id,
        action="user.password_change",
        entity_type="user",
        entity_id=user.id,
        changes={"api_tokens_revoked": revoked},
    )
    issued = _session_token(user, jwt_secret=jwt_secret, settings=settings)
    await session.commit()
    return issued


async def request_password_reset(
    session: AsyncSession,
    *,
    email: str,
    client: str,
    limiter: RateLimiter,
    settings: Settings,
    workflows: TemporalFrontDoor,
) -> None:
    """Mail a reset token to the account with this address, if there is an active one.
    The caller learns nothing either way: the answer is the same, and the limits
    (``password_reset_rate_per_client``, ``password_reset_rate_per_email``) count every
    request whether or not the address has an account."""
    address = email.strip().lower()[:EMAIL_MAX]
    limiter.check(settings.password_reset_rate_per_client, "reset-client", client)
    limiter.check(settings.password_reset_rate_per_email, "reset-email", address)
    user = await users.get_user_by_email(session, address) if "\x00" not in address else None
    if user is not None and user.is_active:
        await _mail_token(session, user, TokenPurpose.RESET_PASSWORD, settings)
        await audit.record(
            session,
            actor_id=None,
            action="user.password_reset_requested",
            entity_type="user",
            entity_id=user.id,
            changes={"client": client},
        )
        await session.commit()
    await _deliver_soon(workflows)  # either way: how long the answer takes tells nothing


async def reset_password(
    session: AsyncSession,
    *,
    token: str,
    new_password: str,
    passwords: credentials.PasswordHashing,
    client: str,
    limiter: RateLimiter,
    settings: Settings,
) -> None:
    """Set a new password with a mailed reset token. Every session ends and every API
    token is revoked (whoever knew the old password may have made some); the address is
    verified by the way (the code reached it). A disabled account stays locked."""
    limiter.check(settings.email_token_rate_per_client, "email-token-client", client)
    _token, user = await _redeem(session, token, TokenPurpose.RESET_PASSWORD)
    if not user.is_active:
        raise Forbidden("account_disabled", "this account is disabled")
    await _new_password(session, user, new_password, passwords=passwords, how="reset")
    now = datetime.now(UTC)
    revoked = await users.revoke_tokens(session, user.id, now)
    if user.email_verified_at is None:
        user.email_verified_at = now
    await audit.record(
        session,
        actor_id=user.id,
        action="user.password_reset",
        entity_type="user",
        entity_id=user.id,
        changes={"api_tokens_revoked": revoked},
    )
    await session.commit()


async def set_disabled(
    session: AsyncSession,
    user_id: int,
    *,
    disabled: bool,
    reason: str | None,
    actor_id: int,
) -> User:
    """An admin disables an account (``reason`` required) or enables it again. Disabled,
    it cannot sign in, every access token is refused (the token version is bumped) and
    its API tokens are revoked (enabling does not bring them back). An admin cannot
    disable their own account."""
    if disabled and user_id == actor_id:
        raise Forbidden("cannot_disable_self", "you cannot disable your own account")
    user = await users.get_user_for_update(session, user_id)
    if user is None:
        raise NotFound("user_not_found", "no such account")
    now = datetime.now(UTC)
    if disabled:
        if not user.is_active:
            raise Conflict("already_disabled", "this account is already disabled")
        user.is_active = False
        user.disabled_at = now
        user.disabled_reason = reason
        user.token_version += 1
        revoked = await users.revoke_tokens(session, user.id, now)
        await users.spend_email_tokens(session, user.id, TokenPurpose.RESET_PASSWORD, now)
        changes: dict[str, object] = {
            "is_active": [True, False],
            "reason": reason,
            "api_tokens_revoked": revoked,
        }
    else:
        if user.is_active:
            raise Conflict("not_disabled", "this account is not disabled")
        changes = {
            "is_active": [False, True],
            "note": reason,
            "disabled": {"at": user.disabled_at, "reason": user.disabled_reason},
        }
        user.is_active = True
        user.disabled_at = None
        user.disabled_reason = None
    await audit.record(
        session,
        actor_id=actor_id,
        action="user.disable" if disabled else "user.enable",
        entity_type="user",
        entity_id=user.id,
        changes=changes,
    )
    await session.commit()
    return user
