"""The public catalogue (spec §3.1): listings, a module's page and versions, featured and
trending modules, full-text search, publisher profiles. Anyone may call these.

Lists show listed modules only: published, public, of a publisher not suspended. An
unlisted module is reached by its slug; a private one by its own publisher only.
"""

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import MaybePrincipal, SearchDep, SessionDep
from api.errors import UnusableValue
from api.params import Limit, Offset
from api.schemas import Page
from api.schemas.discovery import (
    CategoryCountOut,
    DidYouMeanOut,
    Facets,
    HighlightsOut,
    LatestVersion,
    ModuleDetail,
    ModuleSummary,
    ModuleViewerOut,
    OwnedLicenseOut,
    PendingOrderRef,
    PublicVersionOut,
    PublisherProfileOut,
    SearchHit,
    SearchPage,
    SuggestionsOut,
    TextSegment,
    TrendingModule,
    TrialOut,
    ViewerActionsOut,
    ViewerReviewOut,
)
from api.tracking import context_of
from domain.access import Scope
from domain.discovery import (
    RELEASE_INPUT_PATTERN,
    SEARCH_QUERY_MAX,
    ModuleFilters,
    ModuleSort,
    Segment,
    parse_release,
)
from domain.errors import Forbidden
from domain.modules import MAX_PRICE, LicenseType
from domain.slugs import SLUG_PATTERN
from models.module import MarketplaceModule, ModuleVersion
from services import catalog
from services import viewer as viewers
from services.catalog import Highlights
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


CategoryQuery = Annotated[
    str | None,
    Query(
        max_length=100,
        pattern=SLUG_PATTERN,
        description="A category's slug or id; includes its subcategories. One that names "
        "no category is refused: 422 `unknown_category`",
    ),
]


async def _category_slug(session: AsyncSession, category: str | None) -> str | None:
    if category is None:
        return None
    slug = await catalog.category_slug(session, category)
    if slug is None:
        raise UnusableValue(
            "unknown_category", ("query", "category"), "no category has this slug or id"
        )
    return slug


def _summaries(modules: list[MarketplaceModule]) -> list[ModuleSummary]:
    return [ModuleSummary.model_validate(module) for module in modules]


def _page_of(
    found: tuple[list[MarketplaceModule], int], limit: int, offset: int
) -> Page[ModuleSummary]:
    modules, total = found
    return Page[ModuleSummary](items=_summaries(modules), total=total, limit=limit, offset=offset)


