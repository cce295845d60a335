"""Request dependencies: the DB session, settings, the adapters, the Temporal front door,
and who is calling. Routers take what they need from here, never from ``app.state``."""

from collections.abc import AsyncIterator, Iterable
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.access import Scope
from domain.errors import Forbidden, Unauthenticated
from integrations.download_links import DownloadLinks
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
from services import accounts
from services.accounts import Principal
from services.credentials import PasswordHashing
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
    adapters: Adapters = request.app.state.adapters
    return adapters


async def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_adapters(request: Request) -> Adapters:
    return _adapters(request)


async def get_workflows(request: Request) -> TemporalFrontDoor:
    workflows: TemporalFrontDoor = request.app.state.workflows
    return workflows


async def get_rate_limiter(request: Request) -> RateLimiter:
    rate_limiter: RateLimiter = request.app.state.rate_limiter
    return rate_limiter


async def get_passwords(request: Request) -> PasswordHashing:
    passwords: PasswordHashing = request.app.state.passwords
    return passwords


async def get_storage(request: Request) -> ObjectStorage:
    return _adapters(request).storage


async def get_download_links(request: Request) -> DownloadLinks:
    return _adapters(request).download_links


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


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(entry, strict=False) for entry in trusted)


def _is_trusted(host: str, networks: Iterable[IPv4Network | IPv6Network]) -> bool:
    try:
        address = ip_address(host.strip("[]"))
    except ValueError:
        return False
    return any(address in network for network in networks)


def forwarded_client(peer: str, forwarded_for: list[str], trusted: tuple[str, ...]) -> str:
    """Who sent the request: ``peer`` unless it is a trusted proxy; then the right-most
    X-Forwarded-For hop that is not a trusted proxy (everything left of it could be
    made up by the client), or the left-most hop when all are trusted."""
    networks = _networks(trusted)
    if not networks or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


async def client_address(
    request: Request, settings: Annotated[Settings, Depends(get_settings)]
) -> str:
    """The caller's address: the peer, or what a trusted proxy (``trusted_proxies``) says
    in X-Forwarded-For. Rate limits are keyed on it, so a client must not pick it."""
    if request.client is None:
        return "unknown"
    return forwarded_client(
        request.client.host,
        request.headers.getlist("x-forwarded-for"),
        tuple(settings.trusted_proxies),
    )


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AdaptersDep = Annotated[Adapters, Depends(get_adapters)]
WorkflowsDep = Annotated[TemporalFrontDoor, Depends(get_workflows)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
PasswordsDep = Annotated[PasswordHashing, Depends(get_passwords)]
StorageDep = Annotated[ObjectStorage, Depends(get_storage)]
DownloadLinksDep = Annotated[DownloadLinks, Depends(get_download_links)]
SigningKeysDep = Annotated[KeyRing, Depends(get_signing_keys)]
LicenseKeysDep = Annotated[LicenseKeyRing, Depends(get_license_keys)]
LicenseVaultDep = Annotated[LicenseVault, Depends(get_license_vault)]
GatewaysDep = Annotated[Gateways, Depends(get_gateways)]
SearchDep = Annotated[SearchBackend, Depends(get_search)]
ClientAddressDep = Annotated[str, Depends(client_address)]


# ``Principal`` (who is calling, with what scopes) is made by the accounts service; routers
# take it from here, with the dependencies that give it.


async def _principal_from(
    credential: str, session: AsyncSession, adapters: Adapters
) -> Principal | None:
    return await accounts.resolve_principal(
        session, credential, jwt_secret=adapters.jwt_secret, issuer=adapters.settings.jwt_issuer
    )


async def current_principal(
    security_scopes: SecurityScopes,
    session: SessionDep,
    adapters: AdaptersDep,
    credential: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The caller, who must hold every scope the endpoint declares."""
    if not credential:
        raise Unauthenticated("not_authenticated", "sign in or send an API token")
    principal = await _principal_from(credential, session, adapters)
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
    principal = await _principal_from(credential, session, adapters)
    if principal is None:
        raise Unauthenticated("invalid_token", "the access token is invalid or expired")
    return principal


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def requires(*scopes: Scope) -> Any:
    return Security(current_principal, scopes=[scope.value for scope in scopes])


AccountPrincipal = Annotated[Principal, requires(Scope.ACCOUNT)]
AdminPrincipal = Annotated[Principal, requires(Scope.ADMIN)]


def publisher_of_caller(*scopes: Scope, active: bool) -> Any:
    """A dependency giving the caller's publisher profile, for a caller holding every one
    of ``scopes``; with ``active``, refused while the publisher is suspended (it may still
    look)."""

    async def dependency(
        principal: Annotated[Principal, requires(*scopes)], session: SessionDep
    ) -> Publisher:
        return await accounts.acting_publisher(session, principal.user.id, active=active)

    return Depends(dependency)


PublisherDep = Annotated[Publisher, publisher_of_caller(Scope.MODULES_WRITE, active=False)]
ActivePublisherDep = Annotated[Publisher, publisher_of_caller(Scope.MODULES_WRITE, active=True)]
UploaderDep = Annotated[Publisher, publisher_of_caller(Scope.PUBLISH, active=True)]
ReleaseReaderDep = Annotated[Publisher, publisher_of_caller(Scope.PUBLISH, active=False)]
EarningsReaderDep = Annotated[
    Publisher, publisher_of_caller(Scope.MODULES_WRITE, Scope.ACCOUNT, active=False)
]
"""Money matters need the account scope too: a token made to automate listings cannot read
earnings, payouts or the analytics (sales and revenue), nor redirect payouts."""
PayoutSettingsDep = Annotated[
    Publisher, publisher_of_caller(Scope.MODULES_WRITE, Scope.ACCOUNT, active=True)
]
