"""The catalogue: the category tree and the admins' management of it, what the public
lists, pages and search show, and the modules the marketplace features.

Lists show listed modules only: published, public, of a publisher not suspended. An
unlisted module is reached by its slug; a private one by its own publisher only.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.categories import check_new_parent
from domain.discovery import (
    SUGGEST_TERMS_MAX,
    SUGGESTION_LENGTH_SLACK,
    TRENDING_WINDOW,
    ModuleFilters,
    ModuleSort,
    Segment,
    can_view_by_slug,
    closest_word,
    effective_sort,
    marked_segments,
    search_terms,
    suggested_query,
)
from domain.errors import Conflict, DomainError, NotFound
from domain.modules import LicenseType, ModuleStatus
from domain.slugs import slugify
from integrations.search import PostgresSearch, SearchBackend, SearchQuery
from models.module import MarketplaceCategory, MarketplaceModule, ModuleVersion
from models.repositories import audit, categories, discovery, modules
from models.repositories import search as pg_search
from models.repositories.discovery import PublisherProfile

CATEGORY_REQUIRED_ON_UPDATE = ("name", "slug", "order", "is_active")


# --- categories ---------------------------------------------------------------------------


async def category_rows(
    session: AsyncSession, *, active_only: bool
) -> list[tuple[MarketplaceCategory, int]]:
    """Categories in display order, each with its count of published public modules."""
    return await categories.list_categories(session, active_only=active_only)


async def _check_parent(
    session: AsyncSession, category_id: int | None, parent_id: int | None
) -> None:
    if parent_id is None:
        return
    if await categories.get_category(session, parent_id) is None:
        raise DomainError("unknown_parent", f"there is no category {parent_id}")
    if category_id is not None:
        check_new_parent(category_id, await categories.ancestor_ids(session, parent_id))


async def _category(session: AsyncSession, category_id: int) -> MarketplaceCategory:
    category = await categories.get_category(session, category_id)
    if category is None:
        raise NotFound("category_not_found", "no such category")
    return category


async def create_category(
    session: AsyncSession, values: dict[str, Any], *, actor_id: int
) -> MarketplaceCategory:
    """``values``: the category's fields; without a slug, one is made from the name."""
    await _check_parent(session, None, values.get("parent_id"))
    slug = values.get("slug") or slugify(values["name"])
    if not slug:
        raise DomainError("slug_required", "choose a slug: the name has no usable letters")
    category = MarketplaceCategory(
        **{field: value for field, value in values.items() if field != "slug"}, slug=slug
    )
    await categories.save_category(session, category)
    await audit.record(
        session,
        actor_id=actor_id,
        action="category.create",
        entity_type="category",
        entity_id=category.id,
        changes=values,
    )
    await session.commit()
    await session.refresh(category)
    return category


async def update_category(
    session: AsyncSession, category_id: int, changes: dict[str, Any], *, actor_id: int
) -> MarketplaceCategory:
    """``changes``: only the fields sent; a parent is checked for cycles."""
    category = await _category(session, category_id)
    for field in CATEGORY_REQUIRED_ON_UPDATE:
        if field in changes and changes[field] is None:
            raise DomainError("field_required", f"{field} cannot be empty")
    if "parent_id" in changes:
        await _check_parent(session, category.id, changes["parent_id"])
    for field, value in changes.items():
        setattr(category, field, value)
    await categories.save_category(session, category)
    await audit.record(
        session,
        actor_id=actor_id,
        action="category.update",
        entity_type="category",
        entity_id=category.id,
        changes=changes,
    )
    await session.commit()
    await session.refresh(category)
    return category


async def delete_category(session: AsyncSession, category_id: int, *, actor_id: int) -> None:
    """Only an empty category can go; deactivate one that still holds modules."""
    category = await _category(session, category_id)
    if await categories.category_in_use(session, category.id):
        raise Conflict(
            "category_in_use", "the category has subcategories or modules; deactivate it instead"
        )
    await categories.delete_category(session, category)
    await audit.record(
        session,
        actor_id=actor_id,
        action="category.delete",
        entity_type="category",
        entity_id=category_id,
        changes={"slug": category.slug},
    )
    await session.commit()


# --- discovery ----------------------------------------------------------------------------


INT32_MAX = 2**31 - 1


