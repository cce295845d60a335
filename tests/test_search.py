"""Full-text search: the Postgres backend through ``GET /search`` (weighting, prefixes,
what is searchable, hostile text, facets), and the Typesense backend through the real
``typesense`` client against an HTTP fake of the server."""

import socket
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.discovery import search_terms
from domain.errors import DomainError
from domain.modules import ModuleStatus
from integrations.search import (
    QUERY_FIELDS,
    ModuleDocument,
    PostgresSearch,
    SearchQuery,
    TypesenseSearch,
    collection_schema,
    module_document,
    typesense_client,
)
from integrations.wiring import search_from
from models.module import MarketplaceModule
from models.publisher import Publisher
from settings import Settings
from tests.conftest import Api
from tests.factories import unique
from tests.helpers import replaced_adapters
from tests.typesense_fake import API_KEY_HEADER, TypesenseServer

SEARCH = "/api/v1/marketplace/search"
API_KEY = "typesense-test-key"
COLLECTION = "modules_test"


@pytest.fixture
def api(shared_api: Api) -> Api:
    return shared_api


def module(publisher: Publisher, status=ModuleStatus.PUBLISHED, **fields) -> MarketplaceModule:
    name = unique("mod")
    return MarketplaceModule(
        publisher_id=publisher.id,
        technical_name=fields.pop("technical_name", name.replace("-", "_")),
        slug=name,
        display_name=fields.pop("display_name", "Plain module"),
        short_description=fields.pop("short_description", "Does a useful thing."),
        status=status,
        **fields,
    )


async def save(db, *rows):
    async with db() as session:
        session.add_all(rows)
        await session.commit()
    return rows


async def search(api: Api, q: str, **params) -> dict:
    response = await api.request("GET", SEARCH, params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def slugs(body: dict) -> list[str]:
    return [item["slug"] for item in body["items"]]


@pytest.fixture
async def publisher(make):
    _, publisher = await make.publisher()
    return publisher


# --- the words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Greet", ["greet"]),
        ("invoice  PDF export", ["invoice", "pdf", "export"]),
        ("'", []),
        ("&|!:*()", []),
        ("a<->b", ["a", "b"]),
        ("foo:*B & !bar", ["foo", "b", "bar"]),
        ("snake_case-words", ["snake", "case", "words"]),
        ("'; DROP TABLE users; --", ["drop", "table", "users"]),
        ("Ünïcödé 日本語 émoji🎉", ["ünïcödé", "日本語", "émoji"]),
        ("dup dup DUP", ["dup"]),
        (" ".join(f"w{n}" for n in range(30)), [f"w{n}" for n in range(16)]),
        ("\x00\t\n", []),
    ],
)
def test_search_terms_keep_only_words(text, terms):
    assert search_terms(text) == terms


# --- Postgres full-text search ------------------------------------------------------------


async def test_a_name_match_ranks_above_summary_and_description_matches(api, db, publisher):
    in_description = module(publisher, description="Long text that mentions quokka once.")
    in_name = module(publisher, display_name="Quokka Dashboard", download_count=0)
    in_summary = module(publisher, short_description="Counts quokka sightings.")
    in_tags = module(publisher, tags=["quokka"], download_count=10_000)
    unrelated = module(publisher, display_name="Kangaroo")
    await save(db, in_description, in_name, in_summary, in_tags, unrelated)
    body = await search(api, "quokka")
    assert slugs(body) == [m.slug for m in (in_name, in_summary, in_description, in_tags)]
    assert body["total"] == 4


async def test_words_match_as_prefixes_and_stems_and_all_must_match(api, db, publisher):
    greeting = module(publisher, display_name="Greeting Cards", short_description="Print them.")
    greeter = module(publisher, short_description="A friendly greeter for invoices.")
    await save(db, greeting, greeter)
    assert set(slugs(await search(api, "greet"))) == {greeting.slug, greeter.slug}
    assert greeting.slug in slugs(await search(api, "greetings")), "stemmed: greeting"
    assert slugs(await search(api, "GREETING card")) == [greeting.slug], "every word, any case"
    assert slugs(await search(api, "greet invoic")) == [greeter.slug]
    assert slugs(await search(api, "greet nothinglikeit")) == []


