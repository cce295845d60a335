"""Catalogue search: one interface, two engines.

The embedded default is Postgres full-text search: a generated, weighted tsvector with a GIN
index (models/search_vector.py), so indexing is the database's job and ``index``/``remove``
do nothing. Production may use Typesense through its official client instead; the
publishing pipeline then keeps the collection current with ``index``/``remove``.

Only listed modules (published, public, of a publisher not suspended) belong in an index;
``module_document`` builds the document the pipeline's index step hands to ``index``.
"""

import contextlib
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import typesense
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from typesense.configuration import ConfigDict, NodeConfigDict
from typesense.exceptions import ObjectAlreadyExists, ObjectNotFound, TypesenseClientError
from typesense.types.collection import CollectionCreateSchema
from typesense.types.document import SearchParameters

from domain.errors import DomainError, ErrorKind
from models.module import MarketplaceModule
from models.repositories import modules as module_repository
from models.repositories import publishers as publisher_repository
from models.repositories import search as pg_search
from models.repositories.listed import SUSPENDED

log = logging.getLogger("marketplace.search")

FACETS = ("category", "license_type")
QUERY_FIELDS = ("name", "summary", "description", "tags", "keywords")
QUERY_WEIGHTS = (4, 3, 2, 1, 1)
"""name > summary > description > tags = keywords, as the Postgres vector's A/B/C/D."""


class ModuleDocument(BaseModel):
    """What a search engine knows of a listed module."""

    id: int
    slug: str
    name: str
    summary: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    category_slug: str | None = None
    license_type: str
    price: Decimal = Decimal(0)
    downloads: int = 0
    rating: Decimal | None = None
    published_at: datetime | None = None
    publisher_slug: str


class SearchQuery(BaseModel):
    q: str
    category_slugs: list[str] | None = None
    """The category asked for and those below it; None for any category."""
    license_type: str | None = None
    limit: int = 20
    offset: int = 0


def _no_facets() -> dict[str, dict[str, int]]:
    return {f: {} for f in FACETS}


class SearchHits(BaseModel):
    ids: list[int]
    """Module ids, best match first."""
    total: int
    facets: dict[str, dict[str, int]] = Field(default_factory=_no_facets)


class SearchBackend(Protocol):
    async def index(self, doc: ModuleDocument) -> None:
        """Add or replace the module's document. Idempotent."""

    async def remove(self, module_id: int) -> None:
        """Drop the module from the index; removing an absent one is not an error."""

    async def search(self, query: SearchQuery) -> SearchHits: ...

    async def aclose(self) -> None:
        """Release connections (at application shutdown)."""


def module_document(
    module: MarketplaceModule, publisher_slug: str, category_slug: str | None
) -> ModuleDocument:
    """The search document of a module, with its publisher's and category's slugs."""
    return ModuleDocument(
        id=module.id,
        slug=module.slug,
        name=module.display_name,
        summary=module.short_description,
        description=module.description or "",
        tags=[str(tag) for tag in module.tags or []],
        keywords=[str(keyword) for keyword in module.keywords or []],
        category_slug=category_slug,
        license_type=module.license_type,
        price=module.price or Decimal(0),
        downloads=module.download_count or 0,
        rating=module.rating_average,
        published_at=module.reviewed_at,
        publisher_slug=publisher_slug,
    )


# --- Postgres ---------------------------------------------------------------------------