async def category_slug(session: AsyncSession, ref: str) -> str | None:
    """The slug of the category ``ref`` names: its slug, else (all digits) its id; None
    when it names none. A slug wins over an id, since a slug may be all digits."""
    found = await categories.by_slug(session, ref)
    if found is None and ref.isdigit() and 0 < int(ref) <= INT32_MAX:
        found = await categories.get_category(session, int(ref))
    return found.slug if found is not None else None


async def list_modules(
    session: AsyncSession, filters: ModuleFilters, sort: ModuleSort | None, limit: int, offset: int
) -> tuple[list[MarketplaceModule], int]:
    """Listed modules matching ``filters`` and the total that match; without a sort,
    relevance when there is a query."""
    chosen = effective_sort(sort, has_query=filters.q is not None)
    return await discovery.list_modules(session, filters, sort=chosen, limit=limit, offset=offset)


async def viewable_module(
    session: AsyncSession, slug: str, viewer_id: int | None
) -> MarketplaceModule:
    """The module ``slug`` if ``viewer_id`` (None: anonymous) may see it, else not found."""
    module = await discovery.module_by_slug(session, slug)
    if module is None or not can_view_by_slug(
        module.status,
        module.visibility,
        module.publisher.status,
        is_owner=viewer_id is not None and viewer_id == module.publisher.user_id,
    ):
        raise NotFound("module_not_found", "no such module")
    return module


async def module_page(
    session: AsyncSession, slug: str, viewer_id: int | None
) -> tuple[MarketplaceModule, ModuleVersion | None]:
    """The module and its newest published version (None before the first)."""
    module = await viewable_module(session, slug, viewer_id)
    return module, await discovery.latest_version(session, module.id)


async def public_versions(
    session: AsyncSession, slug: str, viewer_id: int | None
) -> list[ModuleVersion]:
    """Published and deprecated versions, newest first by semver."""
    module = await viewable_module(session, slug, viewer_id)
    return await discovery.public_versions(session, module.id)


async def featured(session: AsyncSession, *, limit: int) -> list[MarketplaceModule]:
    return await discovery.featured(session, limit=limit)


async def trending(session: AsyncSession, *, limit: int) -> list[tuple[MarketplaceModule, int]]:
    """The most downloaded in the last 7 days, with those downloads; ties by downloads of
    all time."""
    since = datetime.now(UTC) - TRENDING_WINDOW
    return await discovery.trending(session, since=since, limit=limit)


POPULAR_CATEGORIES = 5


@dataclass(frozen=True)
class Highlights:
    """A module's name, summary and description snippet as the query matched them."""

    name: list[Segment]
    summary: list[Segment]
    description: list[Segment]
    """Empty when the description matched nothing."""


@dataclass(frozen=True)
class DidYouMean:
    query: str
    total: int
    """What that query finds (with the same filters)."""


@dataclass(frozen=True)
class Suggestions:
    """What an empty result offers instead."""

    did_you_mean: DidYouMean | None
    popular_categories: list[tuple[MarketplaceCategory, int]]


@dataclass(frozen=True)
class SearchResult:
    modules: list[MarketplaceModule]
    total: int
    facets: dict[str, dict[str, int]]
    highlights: dict[int, Highlights]
    suggestions: Suggestions | None
    """Only for a search that found nothing."""


def _search_backend(search: SearchBackend | None, session: AsyncSession) -> SearchBackend:
    """The configured engine; Postgres runs on the caller's own session."""
    if search is None or isinstance(search, PostgresSearch):
        return PostgresSearch.on_session(session)
    return search


async def search_modules(
    session: AsyncSession,
    q: str,
    *,
    category: str | None,
    license_type: LicenseType | None,
    limit: int,
    offset: int,
    search: SearchBackend | None,
) -> SearchResult:
    """Full-text search, best match first, with counts per category and license type over
    everything that matched. The engine gives ids; the modules are read back from
    Postgres, so a stale document never shows a module that is no longer listed."""
    slugs = None
    if category is not None:
        slugs = await discovery.category_subtree_slugs(session, category)
    backend = _search_backend(search, session)
    query = SearchQuery(
        q=q, category_slugs=slugs, license_type=license_type, limit=limit, offset=offset
    )
    hits = await backend.search(query)
    found = await discovery.listed_by_ids(session, hits.ids)
    marked = await pg_search.highlights(session, [module.id for module in found], q)
    highlights = {
        module_id: Highlights(
            **{
                part: marked_segments(text, pg_search.MARK_START, pg_search.MARK_END)
                for part, text in parts.items()
            }
        )
        for module_id, parts in marked.items()
    }
    suggestions = None
    if hits.total == 0:
        suggestions = Suggestions(
            did_you_mean=await _did_you_mean(session, backend, query),
            popular_categories=await pg_search.popular_categories(
                session, limit=POPULAR_CATEGORIES
            ),
        )
    return SearchResult(
        modules=found,
        total=hits.total,
        facets=hits.facets,
        highlights=highlights,
        suggestions=suggestions,
    )