async def test_tags_keywords_and_technical_name_are_searchable(api, db, publisher):
    tagged = module(publisher, tags=["spreadsheet", "xlsx"])
    keyworded = module(publisher, keywords=["ledger"])
    named = module(publisher, technical_name=f"hello_{uuid.uuid4().hex[:6]}_widget")
    await save(db, tagged, keyworded, named)
    assert slugs(await search(api, "spread")) == [tagged.slug]
    assert slugs(await search(api, "xlsx")) == [tagged.slug]
    assert slugs(await search(api, "ledge")) == [keyworded.slug]
    assert slugs(await search(api, "widget")) == [named.slug]


async def test_search_lists_only_listed_modules(api, make, db, publisher):
    _, suspended = await make.publisher(status="suspended")
    word = {"display_name": "Wombat tools"}
    listed = module(publisher, **word)
    await save(
        db,
        listed,
        module(publisher, ModuleStatus.DRAFT, **word),
        module(publisher, ModuleStatus.PENDING, **word),
        module(publisher, ModuleStatus.REJECTED, **word),
        module(publisher, ModuleStatus.ARCHIVED, **word),
        module(publisher, visibility="private", **word),
        module(publisher, visibility="unlisted", **word),
        module(suspended, **word),
    )
    body = await search(api, "wombat")
    assert slugs(body) == [listed.slug] and body["total"] == 1
    assert body["facets"]["license_type"] == {"free": 1}


HOSTILE = [
    "'",
    "''",
    '"',
    "\\",
    "&|!:*()",
    "<->",
    "a <-> b",
    "<2>",
    "foo:*",
    ":*",
    "!",
    "!!greet",
    "(((greet",
    "greet & | ! zebra",
    "greet:A",
    "greet:*ABCD",
    "'; DROP TABLE marketplace_modules; --",
    "1' OR '1'='1",
    "$1",
    "%s %(x)s {0}",
    "NULL",
    "_%",
    "\t\r\n",
    "   ",
    "日本語のモジュール",
    "Ünïcödé ß ﬁ",
    "🎉🎉🎉",
    "\u202egreet",
    "\ufeff",
    "x" * 200,
    "greet " * 33 + "g",
    "a" * 199 + "'",
    "setweight to_tsvector",
]


@pytest.mark.parametrize("q", HOSTILE, ids=repr)
async def test_hostile_queries_never_fail(api, db, publisher, q):
    await save(db, module(publisher, display_name="Greeting Cards"))
    body = await search(api, q)
    assert set(body) == {"items", "total", "limit", "offset", "facets", "suggestions"}
    assert body["total"] == len(body["items"])
    async with db() as session:
        still_there = (
            await session.execute(select(func.count()).select_from(MarketplaceModule))
        ).scalar_one()
    assert still_there >= 1