SessionSource = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class PostgresSearch:
    """Full-text search on the catalogue's own tables.

    ``sessions`` opens a session per search: a sessionmaker, or (``on_session``) a
    request's own session, so a search inside a request uses that request's connection
    and transaction rather than holding a second pooled connection.
    """

    def __init__(self, sessions: SessionSource) -> None:
        self._sessions = sessions

    @classmethod
    def on_session(cls, session: AsyncSession) -> "PostgresSearch":
        @contextlib.asynccontextmanager
        async def borrowed() -> AsyncIterator[AsyncSession]:
            yield session

        return cls(borrowed)

    async def index(self, doc: ModuleDocument) -> None:
        """Nothing to do: the generated search_vector column follows every change."""

    async def remove(self, module_id: int) -> None:
        """Nothing to do: only listed modules are ever searched."""

    async def search(self, query: SearchQuery) -> SearchHits:
        async with self._sessions() as session:
            found = await pg_search.search_modules(
                session,
                query.q,
                category_slugs=query.category_slugs,
                license_type=query.license_type,
                limit=query.limit,
                offset=query.offset,
            )
        return SearchHits(ids=found.ids, total=found.total, facets=found.facets)

    async def aclose(self) -> None:
        pass


# --- Typesense --------------------------------------------------------------------------


def collection_schema(name: str) -> CollectionCreateSchema:
    return {
        "name": name,
        "fields": [
            {"name": "slug", "type": "string", "index": False, "optional": True},
            {"name": "name", "type": "string"},
            {"name": "summary", "type": "string"},
            {"name": "description", "type": "string", "optional": True},
            {"name": "tags", "type": "string[]", "facet": True, "optional": True},
            {"name": "keywords", "type": "string[]", "optional": True},
            {"name": "category_slug", "type": "string", "facet": True, "optional": True},
            {"name": "license_type", "type": "string", "facet": True},
            {"name": "publisher_slug", "type": "string", "facet": True},
            {"name": "price", "type": "float"},
            {"name": "downloads", "type": "int64"},
            {"name": "rating", "type": "float", "optional": True},
            {"name": "published_at", "type": "int64", "optional": True},
        ],
        "default_sorting_field": "downloads",
        "token_separators": ["-", "_"],
    }


def _filter_value(value: str) -> str:
    """A value in a filter_by expression, backtick-quoted so no character is syntax."""
    return "`" + value.replace("`", "") + "`"


def typesense_document(doc: ModuleDocument) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(doc.id),
        "slug": doc.slug,
        "name": doc.name,
        "summary": doc.summary,
        "description": doc.description,
        "tags": doc.tags,
        "keywords": doc.keywords,
        "license_type": doc.license_type,
        "publisher_slug": doc.publisher_slug,
        "price": float(doc.price),
        "downloads": doc.downloads,
    }
    if doc.category_slug is not None:
        data["category_slug"] = doc.category_slug
    if doc.rating is not None:
        data["rating"] = float(doc.rating)
    if doc.published_at is not None:
        data["published_at"] = int(doc.published_at.timestamp())
    return data