async def _did_you_mean(
    session: AsyncSession, backend: SearchBackend, query: SearchQuery
) -> DidYouMean | None:
    """The query with its words replaced by the closest words (trigram similarity) of the
    listed modules' names and tags, if that finds something with the same filters."""
    terms = search_terms(query.q)
    asked = terms[:SUGGEST_TERMS_MAX]
    if not asked:
        return None
    words = await pg_search.vocabulary(
        session,
        min_length=min(len(term) for term in asked) - SUGGESTION_LENGTH_SLACK,
        max_length=max(len(term) for term in asked) + SUGGESTION_LENGTH_SLACK,
    )
    closest = {}
    for term in asked:
        word = closest_word(term, words)
        if word is not None:
            closest[term] = word
    suggestion = suggested_query(terms, closest)
    if suggestion is None:
        return None
    again = query.model_copy(update={"q": suggestion, "limit": 1, "offset": 0})
    found = await backend.search(again)
    return DidYouMean(query=suggestion, total=found.total) if found.total else None


async def publisher_profile(session: AsyncSession, slug: str) -> PublisherProfile:
    """A publisher's public profile; a suspended publisher has none."""
    profile = await discovery.publisher_profile(session, slug)
    if profile is None:
        raise NotFound("publisher_not_found", "no such publisher")
    return profile


async def publisher_modules(
    session: AsyncSession, slug: str, sort: ModuleSort | None, limit: int, offset: int
) -> tuple[list[MarketplaceModule], int]:
    """A publisher's listed modules."""
    await publisher_profile(session, slug)
    return await list_modules(session, ModuleFilters(publisher_slug=slug), sort, limit, offset)


# --- featuring ----------------------------------------------------------------------------


async def _module_for_update(session: AsyncSession, module_id: int) -> MarketplaceModule:
    module = await modules.get_module_for_update(session, module_id)
    if module is None:
        raise NotFound("module_not_found", "no such module")
    return module


async def feature_module(
    session: AsyncSession, module_id: int, order: int | None, *, actor_id: int
) -> MarketplaceModule:
    """Feature a published module at ``order``; featuring it again moves it. Without an
    order it keeps its current place, or goes after those with one."""
    module = await _module_for_update(session, module_id)
    if module.status != ModuleStatus.PUBLISHED:
        raise Conflict(
            "module_not_published",
            f"the module is {module.status}: only published modules can be featured",
        )
    if order is None and module.featured:
        order = module.featured_order
    before = {"featured": module.featured, "featured_order": module.featured_order}
    module.featured, module.featured_order = True, order
    module.updated_by = actor_id
    if before != {"featured": True, "featured_order": order}:
        await audit.record(
            session,
            actor_id=actor_id,
            action="module.feature",
            entity_type="module",
            entity_id=module.id,
            changes={"before": before, "after": {"featured": True, "featured_order": order}},
        )
    await session.commit()
    await session.refresh(module)
    return module


async def unfeature_module(
    session: AsyncSession, module_id: int, *, actor_id: int
) -> MarketplaceModule:
    """Take a module off the featured list; one not featured is left as it is."""
    module = await _module_for_update(session, module_id)
    if module.featured or module.featured_order is not None:
        before = {"featured": module.featured, "featured_order": module.featured_order}
        module.featured, module.featured_order = False, None
        module.updated_by = actor_id
        await audit.record(
            session,
            actor_id=actor_id,
            action="module.unfeature",
            entity_type="module",
            entity_id=module.id,
            changes={"before": before},
        )
        await session.commit()
        await session.refresh(module)
    return module