@router.get("/modules", response_model=Page[ModuleSummary])
async def list_modules(
    session: SessionDep,
    q: TextQuery = None,
    category: CategoryQuery = None,
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
    verified_publisher: Annotated[
        bool | None,
        Query(description="true: modules of verified publishers only; false: of the others"),
    ] = None,
    sort: Annotated[
        ModuleSort | None, Query(description="relevance needs q; the default without q")
    ] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[ModuleSummary]:
    """Listed modules, filtered, sorted and paged, with the total that match."""
    filters = ModuleFilters(
        q=q if q and not q.isspace() else None,  # a blank search box asks for everything
        category_slug=await _category_slug(session, category),
        license_type=license_type,
        min_price=min_price,
        max_price=max_price,
        fastvue_version=parse_release(fastvue_version) if fastvue_version else None,
        tags=tuple(dict.fromkeys(tags)),
        publisher_slug=publisher,
        min_rating=min_rating,
        verified_publisher=verified_publisher,
    )
    if min_price is not None and max_price is not None and min_price > max_price:
        raise _invalid("min_price", "min_price is above max_price")
    found = await catalog.list_modules(session, filters, sort, limit, offset)
    return _page_of(found, limit, offset)


@router.get("/modules/{slug}", response_model=ModuleDetail)
async def module_detail(
    slug: ModuleSlug, request: Request, session: SessionDep, viewer: Viewer
) -> ModuleDetail:
    """A module's page, with the newest published version to download and verify. Counts
    a view once per UTC day: per signed-in user, else per session (``X-Session-Id``, else
    the caller's IP and user agent), at most 5 anonymous ones per client address."""
    user_id = viewer.user.id if viewer else None
    module, latest = await catalog.module_page(session, slug, user_id)
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
    await track_view(session, context_of(request, user_id), module.id, user_id)
    return detail


@router.get("/modules/{slug}/viewer", response_model=ModuleViewerOut)
async def module_viewer(slug: ModuleSlug, session: SessionDep, viewer: Viewer) -> ModuleViewerOut:
    """What the caller may do with the module on its page: free download, add to cart,
    buy now, start the trial, download with their license, or "you own this" with the
    license; anonymous callers are offered what an account could do
    (``sign_in_required``). A credential must carry the ``account`` scope (its cart and
    licenses are read). Counts nothing."""
    if viewer is not None and Scope.ACCOUNT not in viewer.scopes:
        raise Forbidden("insufficient_scope", "this needs the scope(s) account")
    found = await viewers.module_viewer(session, slug, viewer.user.id if viewer else None)
    module = found.module
    return ModuleViewerOut(
        module_id=module.id,
        slug=module.slug,
        signed_in=found.signed_in,
        actions=ViewerActionsOut.model_validate(found.actions, from_attributes=True),
        owned=OwnedLicenseOut.model_validate(found.license) if found.license else None,
        cart_item_id=found.cart_item_id,
        pending_order=(
            PendingOrderRef.model_validate(found.pending_order) if found.pending_order else None
        ),
        trial=TrialOut(
            offered=found.trial_offered,
            days=module.trial_days if found.trial_offered else None,
            used=found.trial_used,
        ),
        review=ViewerReviewOut(
            may_write=found.review_refused is None,
            reason=found.review_refused,
            own_review_id=found.own_review_id,
        ),
    )


@router.get("/modules/{slug}/versions", response_model=list[PublicVersionOut])
async def module_versions(
    slug: ModuleSlug, session: SessionDep, viewer: Viewer
) -> list[ModuleVersion]:
    """Published and deprecated versions, newest first by semver."""
    return await catalog.public_versions(session, slug, viewer.user.id if viewer else None)


@router.get("/featured", response_model=list[ModuleSummary])
async def featured_modules(session: SessionDep, limit: FeedLimit = 20) -> list[ModuleSummary]:
    """Modules the marketplace features, in their featured order."""
    return _summaries(await catalog.featured(session, limit=limit))


@router.get("/trending", response_model=list[TrendingModule])
async def trending_modules(session: SessionDep, limit: FeedLimit = 20) -> list[TrendingModule]:
    """The most downloaded in the last 7 days; ties by downloads of all time."""
    rows = await catalog.trending(session, limit=limit)
    return [
        TrendingModule(**ModuleSummary.model_validate(module).model_dump(), recent_downloads=n)
        for module, n in rows
    ]


@router.get("/search", response_model=SearchPage)
async def search(
    session: SessionDep,
    search_backend: SearchDep,
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
    category: CategoryQuery = None,
    license_type: LicenseType | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> SearchPage:
    """Full-text search, best match first, with counts per category and license type
    over everything that matched. Each hit carries ``highlights``: its name, summary and a
    description snippet as text segments, the matched words marked (``match``), to render
    as text. A search that found nothing answers ``suggestions``: a ``did_you_mean``
    query that finds something, and the most popular categories."""
    found = await catalog.search_modules(
        session,
        q,
        category=await _category_slug(session, category),
        license_type=license_type,
        limit=limit,
        offset=offset,
        search=search_backend,
    )
    suggestions = found.suggestions
    return SearchPage(
        items=[_hit(module, found.highlights.get(module.id)) for module in found.modules],
        total=found.total,
        limit=limit,
        offset=offset,
        facets=Facets(**found.facets),
        suggestions=(
            SuggestionsOut(
                did_you_mean=(
                    DidYouMeanOut(
                        query=suggestions.did_you_mean.query,
                        total=suggestions.did_you_mean.total,
                    )
                    if suggestions.did_you_mean
                    else None
                ),
                popular_categories=[
                    CategoryCountOut(
                        id=category.id, slug=category.slug, name=category.name, module_count=n
                    )
                    for category, n in suggestions.popular_categories
                ],
            )
            if suggestions is not None
            else None
        ),
    )


def _segments(parts: list[Segment]) -> list[TextSegment]:
    return [TextSegment(text=part.text, match=part.match) for part in parts]


def _hit(module: MarketplaceModule, marked: Highlights | None) -> SearchHit:
    summary = ModuleSummary.model_validate(module)
    if marked is None:  # read as plain text
        marked = Highlights(
            name=[Segment(module.display_name, False)],
            summary=[Segment(module.short_description, False)],
            description=[],
        )
    return SearchHit(
        **summary.model_dump(),
        highlights=HighlightsOut(
            name=_segments(marked.name),
            summary=_segments(marked.summary),
            description=_segments(marked.description),
        ),
    )


@router.get("/publishers/{slug}", response_model=PublisherProfileOut)
async def publisher_profile(slug: PublisherSlug, session: SessionDep) -> PublisherProfileOut:
    """A publisher's public profile; a suspended publisher has none."""
    profile = await catalog.publisher_profile(session, slug)
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
) -> Page[ModuleSummary]:
    """A publisher's listed modules."""
    found = await catalog.publisher_modules(session, slug, sort, limit, offset)
    return _page_of(found, limit, offset)