@contextlib.contextmanager
def _quiet_client() -> Iterator[None]:
    """The client builds its deprecated v1 helpers (analytics, overrides, synonyms) for
    everyone; we use none of them, so their warnings say nothing about our code."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".* is deprecated on v30", DeprecationWarning)
        yield


def _unavailable(error: Exception) -> DomainError:
    log.warning("search engine failed: %r", error)
    return DomainError(
        "search_unavailable", "search is unavailable, try again shortly", ErrorKind.UNAVAILABLE
    )


class TypesenseSearch:
    """Search on a Typesense collection, through the official (async) client."""

    def __init__(self, client: typesense.AsyncClient, collection: str) -> None:
        self.client = client
        self.collection = collection
        with _quiet_client():
            self._collection = client.collections[collection]
            self._documents = self._collection.documents
        self._collection_ready = False

    async def ensure_collection(self) -> None:
        """Create the collection unless it exists (a concurrent creation is fine too)."""
        if self._collection_ready:
            return
        try:
            await self._collection.retrieve()
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):
                await self.client.collections.create(collection_schema(self.collection))
        self._collection_ready = True

    async def index(self, doc: ModuleDocument) -> None:
        await self.ensure_collection()
        await self._documents.upsert(typesense_document(doc))

    async def remove(self, module_id: int) -> None:
        with contextlib.suppress(ObjectNotFound):
            await self._documents[str(module_id)].delete()

    def search_parameters(self, query: SearchQuery) -> SearchParameters:
        filters = []
        if query.category_slugs is not None:
            slugs = ",".join(_filter_value(slug) for slug in query.category_slugs)
            filters.append(f"category_slug:=[{slugs}]")
        if query.license_type is not None:
            filters.append(f"license_type:={_filter_value(query.license_type)}")
        parameters: SearchParameters = {
            "q": query.q,
            "query_by": ",".join(QUERY_FIELDS),
            "query_by_weights": ",".join(str(weight) for weight in QUERY_WEIGHTS),
            "prefix": "true",
            "facet_by": "category_slug,license_type",
            "max_facet_values": 250,
            "sort_by": "_text_match:desc,downloads:desc",
            "include_fields": "id",
            "limit": query.limit,
            "offset": query.offset,
        }
        if filters:
            parameters["filter_by"] = " && ".join(filters)
        return parameters

    async def search(self, query: SearchQuery) -> SearchHits:
        if query.category_slugs == []:
            return SearchHits(ids=[], total=0)
        try:
            response = await self._documents.search(self.search_parameters(query))
            return hits_from_response(response)
        except ObjectNotFound:  # nothing indexed yet
            return SearchHits(ids=[], total=0)
        except (TypesenseClientError, httpx.HTTPError, OSError) as error:
            raise _unavailable(error) from error
        except (ValueError, KeyError, TypeError, AttributeError) as error:  # a garbled answer
            raise _unavailable(error) from error

    async def aclose(self) -> None:
        await self.client.api_call.aclose()


def hits_from_response(response: Any) -> SearchHits:
    """Map a Typesense search response to ids (in its order), total and facets."""
    ids: list[int] = []
    for hit in response.get("hits", []):
        raw = str(hit.get("document", {}).get("id", ""))
        if raw.isascii() and raw.isdigit():
            ids.append(int(raw))
    field_facet = {"category_slug": "category", "license_type": "license_type"}
    facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    for facet in response.get("facet_counts", []):
        name = field_facet.get(facet.get("field_name"))
        if name is not None:
            facets[name] = {str(c["value"]): int(c["count"]) for c in facet.get("counts", [])}
    return SearchHits(ids=ids, total=int(response.get("found", 0)), facets=facets)


# --- choosing one -----------------------------------------------------------------------


def typesense_client(url: str, api_key: str | None) -> typesense.AsyncClient:
    if api_key is None:
        raise ValueError(
            "search_backend is typesense: set MARKETPLACE_TYPESENSE_API_KEY "
            "(and MARKETPLACE_TYPESENSE_URL)"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"typesense_url is not an http(s) URL: {url!r}")
    node: NodeConfigDict = {
        "host": parts.hostname,
        "port": parts.port or (443 if parts.scheme == "https" else 80),
        "protocol": parts.scheme,
        "path": parts.path.rstrip("/"),
    }
    config: ConfigDict = {
        "nodes": [node],
        "api_key": api_key,
        "connection_timeout_seconds": 5,
        "num_retries": 2,
        "retry_interval_seconds": 0.2,
        "suppress_deprecation_warnings": True,
    }
    with _quiet_client():
        return typesense.AsyncClient(config)


async def reindex_module(search: SearchBackend, session: AsyncSession, module_id: int) -> None:
    """Index a listed module (published, public, of a publisher not suspended), or drop
    it from the index otherwise."""
    found = await module_repository.module_for_index(session, module_id)
    listed = (
        found is not None
        and found[0].status == "published"
        and found[0].visibility == "public"
        and await _publisher_in_good_standing(session, found[0].publisher_id)
    )
    if listed and found is not None:
        await search.index(module_document(*found))
    else:
        await search.remove(module_id)


async def _publisher_in_good_standing(session: AsyncSession, publisher_id: int) -> bool:
    publisher = await publisher_repository.get_publisher(session, publisher_id)
    return publisher is not None and publisher.status != SUSPENDED
