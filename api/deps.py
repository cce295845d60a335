"""Request dependencies: the DB session, settings, the adapters, the Temporal front door,
and who is calling. Routers take what they need from here, never from ``app.state``."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import security
from domain.access import Role, Scope, granted_scopes
from domain.errors import Forbidden, Unauthenticated
from integrations.license_signing import LicenseKeyRing
from integrations.license_vault import LicenseVault
from integrations.payments.registry import Gateways
from integrations.rate_limit import RateLimiter
from integrations.search import SearchBackend
from integrations.signing import KeyRing
from integrations.storage import ObjectStorage
from integrations.temporal.front_door import TemporalFrontDoor
from integrations.wiring import Adapters
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


# The dependencies below only read what the app holds, so they are ``async def``: FastAPI
# runs a plain ``def`` dependency in a worker thread, a hop that costs more than the
# lookup (the license verify hot path takes several of them on every call).


def _adapters(request: Request) -> Adapters:
    return request.app.state.adapters


async def get_sessions(request: Request) -> async_sessionmaker:
    return request.app.state.sessions


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_adapters(request: Request) -> Adapters:
    return _adapters(request)


async def get_workflows(request: Request) -> TemporalFrontDoor:
    return request.app.state.workflows


async def get_rate_limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


async def get_storage(request: Request) -> ObjectStorage:
    return _adapters(request).storage


async def get_signing_keys(request: Request) -> KeyRing:
    return _adapters(request).signing_keys


async def get_license_keys(request: Request) -> LicenseKeyRing:
    return _adapters(request).license_keys


async def get_license_vault(request: Request) -> LicenseVault:
    return _adapters(request).license_vault


async def get_gateways(request: Request) -> Gateways:
    return _adapters(request).gateways


async def get_search(request: Request) -> SearchBackend:
    return _adapters(request).search


async def client_address(request: Request) -> str:
    """The caller's address as the server saw it."""
    return request.client.host if request.client else "unknown"


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
SessionsDep = Annotated[async_sessionmaker, Depends(get_sessions)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AdaptersDep = Annotated[Adapters, Depends(get_adapters)]
WorkflowsDep = Annotated[TemporalFrontDoor, Depends(get_workflows)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
StorageDep = Annotated[ObjectStorage, Depends(get_storage)]
SigningKeysDep = Annotated[KeyRing, Depends(get_signing_keys)]
LicenseKeysDep = Annotated[LicenseKeyRing, Depends(get_license_keys)]
LicenseVaultDep = Annotated[LicenseVault, Depends(get_license_vault)]
GatewaysDep = Annotated[Gateways, Depends(get_gateways)]
SearchDep = Annotated[SearchBackend, Depends(get_search)]
ClientAddressDep = Annotated[str, Depends(client_address)]


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
    credential: str, session: AsyncSession, jwt_secret: str, issuer: str
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
    user_id = security.read_access_token(credential, secret=jwt_secret, issuer=issuer)
    user = await users.get_user(session, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        return None
    return Principal(user, granted_scopes(Role(user.role)))


async def current_principal(
    security_scopes: SecurityScopes,
    session: SessionDep,
    adapters: AdaptersDep,
    credential: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The caller, who must hold every scope the endpoint declares."""
    if not credential:
        raise Unauthenticated("not_authenticated", "sign in or send an API token")
    principal = await _principal_from(
        credential, session, adapters.jwt_secret, adapters.settings.jwt_issuer
    )
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
    adapters: AdaptersDep,
    credential: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal | None:
    """The caller when a credential is sent (it must be valid), else None."""
    if not credential:
        return None
    principal = await _principal_from(
        credential, session, adapters.jwt_secret, adapters.settings.jwt_issuer
    )
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
