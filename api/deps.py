"""Request dependencies: the DB session, settings, Temporal, and who is calling."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api import security
from api.temporal import TemporalConnector
from domain.access import Role, Scope, granted_scopes
from domain.errors import Forbidden, Unauthenticated
from models.publisher import Publisher
from models.repositories import publishers, users
from models.user import User
from settings import Settings

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    scopes={scope.value: (scope.__doc__ or scope.value) for scope in Scope},
)


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, else rolled back."""
    async with request.app.state.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_temporal(request: Request) -> Client:
    connector: TemporalConnector = request.app.state.temporal
    return await connector.client()


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]


@dataclass(frozen=True)
class Principal:
    user: User
    scopes: frozenset[Scope]
    token_id: int | None = None

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


async def _principal_from(
    credential: str, session: AsyncSession, settings: Settings
) -> Principal | None:
    if security.is_api_token(credential):
        token = await users.get_token_by_hash(session, security.hash_api_token(credential))
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
    user_id = security.read_access_token(
        credential, secret=settings.resolved_jwt_secret(), issuer=settings.jwt_issuer
    )
    user = await users.get_user(session, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        return None
    return Principal(user, granted_scopes(Role(user.role)))


async def current_principal(
    security_scopes: SecurityScopes,
    session: SessionDep,
    settings: SettingsDep,
    credential: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The caller, who must hold every scope the endpoint declares."""
    if not credential:
        raise Unauthenticated("not_authenticated", "sign in or send an API token")
    principal = await _principal_from(credential, session, settings)
    if principal is None:
        raise Unauthenticated("invalid_token", "the access token is invalid or expired")
    missing = {Scope(s) for s in security_scopes.scopes} - principal.scopes
    if missing:
        raise Forbidden(
            "insufficient_scope",
            f"this needs the scope(s) {', '.join(sorted(missing))}",
        )
    return principal


async def optional_principal(
    session: SessionDep,
    settings: SettingsDep,
    credential: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal | None:
    """The caller when a credential is sent (it must be valid), else None."""
    if not credential:
        return None
    principal = await _principal_from(credential, session, settings)
    if principal is None:
        raise Unauthenticated("invalid_token", "the access token is invalid or expired")
    return principal


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def requires(*scopes: Scope):
    return Security(current_principal, scopes=[scope.value for scope in scopes])


AccountPrincipal = Annotated[Principal, requires(Scope.ACCOUNT)]
AdminPrincipal = Annotated[Principal, requires(Scope.ADMIN)]


def publisher_of_caller(*scopes: Scope, active: bool):
    """A dependency giving the caller's publisher profile, for a caller holding every one
    of ``scopes``; with ``active``, refused while the publisher is suspended (it may still
    look)."""

    async def dependency(
        principal: Annotated[Principal, requires(*scopes)], session: SessionDep
    ) -> Publisher:
        publisher = await publishers.get_publisher_of_user(session, principal.user.id)
        if publisher is None:
            raise Forbidden(
                "publisher_profile_required",
                "register as a publisher first: POST /publisher/register",
            )
        if active and publisher.status == "suspended":
            raise Forbidden("publisher_suspended", "this publisher account is suspended")
        return publisher

    return Depends(dependency)


PublisherDep = Annotated[Publisher, publisher_of_caller(Scope.MODULES_WRITE, active=False)]
ActivePublisherDep = Annotated[Publisher, publisher_of_caller(Scope.MODULES_WRITE, active=True)]
UploaderDep = Annotated[Publisher, publisher_of_caller(Scope.PUBLISH, active=True)]
ReleaseReaderDep = Annotated[Publisher, publisher_of_caller(Scope.PUBLISH, active=False)]
EarningsReaderDep = Annotated[
    Publisher, publisher_of_caller(Scope.MODULES_WRITE, Scope.ACCOUNT, active=False)
]
"""Money matters need the account scope too: a token made to automate listings cannot read
earnings or redirect payouts."""
PayoutSettingsDep = Annotated[
    Publisher, publisher_of_caller(Scope.MODULES_WRITE, Scope.ACCOUNT, active=True)
]
