"""Accounts: register, sign in, personal API tokens, who a credential belongs to, the
publisher profile a caller acts as, and admins made from the command line."""

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
from domain.errors import Conflict, DomainError, Forbidden, NotFound, Unauthenticated
from integrations.rate_limit import RateLimited, RateLimiter
from models.publisher import Publisher
from models.repositories import audit, publishers, users
from models.user import ApiToken, User
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
) -> User:
    """A consumer account; ``email_taken`` when one with this email (any case) exists.
    Slowed per client (``register_rate_per_client``): each costs a password hash."""
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
    await session.commit()
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
    token, expires = credentials.issue_access_token(
        user.id,
        secret=jwt_secret,
        issuer=settings.jwt_issuer,
        ttl=settings.access_token_ttl,
        password_hash=user.password_hash,
    )
    await users.mark_login(session, user, datetime.now(UTC))
    await session.commit()
    return AccessToken(token=token, expires_at=expires)


# --- who is calling -------------------------------------------------------------------------


async def resolve_principal(
    session: AsyncSession, credential: str, *, jwt_secret: str, issuer: str
) -> Principal | None:
    """The active account an API token or access token belongs to, with the scopes it
    carries; None for anything invalid, expired, revoked or disabled.

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
    user_id, stamp = claims
    user = await users.get_user(session, user_id)
    if user is None or not user.is_active:
        return None
    if stamp is not None and stamp != credentials.password_stamp(user.password_hash):
        return None  # issued on a password the account no longer has
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
    password and loses its API tokens and sessions (a new password hash ends every access
    token issued before). Audited with no actor: done from the command line. Bad input is
    refused first (``ADMIN_INPUT_ERRORS``)."""
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
        revoked = await users.revoke_tokens(session, user.id, datetime.now(UTC))
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
        changes={"via": "cli", "promoted": not created, "api_tokens_revoked": revoked},
    )
    await session.commit()
    return AdminMade(email=email, user=user, created=created, api_tokens_revoked=revoked)