@pytest.mark.parametrize(
    ("q", "finds"),
    [("'greet", True), ("greet:*", True), ("!greet", True), ("<->greet", True), ("gr", True)],
)
async def test_syntax_around_a_word_is_only_a_separator(api, db, publisher, q, finds):
    greeting = module(publisher, display_name="Greeting Cards")
    await save(db, greeting)
    assert (slugs(await search(api, q)) == [greeting.slug]) is finds


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "x" * 201},
        {"q": "a\x00b"},
        {"q": "ok", "category": "Not A Slug"},
        {"q": "ok", "license_type": "gratis"},
        {"q": "ok", "limit": "0"},
        {"q": "ok", "limit": "101"},
        {"q": "ok", "offset": "-1"},
    ],
    ids=repr,
)
async def test_malformed_search_parameters_are_refused_with_422(api, params):
    response = await api.request("GET", SEARCH, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"


@pytest.fixture
async def faceted(make, db, publisher):
    """Nine "yak" modules over a small tree: tools > tools/cli, and docs."""
    tools = await make.category()
    cli = await make.category(tools.id)
    docs = await make.category()
    paid = {"license_type": "paid", "price": Decimal("5.00")}
    rows = [
        module(publisher, display_name="Yak shaver", category_id=tools.id, download_count=9),
        module(publisher, display_name="Yak trimmer", category_id=tools.id, **paid),
        module(publisher, display_name="Yak cli", category_id=cli.id, **paid),
        module(publisher, display_name="Yak prompt", category_id=cli.id, download_count=5),
        module(publisher, display_name="Yak book", category_id=docs.id),
        module(
            publisher,
            display_name="Yak monthly",
            category_id=docs.id,
            license_type="subscription",
            price=Decimal("2.00"),
            subscription_period="monthly",
        ),
        module(publisher, display_name="Yak loose"),  # no category
        module(publisher, display_name="Yak hidden", visibility="private", category_id=docs.id),
        module(publisher, display_name="Llama", category_id=tools.id),
    ]
    await save(db, *rows)
    return tools, cli, docs, rows


async def test_facets_count_the_whole_match_set_not_the_page(api, faceted):
    tools, cli, docs, _ = faceted
    body = await search(api, "yak", limit=2)
    assert len(body["items"]) == 2 and body["total"] == 7
    assert body["facets"] == {
        "category": {tools.slug: 2, cli.slug: 2, docs.slug: 2},
        "license_type": {"free": 4, "paid": 2, "subscription": 1},
    }


async def test_filters_narrow_results_and_facets(api, faceted):
    tools, cli, docs, rows = faceted
    body = await search(api, "yak", category=tools.slug)
    assert body["total"] == 4, "a category includes its subcategories"
    assert set(slugs(body)) == {m.slug for m in rows[:4]}
    assert body["facets"]["category"] == {tools.slug: 2, cli.slug: 2}
    assert body["facets"]["license_type"] == {"free": 2, "paid": 2}

    body = await search(api, "yak", category=tools.slug, license_type="paid")
    assert set(slugs(body)) == {rows[1].slug, rows[2].slug} and body["total"] == 2

    body = await search(api, "yak", license_type="subscription")
    assert slugs(body) == [rows[5].slug]
    assert body["facets"] == {"category": {docs.slug: 1}, "license_type": {"subscription": 1}}

    assert await search(api, "yak", category=str(tools.id)) == await search(
        api, "yak", category=tools.slug
    ), "an id reads as the slug"
    unknown = await api.request("GET", SEARCH, params={"q": "yak", "category": "no-such"})
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_category"


async def test_search_pages_carry_the_total(api, faceted):
    everything = slugs(await search(api, "yak", limit=100))
    assert len(everything) == 7
    for limit, offset in [(3, 0), (3, 3), (3, 6), (3, 7)]:
        body = await search(api, "yak", limit=limit, offset=offset)
        assert body["total"] == 7 and body["limit"] == limit and body["offset"] == offset
        assert slugs(body) == everything[offset : offset + limit]


# --- highlights and suggestions ---------------------------------------------------------


def joined(segments: list[dict]) -> str:
    return "".join(segment["text"] for segment in segments)


def marked(segments: list[dict]) -> list[str]:
    return [segment["text"] for segment in segments if segment["match"]]


async def test_matched_words_come_back_as_segments_of_plain_text(api, db, publisher):
    hostile = '<img src=x onerror="alert(1)"> Greeting'
    await save(
        db,
        module(
            publisher,
            display_name="Greeting cards & more",
            short_description=hostile,
            description="Intro words that say nothing at all about it. " * 4
            + "Later it sends greetings to everyone, then stops.",
        ),
    )
    body = await search(api, "greet")
    (hit,) = body["items"]
    name, summary = hit["highlights"]["name"], hit["highlights"]["summary"]
    assert name == [
        {"text": "Greeting", "match": True},
        {"text": " cards & more", "match": False},
    ]
    assert joined(summary) == hostile, "text is given back as it is, to show as text"
    assert marked(summary) == ["Greeting"]
    description = hit["highlights"]["description"]
    assert marked(description) == ["greetings"], "a stemmed, prefixed match is marked"
    assert "\x01" not in joined(description) and "\x02" not in joined(description)
    assert body["suggestions"] is None, "suggestions only for an empty result"


async def test_a_stored_marker_character_cannot_forge_a_highlight(api, db, publisher):
    await save(db, module(publisher, display_name="Quokka \x01forged\x02 name"))
    (hit,) = (await search(api, "quokka"))["items"]
    assert hit["highlights"]["name"] == [
        {"text": "Quokka", "match": True},
        {"text": " forged name", "match": False},
    ]


async def test_a_description_without_the_words_has_no_snippet(api, db, publisher):
    await save(db, module(publisher, display_name="Wombat tools", description="Nothing relevant."))
    (hit,) = (await search(api, "wombat"))["items"]
    assert hit["highlights"]["description"] == []


async def test_an_empty_result_suggests_a_closer_word_and_popular_categories(
    api, make, db, publisher
):
    word = f"zebracorn{uuid.uuid4().hex[:4]}"
    tag = f"quasar{uuid.uuid4().hex[:4]}"
    popular = await make.category()
    await save(
        db,
        *(
            module(publisher, display_name=f"{word.title()} kit {n}", category_id=popular.id)
            for n in range(3)
        ),
        module(publisher, display_name="Tagged", tags=[tag]),
    )
    typo = word[:3] + word[4:]  # one letter dropped
    body = await search(api, f"{typo} kit")
    assert body["total"] == 0 and body["items"] == []
    suggestions = body["suggestions"]
    assert suggestions["did_you_mean"] == {"query": f"{word} kit", "total": 3}
    assert (await search(api, suggestions["did_you_mean"]["query"]))["total"] == 3
    counts = [row["module_count"] for row in suggestions["popular_categories"]]
    assert counts == sorted(counts, reverse=True) and all(n > 0 for n in counts)
    assert len(counts) <= 5
    ours = [row for row in suggestions["popular_categories"] if row["id"] == popular.id]
    assert ours in (
        [],
        [{"id": popular.id, "slug": popular.slug, "name": popular.name, "module_count": 3}],
    )

    tagged = await search(api, tag[:-1] + "x")
    assert tagged["suggestions"]["did_you_mean"] == {"query": tag, "total": 1}


async def test_no_suggestion_when_nothing_is_close_or_the_filters_still_find_nothing(
    api, make, db, publisher
):
    word = f"pangolin{uuid.uuid4().hex[:4]}"
    await save(db, module(publisher, display_name=f"{word} helper"))
    far = await search(api, "qqqqxxxxzzzz")
    assert far["total"] == 0 and far["suggestions"]["did_you_mean"] is None
    filtered = await search(api, word[:-1], license_type="paid")
    assert filtered["total"] == 0
    assert filtered["suggestions"]["did_you_mean"] is None, "the free module is filtered out"


def test_trigram_similarity_and_the_closest_word():
    from domain.discovery import closest_word, trigram_similarity

    assert trigram_similarity("greeter", "greeter") == 1.0
    assert trigram_similarity("gretter", "greeter") == pytest.approx(5 / 11)
    assert trigram_similarity("abc", "xyz") == 0.0
    vocabulary = ["greet", "greeter", "grid", "greeters-and-more"]
    assert closest_word("gretter", vocabulary) == "greeter"
    assert closest_word("greeter", ["greeter"]) is None, "the word itself is no suggestion"
    assert closest_word("qqqq", vocabulary) is None


def test_marked_text_becomes_segments_and_markers_never_survive():
    from domain.discovery import Segment, marked_segments, suggested_query

    assert marked_segments("a \x01b\x02 c", "\x01", "\x02") == [
        Segment("a ", False),
        Segment("b", True),
        Segment(" c", False),
    ]
    assert marked_segments("x\x02y\x01\x01z", "\x01", "\x02") == [
        Segment("xy", False),
        Segment("z", True),
    ]
    assert marked_segments("", "\x01", "\x02") == []
    assert suggested_query(["gretter", "kit"], {"gretter": "greeter"}) == "greeter kit"
    assert suggested_query(["kit"], {}) is None


async def test_postgres_backend_index_and_remove_are_no_ops_and_it_searches(db, publisher):
    greeting = module(publisher, display_name="Greeting Cards")
    await save(db, greeting)
    backend = search_from(Settings(), db)
    assert isinstance(backend, PostgresSearch)
    doc = ModuleDocument(
        id=greeting.id, slug="x", name="x", summary="x", license_type="free", publisher_slug="p"
    )
    await backend.index(doc)
    await backend.remove(greeting.id)
    hits = await backend.search(SearchQuery(q="greet"))
    assert hits.ids == [greeting.id] and hits.total == 1
    assert hits.facets == {"category": {}, "license_type": {"free": 1}}


# --- the search document ----------------------------------------------------------------


async def test_module_document_carries_what_the_engines_need(db, make, publisher):
    category = await make.category()
    row = module(
        publisher,
        display_name="Greeting Cards",
        short_description="Print them.",
        description="Long text.",
        category_id=category.id,
        tags=["cards"],
        keywords=["print"],
        license_type="paid",
        price=Decimal("4.50"),
        download_count=12,
        rating_average=Decimal("4.20"),
        reviewed_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    await save(db, row)
    doc = module_document(row, publisher.slug, category.slug)
    assert doc == ModuleDocument(
        id=row.id,
        slug=row.slug,
        name="Greeting Cards",
        summary="Print them.",
        description="Long text.",
        tags=["cards"],
        keywords=["print"],
        category_slug=category.slug,
        license_type="paid",
        price=Decimal("4.50"),
        downloads=12,
        rating=Decimal("4.20"),
        published_at=datetime(2026, 1, 2, tzinfo=UTC),
        publisher_slug=publisher.slug,
    )
    [plain] = await save(db, module(publisher))
    bare = module_document(plain, publisher.slug, None)
    assert bare.description == "" and bare.price == 0 and bare.category_slug is None


# --- Typesense, through the real client against a fake server -------------------------------


@pytest.fixture(scope="module")
def typesense_server():
    with TypesenseServer(API_KEY) as fake:
        yield fake


@pytest.fixture
def fake(typesense_server):
    typesense_server.reset()
    return typesense_server


@pytest.fixture
async def typesense(fake):
    settings = Settings(
        search_backend="typesense",
        typesense_url=fake.url,
        typesense_api_key=API_KEY,
        typesense_collection=COLLECTION,
    )
    backend = search_from(settings, sessions=None)
    assert isinstance(backend, TypesenseSearch)
    yield backend
    await backend.aclose()


def doc(module_id: int, name: str, **fields) -> ModuleDocument:
    return ModuleDocument(
        id=module_id,
        slug=f"module-{module_id}",
        name=name,
        summary=fields.pop("summary", "Does a useful thing."),
        license_type=fields.pop("license_type", "free"),
        publisher_slug="acme",
        **fields,
    )


async def test_indexing_creates_the_collection_once_then_upserts(typesense, fake):
    await typesense.index(doc(7, "Greeting Cards", category_slug="tools", tags=["cards"]))
    await typesense.index(doc(8, "Invoices", price=Decimal("9.99"), rating=Decimal("4.5")))

    created = fake.requests_to("POST", "/collections")
    assert len(created) == 1 and created[0].body == collection_schema(COLLECTION)
    assert len(fake.requests_to("GET", f"/collections/{COLLECTION}")) == 1, "checked once"
    upserts = fake.requests_to("POST", f"/collections/{COLLECTION}/documents")
    assert [u.params for u in upserts] == [{"action": "upsert"}] * 2
    assert upserts[0].body == {
        "id": "7",
        "slug": "module-7",
        "name": "Greeting Cards",
        "summary": "Does a useful thing.",
        "description": "",
        "tags": ["cards"],
        "keywords": [],
        "category_slug": "tools",
        "license_type": "free",
        "publisher_slug": "acme",
        "price": 0.0,
        "downloads": 0,
    }
    assert upserts[1].body["price"] == 9.99 and upserts[1].body["rating"] == 4.5
    assert all(r.headers[API_KEY_HEADER] == API_KEY for r in fake.requests)
    assert set(fake.documents[COLLECTION]) == {"7", "8"}


async def test_an_existing_collection_is_not_created_again(typesense, fake):
    fake.collections[COLLECTION] = collection_schema(COLLECTION)
    fake.documents[COLLECTION] = {}
    await typesense.index(doc(1, "One"))
    assert fake.requests_to("POST", "/collections") == []
    assert set(fake.documents[COLLECTION]) == {"1"}


async def test_removing_deletes_the_document_and_an_absent_one_is_fine(typesense, fake):
    await typesense.index(doc(7, "Greeting Cards"))
    await typesense.remove(7)
    await typesense.remove(7)
    await typesense.remove(12345)
    deletes = fake.requests_to("DELETE", f"/collections/{COLLECTION}/documents/7")
    assert len(deletes) == 2 and fake.documents[COLLECTION] == {}


async def test_search_sends_weighted_prefix_query_with_facets_and_filters(typesense, fake):
    await typesense.index(doc(1, "Greeting Cards", category_slug="tools", downloads=5))
    await typesense.index(doc(2, "Invoices", summary="Greets customers", category_slug="cli"))
    await typesense.index(doc(3, "Greeter", license_type="paid", category_slug="docs"))
    await typesense.index(doc(4, "Unrelated", category_slug="tools"))

    hits = await typesense.search(
        SearchQuery(q="greet", category_slugs=["tools", "cli"], license_type="free", limit=5)
    )

    [sent] = fake.requests_to("GET", f"/collections/{COLLECTION}/documents/search")
    assert sent.params == {
        "q": "greet",
        "query_by": "name,summary,description,tags,keywords",
        "query_by_weights": "4,3,2,1,1",
        "prefix": "true",
        "facet_by": "category_slug,license_type",
        "max_facet_values": "250",
        "filter_by": "category_slug:=[`tools`,`cli`] && license_type:=`free`",
        "sort_by": "_text_match:desc,downloads:desc",
        "include_fields": "id",
        "limit": "5",
        "offset": "0",
    }
    assert sent.params["query_by"].split(",") == list(QUERY_FIELDS)
    assert hits.ids == [1, 2], "the name match outranks the summary match"
    assert hits.total == 2
    assert hits.facets == {"category": {"tools": 1, "cli": 1}, "license_type": {"free": 2}}


async def test_search_maps_a_typesense_response(typesense, fake):
    for n in range(1, 6):
        await typesense.index(doc(n, f"Yak {n}", downloads=n, category_slug="tools"))
    hits = await typesense.search(SearchQuery(q="yak", limit=2, offset=1))
    sent = fake.requests_to("GET", f"/collections/{COLLECTION}/documents/search")[-1]
    assert "filter_by" not in sent.params
    assert (sent.params["limit"], sent.params["offset"]) == ("2", "1")
    assert hits.ids == [4, 3] and hits.total == 5
    assert hits.facets == {"category": {"tools": 5}, "license_type": {"free": 5}}


async def test_search_before_anything_is_indexed_finds_nothing(typesense, fake):
    hits = await typesense.search(SearchQuery(q="anything"))
    assert hits.ids == [] and hits.total == 0
    assert len(fake.requests_to("GET", f"/collections/{COLLECTION}/documents/search")) == 1


async def test_an_unknown_category_does_not_reach_typesense(typesense, fake):
    hits = await typesense.search(SearchQuery(q="anything", category_slugs=[]))
    assert hits.total == 0 and fake.requests == []


@pytest.mark.parametrize("q", ["'", "&|!:*()", "<->", "a && b || c", "`x`", "日本語", "x" * 200])
async def test_hostile_text_reaches_typesense_as_a_plain_parameter(typesense, fake, q):
    await typesense.index(doc(1, "Greeting Cards"))
    hits = await typesense.search(SearchQuery(q=q))
    sent = fake.requests_to("GET", f"/collections/{COLLECTION}/documents/search")[-1]
    assert sent.params["q"] == q and "filter_by" not in sent.params
    assert hits.total == len(hits.ids)


@pytest.mark.parametrize("status", [401, 500, 503])
async def test_a_failing_typesense_is_unavailable_not_a_crash(fake, status):
    client = typesense_client(fake.url, API_KEY)
    client.config.num_retries = 0  # a failure answers at once
    backend = TypesenseSearch(client, COLLECTION)
    fake.fail_with = status
    try:
        with pytest.raises(DomainError) as raised:
            await backend.search(SearchQuery(q="greet"))
    finally:
        await backend.aclose()
    assert raised.value.code == "search_unavailable"


@pytest.mark.parametrize("garbled", [b"<html>proxy error</html>", b'{"hits": "nope"}', b"[]"])
async def test_a_garbled_typesense_answer_is_unavailable_not_a_crash(typesense, fake, garbled):
    fake.garbled = garbled
    with pytest.raises(DomainError) as raised:
        await typesense.search(SearchQuery(q="greet"))
    assert raised.value.code == "search_unavailable"


async def test_an_unreachable_typesense_is_unavailable_not_a_crash():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = typesense_client(f"http://127.0.0.1:{port}", API_KEY)
    client.config.num_retries = 0
    backend = TypesenseSearch(client, COLLECTION)
    try:
        with pytest.raises(DomainError) as raised:
            await backend.search(SearchQuery(q="greet"))
    finally:
        await backend.aclose()
    assert raised.value.code == "search_unavailable"


async def test_a_wrong_api_key_is_refused_by_the_server(fake):
    client = typesense_client(fake.url, "wrong-key")
    client.config.num_retries = 0
    backend = TypesenseSearch(client, COLLECTION)
    try:
        with pytest.raises(DomainError):
            await backend.search(SearchQuery(q="greet"))
    finally:
        await backend.aclose()
    assert [r.headers[API_KEY_HEADER] for r in fake.requests] == ["wrong-key"]


def test_typesense_settings_are_checked_when_the_backend_is_built():
    with pytest.raises(ValueError, match="TYPESENSE_API_KEY"):
        search_from(Settings(search_backend="typesense"), sessions=None)
    with pytest.raises(ValueError, match="http"):
        search_from(
            Settings(search_backend="typesense", typesense_url="ftp://x", typesense_api_key="k"),
            sessions=None,
        )


@pytest.fixture
async def api_on_typesense(shared_app, api, typesense):
    """The API with Typesense as its search engine, for one test."""
    with replaced_adapters(shared_app, search=typesense):
        yield api


async def test_the_search_endpoint_uses_typesense_when_configured(
    api_on_typesense, make, db, publisher, typesense, fake
):
    tools = await make.category()
    cli = await make.category(tools.id)
    name_hit = module(publisher, display_name="Greeting Cards", category_id=cli.id)
    summary_hit = module(publisher, short_description="Greets people", category_id=tools.id)
    gone_private = module(publisher, display_name="Greeting Bot", visibility="private")
    await save(db, name_hit, summary_hit, gone_private)
    for row in (name_hit, summary_hit, gone_private):  # the index lags: one is now private
        category = cli.slug if row is name_hit else tools.slug if row is summary_hit else None
        await typesense.index(module_document(row, publisher.slug, category))

    response = await api_on_typesense.request(
        "GET", SEARCH, params={"q": "greet", "category": tools.slug}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert slugs(body) == [name_hit.slug, summary_hit.slug], "in Typesense's order"
    assert body["items"][0]["publisher"]["slug"] == publisher.slug
    assert body["total"] == 2
    assert body["facets"] == {
        "category": {cli.slug: 1, tools.slug: 1},
        "license_type": {"free": 2},
    }
    sent = fake.requests_to("GET", f"/collections/{COLLECTION}/documents/search")[-1]
    assert sent.params["filter_by"] in (
        f"category_slug:=[`{cli.slug}`,`{tools.slug}`]",
        f"category_slug:=[`{tools.slug}`,`{cli.slug}`]",
    )

    response = await api_on_typesense.request("GET", SEARCH, params={"q": "greeting bot"})
    assert response.json()["items"] == [], "a module no longer listed is never shown"


async def test_the_search_endpoint_answers_503_when_typesense_is_down(
    api_on_typesense, typesense, fake
):
    typesense.client.config.num_retries = 0
    fake.fail_with = 503
    response = await api_on_typesense.request("GET", SEARCH, params={"q": "greet"})
    assert response.status_code == 503
    assert response.json()["error"] == "search_unavailable"


async def test_editing_or_archiving_a_published_listing_updates_typesense(
    api_on_typesense, make, fake
):
    user, owner = await make.publisher()
    listed = await make.module(owner, status=ModuleStatus.PUBLISHED)
    url = f"/api/v1/publisher/modules/{listed.id}"
    proposed = await api_on_typesense.request(
        "PUT", url, as_user=user, json={"short_description": "Now greets in Welsh"}
    )
    assert proposed.status_code == 202, "listing text waits for review (test_listing_revisions)"
    indexed = fake.documents.get(COLLECTION, {}).values()
    assert all(d["summary"] != "Now greets in Welsh" for d in indexed)
    edited = await api_on_typesense.request(
        "PUT", url, as_user=user, json={"license_type": "paid", "price": "7.00"}
    )
    assert edited.status_code == 200, edited.text
    stored = fake.documents[COLLECTION][str(listed.id)]
    assert (stored["license_type"], stored["summary"]) == ("paid", listed.short_description)

    archived = await api_on_typesense.request("DELETE", url, as_user=user)
    assert archived.status_code == 200
    assert str(listed.id) not in fake.documents[COLLECTION]
