"""The public catalogue (spec §3.1): listings, a module's page and versions, featured and
trending modules, full-text search, publisher profiles. Anyone may call these.

Lists show listed modules only: published, public, of a publisher not suspended. An
unlisted module is reached by its slug; a private one by its own publisher only.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import Field, StringConstraints

from api.deps import MaybePrincipal, Principal, SessionDep
from api.params import Limit, Offset
from api.routers.discovery_schemas import (
    Facets,
    LatestVersion,
    ModuleDetail,
    ModuleSummary,
    PublisherProfileOut,
    SearchPage,
    TrendingModule,
    VersionOut,
)
from api.schemas import Page
from api.tracking import context_of
from domain.discovery import (
    RELEASE_INPUT_PATTERN,
    SEARCH_QUERY_MAX,
    TRENDING_WINDOW,
    ModuleFilters,
    ModuleSort,
    can_view_by_slug,
    effective_sort,
    parse_release,
)
from domain.errors import NotFound
from domain.modules import MAX_PRICE, LicenseType
from domain.slugs import SLUG_PATTERN
from integrations.search import PostgresSearch, SearchBackend, SearchQuery
from models.module import MarketplaceModule
from models.repositories import discovery
from services.tracking import track_view

router = APIRouter(prefix="/api/v1/marketplace", tags=["discovery"])

NO_NUL = r"^[^\x00]*$"
ModuleSlug = Annotated[str, Path(max_length=200, pattern=SLUG_PATTERN)]
PublisherSlug = Annotated[str, Path(max_length=100, pattern=SLUG_PATTERN)]
SlugQuery = Annotated[str | None, Query(max_length=100, pattern=SLUG_PATTERN)]
TextQuery = Annotated[
    str | None,
    Query(max_length=SEARCH_QUERY_MAX, pattern=NO_NUL, description="Words to look for"),
]
PriceQuery = Annotated[Decimal | None, Query(ge=0, le=MAX_PRICE, max_digits=10, decimal_places=2)]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40),
    Field(pattern=NO_NUL),
]
FeedLimit = Annotated[int, Query(ge=1, le=100)]


Viewer = MaybePrincipal
"""Whoever calls, if they sent a credential (which must then be valid)."""


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", field), "msg": message, "type": "value_error"}]
    )


def _summaries(modules: list[MarketplaceModule]) -> list[ModuleSummary]:
    return [ModuleSummary.model_validate(module) for module in modules]


async def _page(
    session, filters: ModuleFilters, sort: ModuleSort | None, limit: int, offset: int
) -> Page[ModuleSummary]:
    if (
        filters.min_price is not None
        and filters.max_price is not None
        and filters.min_price > filters.max_price
    ):
        raise _invalid("min_price", "min_price is above max_price")
    chosen = effective_sort(sort, has_query=filters.q is not None)
    modules, total = await discovery.list_modules(
        session, filters, sort=chosen, limit=limit, offset=offset
    )
    return Page[ModuleSummary](items=_summaries(modules), total=total, limit=limit, offset=offset)


@router.get("/modules", response_model=Page[ModuleSummary])
async def list_modules(
    session: SessionDep,
    q: TextQuery = None,
    category: Annotated[
        str | None,
        Query(max_length=100, pattern=SLUG_PATTERN, description="Includes its subcategories"),
    ] = None,
    license_type: LicenseType | None = None,
    min_price: PriceQuery = None,
    max_price: PriceQuery = None,
    fastvue_version: Annotated[
        str | None,
        Query(
            pattern=RELEASE_INPUT_PATTERN,
            max_length=29,
            description="Modules with a published version compatible with this release",
        ),
    ] = None,
    tags: Annotated[list[Tag], Query(max_length=20, description="All must match")] = [],  # noqa: B006
    publisher: SlugQuery = None,
    min_rating: Annotated[Decimal | None, Query(ge=0, le=5, decimal_places=2)] = None,
    sort: Annotated[
        ModuleSort | None, Query(description="relevance needs q; the default without q")
    ] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    """Listed modules, filtered, sorted and paged, with the total that match."""
    filters = ModuleFilters(
        q=q if q and not q.isspace() else None,  # a blank search box asks for everything
        category_slug=category,
        license_type=license_type,
        min_price=min_price,
        max_price=max_price,
        fastvue_version=parse_release(fastvue_version) if fastvue_version else None,
        tags=tuple(dict.fromkeys(tags)),
        publisher_slug=publisher,
        min_rating=min_rating,
    )
    return await _page(session, filters, sort, limit, offset)


async def _viewable(session, slug: str, viewer: Principal | None) -> MarketplaceModule:
    module = await discovery.module_by_slug(session, slug)
    if module is None or not can_view_by_slug(
        module.status,
        module.visibility,
        module.publisher.status,
        is_owner=viewer is not None and viewer.user.id == module.publisher.user_id,
    ):
        raise NotFound("module_not_found", "no such module")
    return module


@router.get("/modules/{slug}", response_model=ModuleDetail)
async def module_detail(slug: ModuleSlug, request: Request, session: SessionDep, viewer: Viewer):
    """A module's page, with the newest published version to download and verify. Counts
    a view: once per session (``X-Session-Id``, else the caller's IP and user agent) per
    30 minutes."""
    module = await _viewable(session, slug, viewer)
    latest = await discovery.latest_version(session, module.id)
    detail = ModuleDetail.model_validate(
        {
            **{
                name: getattr(module, name)
                for name in ModuleDetail.model_fields
                if name != "latest_version"
            },
            "latest_version": LatestVersion.model_validate(latest) if latest else None,
        },
        from_attributes=True,
    )
    user_id = viewer.user.id if viewer else None
    await track_view(session, context_of(request, user_id), module.id, user_id)
    return detail


@router.get("/modules/{slug}/versions", response_model=list[VersionOut])
async def module_versions(slug: ModuleSlug, session: SessionDep, viewer: Viewer):
    """Published and deprecated versions, newest first by semver."""
    module = await _viewable(session, slug, viewer)
    return await discovery.public_versions(session, module.id)


@router.get("/featured", response_model=list[ModuleSummary])
async def featured_modules(session: SessionDep, limit: FeedLimit = 20):
    """Modules the marketplace features, in their featured order."""
    return _summaries(await discovery.featured(session, limit=limit))


@router.get("/trending", response_model=list[TrendingModule])
async def trending_modules(session: SessionDep, limit: FeedLimit = 20):
    """The most downloaded in the last 7 days; ties by downloads of all time."""
    since = datetime.now(UTC) - TRENDING_WINDOW
    rows = await discovery.trending(session, since=since, limit=limit)
    return [
        TrendingModule(**ModuleSummary.model_validate(module).model_dump(), recent_downloads=n)
        for module, n in rows
    ]


def _search_backend(request: Request, session) -> SearchBackend:
    """The configured engine; Postgres runs on this request's own session."""
    backend = request.app.state.adapters.search
    if backend is None or isinstance(backend, PostgresSearch):
        return PostgresSearch.on_session(session)
    return backend


@router.get("/search", response_model=SearchPage)
async def search(
    request: Request,
    session: SessionDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=SEARCH_QUERY_MAX,
            pattern=NO_NUL,
            description="Words in the name, summary, description, tags or keywords; "
            "each also matches as a prefix",
        ),
    ],
    category: Annotated[
        str | None,
        Query(max_length=100, pattern=SLUG_PATTERN, description="Includes its subcategories"),
    ] = None,
    license_type: LicenseType | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    """Full-text search, best match first, with counts per category and license type
    over everything that matched."""
    slugs = None
    if category is not None:
        slugs = await discovery.category_subtree_slugs(session, category)
    hits = await _search_backend(request, session).search(
        SearchQuery(
            q=q,
            category_slugs=slugs,
            license_type=license_type,
            limit=limit,
            offset=offset,
        )
    )
    modules = await discovery.listed_by_ids(session, hits.ids)
    return SearchPage(
        items=_summaries(modules),
        total=hits.total,
        limit=limit,
        offset=offset,
        facets=Facets(**hits.facets),
    )


@router.get("/publishers/{slug}", response_model=PublisherProfileOut)
async def publisher_profile(slug: PublisherSlug, session: SessionDep):
    """A publisher's public profile; a suspended publisher has none."""
    profile = await discovery.publisher_profile(session, slug)
    if profile is None:
        raise NotFound("publisher_not_found", "no such publisher")
    return PublisherProfileOut.model_validate(
        {
            **{
                name: getattr(profile.publisher, name)
                for name in PublisherProfileOut.model_fields
                if name not in ("module_count", "total_downloads")
            },
            "module_count": profile.module_count,
            "total_downloads": profile.total_downloads,
        }
    )


@router.get("/publishers/{slug}/modules", response_model=Page[ModuleSummary])
async def publisher_modules(
    slug: PublisherSlug,
    session: SessionDep,
    sort: ModuleSort | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    """A publisher's listed modules."""
    if await discovery.publisher_profile(session, slug) is None:
        raise NotFound("publisher_not_found", "no such publisher")
    return await _page(session, ModuleFilters(publisher_slug=slug), sort, limit, offset)
