"""Full-text search of the catalogue on Postgres: the weighted ``search_vector`` (name A,
summary B, description C, tags and keywords D; see models/search_vector.py) with its GIN
index, ranked by ``ts_rank_cd``, and facet counts over everything that matched.

User text never becomes query syntax: ``domain.discovery.search_terms`` keeps only runs of
letters and digits, and each word travels as a bound parameter into ``to_tsquery``.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    SQLColumnExpression,
    bindparam,
    func,
    literal_column,
    null,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from domain.discovery import search_terms
from models.module import MarketplaceCategory, MarketplaceModule
from models.publisher import Publisher
from models.repositories.listed import listed

FACETS = ("category", "license_type")

# The two configurations the vector is built with: names, tags and keywords as written
# ('simple'), summary and description stemmed ('english'). A word is looked for in both.
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
_ENGLISH: ColumnElement[Any] = literal_column("'english'::regconfig")


def text_query(text: str) -> ColumnElement[Any]:
    """A tsquery that matches documents holding every word of ``text``, each as a prefix
    (``greet`` finds ``greeting``), as written or stemmed. NULL, which matches nothing,
    when ``text`` has no words at all."""
    terms = search_terms(text)
    if not terms:
        return null().cast(TSQUERY)
    query: ColumnElement[Any] | None = None
    for term in terms:
        pattern: BindParameter[str] = bindparam(None, f"{term}:*", unique=True)
        either = func.to_tsquery(_SIMPLE, pattern, type_=TSQUERY).op("||", return_type=TSQUERY)(
            func.to_tsquery(_ENGLISH, pattern, type_=TSQUERY)
        )
        query = either if query is None else query.op("&&", return_type=TSQUERY)(either)
    assert query is not None  # there was a term
    return query


@dataclass
class SearchResult:
    ids: list[int]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=lambda: {f: {} for f in FACETS})


async def search_modules(
    session: AsyncSession,
    text: str,
    *,
    category_slugs: list[str] | None,
    license_type: str | None,
    limit: int,
    offset: int,
) -> SearchResult:
    """Listed modules matching ``text`` and the filters, best first; facets count the
    categories and license types of the whole match set, not just the page."""
    query = text_query(text)
    where = [*listed(), MarketplaceModule.search_vector.op("@@")(query)]
    if category_slugs is not None:
        where.append(MarketplaceCategory.slug.in_(category_slugs))
    if license_type is not None:
        where.append(MarketplaceModule.license_type == license_type)

    def matching(*columns: SQLColumnExpression[Any]) -> Select[*tuple[Any, ...]]:
        return (
            select(*columns)
            .select_from(MarketplaceModule)
            .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
            .outerjoin(MarketplaceCategory, MarketplaceCategory.id == MarketplaceModule.category_id)
            .where(*where)
        )

    category, license = MarketplaceCategory.slug, MarketplaceModule.license_type
    facet_rows = await session.execute(
        matching(func.grouping(category), category, license, func.count()).group_by(
            func.grouping_sets(tuple_(category), tuple_(license))
        )
    )
    result = SearchResult(ids=[], total=0)
    for by_license, slug, license_type_value, count in facet_rows:
        if by_license:  # grouping(category) = 1: this row counts a license type
            result.facets["license_type"][license_type_value] = count
            result.total += count  # every module has exactly one license type
        elif slug is not None:
            result.facets["category"][slug] = count
    if result.total == 0:
        return result

    rank = func.ts_rank_cd(MarketplaceModule.search_vector, query)
    page = await session.execute(
        matching(MarketplaceModule.id)
        .order_by(rank.desc(), MarketplaceModule.download_count.desc(), MarketplaceModule.id)
        .limit(limit)
        .offset(offset)
    )
    result.ids = list(page.scalars())
    return result


# --- highlights -------------------------------------------------------------------------

MARK_START, MARK_END = "\x01", "\x02"
"""What ts_headline puts around a matched word. Neither can be in the text it marks: they
are removed from the text first (stored text refuses control characters anyway)."""

_NAME_OPTIONS = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"
_SNIPPET_OPTIONS = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxFragments=2, MaxWords=20, MinWords=8, "
    'FragmentDelimiter=" … "'
)


def _headline(config: ColumnElement[Any], column: Any, query: Any, options: str) -> Any:
    clean = func.translate(func.coalesce(column, ""), MARK_START + MARK_END, "")
    return func.ts_headline(config, clean, query, bindparam(None, options, unique=True))


async def highlights(session: AsyncSession, ids: list[int], text: str) -> dict[int, dict[str, str]]:
    """The name, summary and a description snippet of each module in ``ids``, with the
    words ``text`` matched between ``MARK_START`` and ``MARK_END``, as the search matched
    them (prefixes, stems). The snippet is empty when the description matched nothing."""
    if not ids:
        return {}
    query = text_query(text)
    rows = await session.execute(
        select(
            MarketplaceModule.id,
            _headline(_SIMPLE, MarketplaceModule.display_name, query, _NAME_OPTIONS),
            _headline(_ENGLISH, MarketplaceModule.short_description, query, _NAME_OPTIONS),
            _headline(_ENGLISH, MarketplaceModule.description, query, _SNIPPET_OPTIONS),
        ).where(MarketplaceModule.id.in_(ids))
    )
    return {
        module_id: {
            "name": name,
            "summary": summary,
            "description": snippet if MARK_START in snippet else "",
        }
        for module_id, name, summary, snippet in rows
    }


# --- suggestions for an empty result ----------------------------------------------------


async def vocabulary(session: AsyncSession, *, min_length: int, max_length: int) -> list[str]:
    """The distinct words (lower case) of the listed modules' names and tags, of
    ``min_length`` to ``max_length`` characters: what a misspelt query word may mean."""
    names = (
        select(
            func.unnest(
                func.regexp_split_to_array(
                    func.lower(MarketplaceModule.display_name), r"[^[:alnum:]]+"
                )
            ).label("word")
        )
        .select_from(MarketplaceModule)
        .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
        .where(*listed())
    )
    tags = (
        select(func.lower(func.jsonb_array_elements_text(MarketplaceModule.tags)).label("word"))
        .select_from(MarketplaceModule)
        .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
        .where(*listed(), func.jsonb_typeof(MarketplaceModule.tags) == "array")
    )
    words = names.union(tags).subquery()
    length = func.char_length(words.c.word)
    rows = await session.execute(
        select(words.c.word)
        .where(length >= min_length, length <= max_length)
        .order_by(words.c.word)
    )
    return list(rows.scalars())


async def popular_categories(
    session: AsyncSession, *, limit: int
) -> list[tuple[MarketplaceCategory, int]]:
    """Active categories holding the most listed modules (filed directly under them)."""
    count = func.count(MarketplaceModule.id)
    rows = await session.execute(
        select(MarketplaceCategory, count)
        .select_from(MarketplaceModule)
        .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
        .join(MarketplaceCategory, MarketplaceCategory.id == MarketplaceModule.category_id)
        .where(*listed(), MarketplaceCategory.is_active)
        .group_by(MarketplaceCategory.id)
        .order_by(count.desc(), MarketplaceCategory.name, MarketplaceCategory.id)
        .limit(limit)
    )
    return [(category, n) for category, n in rows.all()]
