"""The public catalogue: listings with filters and sorts, a module's page and versions,
featured and trending modules, publisher profiles."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    SQLColumnExpression,
    Text,
    UnaryExpression,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, contains_eager

from domain.discovery import (
    RANGE_BOUND_PATTERN,
    ModuleFilters,
    ModuleSort,
    Release,
)
from domain.modules import ModuleStatus, Visibility
from models.analytics import ModuleDownload
from models.module import MarketplaceCategory, MarketplaceModule, ModuleVersion
from models.publisher import Publisher, PublisherStats
from models.repositories.listed import SUSPENDED, listed
from models.repositories.search import text_query

PUBLISHED_VERSION = "published"
PUBLIC_VERSION_STATUSES = (PUBLISHED_VERSION, "deprecated")
TRENDING_STATS_PERIOD = "30d"


# --- building blocks --------------------------------------------------------------------


def _catalogue() -> Select[MarketplaceModule]:
    """Modules with their publisher and category loaded by the same query."""
    return (
        select(MarketplaceModule)
        .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
        .outerjoin(MarketplaceCategory, MarketplaceCategory.id == MarketplaceModule.category_id)
        .options(
            contains_eager(MarketplaceModule.publisher),
            contains_eager(MarketplaceModule.category),
        )
    )


def category_subtree_ids(slug: str) -> Select[int]:
    """Ids of the category named by ``slug`` and of every category below it."""
    tree = (
        select(MarketplaceCategory.id)
        .where(MarketplaceCategory.slug == slug)
        .cte("category_subtree", recursive=True)
    )
    child = aliased(MarketplaceCategory)
    # UNION, not UNION ALL: even a corrupted, cyclic tree ends.
    tree = tree.union(select(child.id).join(tree, child.parent_id == tree.c.id))
    return select(tree.c.id)


async def category_subtree_slugs(session: AsyncSession, slug: str) -> list[str]:
    """Slugs of the category and its descendants; empty when there is no such category."""
    rows = await session.execute(
        select(MarketplaceCategory.slug)
        .where(MarketplaceCategory.id.in_(category_subtree_ids(slug)))
        .order_by(MarketplaceCategory.slug)
    )
    return list(rows.scalars())


def _bound_key(bound: SQLColumnExpression[str | None]) -> ColumnElement[Any]:
    """A stored compatibility bound as ARRAY[major, minor, patch], or NULL when it does not
    read as one (``domain.discovery.RANGE_BOUND_PATTERN``, the same pattern as in Python)."""
    lowered = func.lower(bound)
    parts = func.regexp_match(lowered, RANGE_BOUND_PATTERN, type_=ARRAY(Text))
    key = array(
        [
            cast(parts[1], Integer),
            func.coalesce(cast(parts[2], Integer), 0),
            func.coalesce(cast(parts[3], Integer), 0),
        ]
    )
    return case((lowered.op("~")(RANGE_BOUND_PATTERN), key), else_=null())


def compatible(
    release: Release,
    minimum: SQLColumnExpression[str | None],
    maximum: SQLColumnExpression[str | None],
) -> ColumnElement[bool]:
    """``minimum <= release < maximum`` compared as versions; a NULL bound is open and an
    unreadable one admits nothing (mirrors ``domain.discovery.is_compatible``)."""
    wanted = type_coerce(array([literal(part, Integer) for part in release]), ARRAY(Integer))
    return and_(
        or_(minimum.is_(None), _bound_key(minimum) <= wanted),
        or_(maximum.is_(None), wanted < _bound_key(maximum)),
    )


def _filters(filters: ModuleFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.q is not None:
        where.append(MarketplaceModule.search_vector.op("@@")(text_query(filters.q)))
    if filters.category_slug is not None:
        where.append(MarketplaceModule.category_id.in_(category_subtree_ids(filters.category_slug)))
    if filters.license_type is not None:
        where.append(MarketplaceModule.license_type == filters.license_type)
    price = func.coalesce(MarketplaceModule.price, 0)
    if filters.min_price is not None:
        where.append(price >= filters.min_price)
    if filters.max_price is not None:
        where.append(price <= filters.max_price)
    if filters.fastvue_version is not None:
        where.append(
            exists().where(
                ModuleVersion.module_id == MarketplaceModule.id,
                ModuleVersion.status == PUBLISHED_VERSION,
                compatible(
                    filters.fastvue_version,
                    ModuleVersion.min_fastvue_version,
                    ModuleVersion.max_fastvue_version,
                ),
            )
        )
    if filters.tags:
        where.append(MarketplaceModule.tags.contains(list(filters.tags)))
    if filters.publisher_slug is not None:
        where.append(Publisher.slug == filters.publisher_slug)
    if filters.min_rating is not None:
        where.append(MarketplaceModule.rating_average >= filters.min_rating)
    if filters.verified_publisher is not None:
        where.append(Publisher.verified.is_(filters.verified_publisher))
    return where


def _order(sort: ModuleSort, q: str | None) -> list[UnaryExpression[Any]]:
    module = MarketplaceModule
    by_downloads = [module.download_count.desc(), module.id.asc()]
    if sort is ModuleSort.RELEVANCE and q is not None:
        rank = func.ts_rank_cd(module.search_vector, text_query(q))
        return [rank.desc(), *by_downloads]
    if sort is ModuleSort.RATING:
        return [
            module.rating_average.desc().nulls_last(),
            module.rating_count.desc(),
            *by_downloads,
        ]
    if sort is ModuleSort.NEWEST:
        listed_at = func.coalesce(module.reviewed_at, module.created_at)
        return [listed_at.desc(), module.id.desc()]
    if sort in (ModuleSort.PRICE_ASC, ModuleSort.PRICE_DESC):
        price = func.coalesce(module.price, 0)
        return [price.asc() if sort is ModuleSort.PRICE_ASC else price.desc(), *by_downloads]
    return by_downloads


# --- listings ---------------------------------------------------------------------------


async def list_modules(
    session: AsyncSession,
    filters: ModuleFilters,
    *,
    sort: ModuleSort,
    limit: int,
    offset: int,
) -> tuple[list[MarketplaceModule], int]:
    """A page of listed modules matching every filter, and how many match in all."""
    where = listed() + _filters(filters)
    total = (
        await session.execute(
            select(func.count())
            .select_from(MarketplaceModule)
            .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
            .where(*where)
        )
    ).scalar_one()
    rows = await session.execute(
        _catalogue().where(*where).order_by(*_order(sort, filters.q)).limit(limit).offset(offset)
    )
    return list(rows.scalars().unique()), total


async def listed_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[MarketplaceModule]:
    """The listed modules among ``ids``, in the order of ``ids`` (a search backend's
    ranking); an id that is no longer listed is dropped."""
    if not ids:
        return []
    rows = await session.execute(_catalogue().where(*listed(), MarketplaceModule.id.in_(ids)))
    found = {module.id: module for module in rows.scalars().unique()}
    return [found[module_id] for module_id in ids if module_id in found]


async def featured(session: AsyncSession, *, limit: int) -> list[MarketplaceModule]:
    rows = await session.execute(
        _catalogue()
        .where(*listed(), MarketplaceModule.featured)
        .order_by(
            MarketplaceModule.featured_order.asc().nulls_last(),
            MarketplaceModule.id.asc(),
        )
        .limit(limit)
    )
    return list(rows.scalars().unique())


async def trending(
    session: AsyncSession, *, since: datetime, limit: int
) -> list[tuple[MarketplaceModule, int]]:
    """Listed modules downloaded since ``since``, the most downloaded in that window first;
    ties go to the most downloaded of all time, then to the publisher with the most
    downloads in the last 30 days as of the nightly roll-up (``PublisherStats`` "30d")."""
    recent = (
        select(ModuleDownload.module_id, func.count().label("downloads"))
        .where(ModuleDownload.created_at >= since)
        .group_by(ModuleDownload.module_id)
        .subquery("recent")
    )
    momentum = aliased(PublisherStats)
    rows = await session.execute(
        _catalogue()
        .add_columns(recent.c.downloads)
        .join(recent, recent.c.module_id == MarketplaceModule.id)
        .outerjoin(
            momentum,
            and_(
                momentum.publisher_id == MarketplaceModule.publisher_id,
                momentum.period == TRENDING_STATS_PERIOD,
            ),
        )
        .where(*listed())
        .order_by(
            recent.c.downloads.desc(),
            MarketplaceModule.download_count.desc(),
            momentum.total_downloads.desc().nulls_last(),
            MarketplaceModule.id.asc(),
        )
        .limit(limit)
    )
    return [(module, downloads) for module, downloads in rows.unique().all()]


# --- one module -------------------------------------------------------------------------


async def module_by_slug(session: AsyncSession, slug: str) -> MarketplaceModule | None:
    """The module with its publisher and category, whatever its status and visibility:
    the caller decides who may see it (``domain.discovery.can_view_by_slug``)."""
    rows = await session.execute(_catalogue().where(MarketplaceModule.slug == slug))
    return rows.scalars().unique().one_or_none()


def _newest_first() -> list[UnaryExpression[Any]]:
    """Semver order, newest first: numbers, then a release before its pre-releases."""
    version = ModuleVersion
    return [
        version.semver_major.desc().nulls_last(),
        version.semver_minor.desc().nulls_last(),
        version.semver_patch.desc().nulls_last(),
        version.is_prerelease.asc(),
        version.published_at.desc().nulls_last(),
        version.id.desc(),
    ]


async def latest_version(session: AsyncSession, module_id: int) -> ModuleVersion | None:
    """The published version marked latest, else the newest published one."""
    rows = await session.execute(
        select(ModuleVersion)
        .where(
            ModuleVersion.module_id == module_id,
            ModuleVersion.status == PUBLISHED_VERSION,
        )
        .order_by(ModuleVersion.is_latest.desc(), *_newest_first())
        .limit(1)
    )
    return rows.scalar_one_or_none()


async def public_versions(session: AsyncSession, module_id: int) -> list[ModuleVersion]:
    """Published and deprecated versions, newest first by semver."""
    rows = await session.execute(
        select(ModuleVersion)
        .where(
            ModuleVersion.module_id == module_id,
            ModuleVersion.status.in_(PUBLIC_VERSION_STATUSES),
        )
        .order_by(*_newest_first())
    )
    return list(rows.scalars())


# --- publishers -------------------------------------------------------------------------


@dataclass(frozen=True)
class PublisherProfile:
    publisher: Publisher
    module_count: int
    total_downloads: int


async def publisher_profile(session: AsyncSession, slug: str) -> PublisherProfile | None:
    """A publisher in good standing with the totals of their listed modules; None for an
    unknown or suspended one."""
    theirs = and_(
        MarketplaceModule.publisher_id == Publisher.id,
        MarketplaceModule.status == ModuleStatus.PUBLISHED,
        MarketplaceModule.visibility == Visibility.PUBLIC,
    )
    modules = select(func.count()).where(theirs).correlate(Publisher).scalar_subquery()
    downloads = (
        select(func.coalesce(func.sum(MarketplaceModule.download_count), 0))
        .where(theirs)
        .correlate(Publisher)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(Publisher, modules, downloads).where(
                Publisher.slug == slug, Publisher.status != SUSPENDED
            )
        )
    ).one_or_none()
    if row is None:
        return None
    publisher, module_count, total_downloads = row
    return PublisherProfile(publisher, int(module_count), int(total_downloads))
