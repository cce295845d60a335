"""The public catalogue: what is listed and to whom, every filter and sort, paging totals,
a module's page and versions, featured, trending and publisher pages."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import String, literal, select

from domain.access import Role
from domain.discovery import is_compatible, parse_release
from domain.modules import ModuleStatus
from models.analytics import ModuleDownload
from models.module import MarketplaceCategory, MarketplaceModule, ModuleVersion
from models.publisher import Publisher
from models.repositories.discovery import compatible
from tests.conftest import Api
from tests.factories import unique

BASE = "/api/v1/marketplace"
MODULES = BASE + "/modules"
SEARCH_URL = BASE + "/search"
NOW = datetime.now(UTC)


@pytest.fixture
def api(shared_api: Api) -> Api:
    """One app for the whole file (see conftest's ``shared_api``)."""
    return shared_api


# --- rows -------------------------------------------------------------------------------


def module(publisher: Publisher, status=ModuleStatus.PUBLISHED, **fields) -> MarketplaceModule:
    """An unsaved module, published and public unless told otherwise."""
    name = unique("mod")
    return MarketplaceModule(
        publisher_id=publisher.id,
        technical_name=name.replace("-", "_"),
        slug=fields.pop("slug", name),
        display_name=fields.pop("display_name", f"Module {name}"),
        short_description=fields.pop("short_description", "Does a useful thing."),
        status=status,
        **fields,
    )


def version(of: MarketplaceModule, number: str, status="published", **fields) -> ModuleVersion:
    major, minor, patch, pre = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(-.+)?", number).groups()
    return ModuleVersion(
        module=of,
        version=number,
        semver_major=int(major),
        semver_minor=int(minor),
        semver_patch=int(patch),
        is_prerelease=pre is not None,
        zip_file_url=f"modules/{of.slug}/{number}.zip",
        status=status,
        published_at=fields.pop("published_at", NOW if status == "published" else None),
        **fields,
    )


async def save(db, *rows):
    async with db() as session:
        session.add_all(rows)
        await session.commit()
    return rows


async def downloads(db, of: MarketplaceModule, release: ModuleVersion, *days_ago: float):
    await save(
        db,
        *(
            ModuleDownload(
                module_id=of.id, version_id=release.id, created_at=NOW - timedelta(days=days)
            )
            for days in days_ago
        ),
    )


async def get(api: Api, url: str, as_user=None, **params):
    response = await api.request("GET", url, as_user=as_user, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def slugs(body) -> list[str]:
    items = body["items"] if isinstance(body, dict) else body
    return [item["slug"] for item in items]


@pytest.fixture
async def publisher(make):
    _, publisher = await make.publisher()
    return publisher


# --- who sees what ----------------------------------------------------------------------


@pytest.fixture
async def shelf(make, db):
    """One module of every status and visibility, plus one of a suspended publisher; all
    featured, downloaded this week and about "zephyr"."""
    owner, mine = await make.publisher()
    _, suspended = await make.publisher(status="suspended")
    word = {"short_description": "A zephyr of a module.", "featured": True}
    m = {
        "listed": module(mine, **word),
        "draft": module(mine, ModuleStatus.DRAFT, **word),
        "pending": module(mine, ModuleStatus.PENDING, **word),
        "rejected": module(mine, ModuleStatus.REJECTED, **word),
        "archived": module(mine, ModuleStatus.ARCHIVED, **word),
        "private": module(mine, visibility="private", **word),
        "unlisted": module(mine, visibility="unlisted", **word),
        "suspended": module(suspended, **word),
    }
    releases = {key: version(row, "1.0.0", is_latest=True) for key, row in m.items()}
    await save(db, *m.values(), *releases.values())
    for key, row in m.items():
        await downloads(db, row, releases[key], 1)
    return owner, mine, suspended, m


LISTS = {
    "modules": lambda pub: (MODULES, {}),
    "search": lambda pub: (BASE + "/search", {"q": "zephyr"}),
    "featured": lambda pub: (BASE + "/featured", {}),
    "trending": lambda pub: (BASE + "/trending", {}),
    "publisher modules": lambda pub: (f"{BASE}/publishers/{pub.slug}/modules", {}),
}


@pytest.mark.parametrize("listing", LISTS)
async def test_lists_show_only_published_public_modules_of_publishers_in_good_standing(
    api, make, shelf, listing
):
    owner, mine, _, m = shelf
    url, params = LISTS[listing](mine)
    for caller in (None, owner, await make.admin()):
        body = await get(api, url, as_user=caller, **params)
        assert slugs(body) == [m["listed"].slug], f"{listing} as {caller}"
        if isinstance(body, dict):
            assert body["total"] == 1


async def test_an_unlisted_module_is_reached_by_its_slug(api, shelf):
    _, _, _, m = shelf
    body = await get(api, f"{MODULES}/{m['unlisted'].slug}")
    assert body["slug"] == m["unlisted"].slug and body["visibility"] == "unlisted"
    versions = await get(api, f"{MODULES}/{m['unlisted'].slug}/versions")
    assert [v["version"] for v in versions] == ["1.0.0"]


@pytest.mark.parametrize("path", ["", "/versions"])
async def test_a_private_module_is_shown_to_its_own_publisher_only(api, make, shelf, path):
    owner, _, _, m = shelf
    url = f"{MODULES}/{m['private'].slug}{path}"
    other, _ = await make.publisher()
    for caller in (None, await make.user(Role.CONSUMER), other, await make.admin()):
        response = await api.request("GET", url, as_user=caller)
        assert response.status_code == 404, caller
        assert response.json()["error"] == "module_not_found"
    assert (await api.request("GET", url, as_user=owner)).status_code == 200


@pytest.mark.parametrize("key", ["draft", "pending", "rejected", "archived", "suspended"])
async def test_unpublished_modules_and_suspended_publishers_have_no_public_page(api, shelf, key):
    owner, _, _, m = shelf
    for path in ("", "/versions"):
        for caller in (None, owner):
            response = await api.request("GET", f"{MODULES}/{m[key].slug}{path}", as_user=caller)
            assert response.status_code == 404, (path, caller)
            assert response.json() == {"error": "module_not_found", "detail": "no such module"}


async def test_a_bad_token_on_a_module_page_is_refused_not_ignored(api, shelf):
    _, _, _, m = shelf
    response = await api.request(
        "GET", f"{MODULES}/{m['listed'].slug}", headers={"Authorization": "Bearer nonsense"}
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"


async def test_an_unknown_slug_is_not_found(api):
    response = await api.request("GET", f"{MODULES}/no-such-module-{uuid.uuid4().hex[:6]}")
    assert response.status_code == 404 and response.json()["error"] == "module_not_found"


# --- filters ----------------------------------------------------------------------------


async def test_category_filter_includes_every_level_of_subcategories(api, make, db, publisher):
    root = await make.category()
    child = await make.category(root.id)
    grandchild = await make.category(child.id)
    elsewhere = await make.category()
    rows = {
        "root": module(publisher, category_id=root.id),
        "child": module(publisher, category_id=child.id),
        "grandchild": module(publisher, category_id=grandchild.id),
        "elsewhere": module(publisher, category_id=elsewhere.id),
        "none": module(publisher),
    }
    await save(db, *rows.values())
    expect = {
        root.slug: {"root", "child", "grandchild"},
        child.slug: {"child", "grandchild"},
        grandchild.slug: {"grandchild"},
        elsewhere.slug: {"elsewhere"},
        str(root.id): {"root", "child", "grandchild"},
        str(grandchild.id): {"grandchild"},
    }
    for category, keys in expect.items():
        body = await get(api, MODULES, category=category)
        assert set(slugs(body)) == {rows[k].slug for k in keys}, category
        assert body["total"] == len(keys)
    body = await get(api, MODULES, category=grandchild.slug)
    assert body["items"][0]["category"] == {
        "id": grandchild.id,
        "slug": grandchild.slug,
        "name": grandchild.name,
    }


@pytest.mark.parametrize("url", [MODULES, SEARCH_URL])
async def test_a_category_that_names_nothing_is_refused_with_a_code(api, make, url):
    """An id or a slug works; one naming no category is a 422, never an empty page."""
    gone = await make.category()
    params = {"q": "x"} if url == SEARCH_URL else {}
    for unknown in ("no-such-category", str(gone.id + 1_000_000), "0", "99999999999"):
        response = await api.request("GET", url, params={**params, "category": unknown})
        assert response.status_code == 422, (unknown, response.text)
        body = response.json()
        assert body["error"] == "unknown_category"
        assert body["detail"][0]["loc"] == ["query", "category"]
        assert body["detail"][0]["type"] == "unknown_category"


async def test_a_category_slug_made_of_digits_wins_over_an_id(api, make, db, publisher):
    by_id = await make.category()
    named = await make.category()
    async with db() as session:
        stored = await session.get(MarketplaceCategory, named.id)
        stored.slug = str(by_id.id)
        await session.commit()
    rows = [module(publisher, category_id=named.id), module(publisher, category_id=by_id.id)]
    await save(db, *rows)
    assert slugs(await get(api, MODULES, category=str(by_id.id))) == [rows[0].slug]
    assert slugs(await get(api, MODULES, category=by_id.slug)) == [rows[1].slug]


async def test_license_type_filter(api, db, publisher):
    free = module(publisher)
    paid = module(publisher, license_type="paid", price=Decimal("9.00"))
    monthly = module(
        publisher, license_type="subscription", price=Decimal("3"), subscription_period="monthly"
    )
    await save(db, free, paid, monthly)
    assert slugs(await get(api, MODULES, license_type="paid")) == [paid.slug]
    assert slugs(await get(api, MODULES, license_type="free")) == [free.slug]
    assert slugs(await get(api, MODULES, license_type="subscription")) == [monthly.slug]
    assert slugs(await get(api, MODULES, license_type="trial")) == []


async def test_price_range_is_inclusive_and_free_modules_cost_nothing(api, db, publisher):
    free = module(publisher)
    cheap = module(publisher, license_type="paid", price=Decimal("5.00"))
    dear = module(publisher, license_type="paid", price=Decimal("10.00"))
    await save(db, free, cheap, dear)
    cases = [
        ({"min_price": "0"}, {free, cheap, dear}),
        ({"max_price": "0"}, {free}),
        ({"min_price": "5"}, {cheap, dear}),
        ({"min_price": "5.01"}, {dear}),
        ({"max_price": "9.99"}, {free, cheap}),
        ({"min_price": "5", "max_price": "10"}, {cheap, dear}),
        ({"min_price": "10", "max_price": "10"}, {dear}),
    ]
    for params, expected in cases:
        assert set(slugs(await get(api, MODULES, **params))) == {m.slug for m in expected}, params


COMPATIBILITY = [
    # min, max, FastVue release asked for, compatible?
    ("2.0", "3", "2", True),
    ("2.0", "3", "2.0.0", True),
    ("2.0", "3", "1.9.9", False),
    ("2.0", "3", "2.99.99", True),
    ("2.0", "3", "3", False),  # the upper bound is exclusive
    ("2.0", "3", "3.0.1", False),
    ("2.10", "3", "2.9", False),  # as text "2.9" > "2.10": versions are not strings
    ("2.10", "3", "2.10", True),
    ("2.9", "2.10", "2.9.5", True),
    ("2.9", "2.10", "2.10.0", False),
    ("1.2.3", "1.2.4", "1.2.3", True),
    ("1.2.3", "1.2.4", "1.2.4", False),
    (None, "3", "0.1", True),  # a missing bound is open
    ("2", None, "999.0", True),
    (None, None, "1", True),
    ("v2.0.0", "3.0.0-rc.1", "2.5", True),  # a "v" prefix, a pre-release suffix
    ("2.0.0", "3.0.0-rc.1", "3.0.0", False),
    ("2.0rc1", "3.0.dev0", "2.0", True),  # PEP 440 pre-releases
    ("2.0", "3.0a1", "3.0", False),
    ("2.0.0+build.7", "3", "2.0.0", True),
    ("two", "3", "2.0", False),  # an unreadable bound admits nothing
    ("2.0", "3.x", "2.5", False),
    ("2.0.0.1", "3", "2.5", False),
    ("", "3", "2.5", False),
    ("2.0", "10", "9.9.9", True),
    ("999999999", None, "999999999", True),  # the largest numbers fit
]


@pytest.mark.parametrize(("low", "high", "release", "expected"), COMPATIBILITY)
async def test_sql_and_domain_agree_on_compatibility(db, low, high, release, expected):
    wanted = parse_release(release)
    assert is_compatible(wanted, low, high) is expected
    async with db() as session:
        in_sql = (
            await session.execute(
                select(compatible(wanted, literal(low, String()), literal(high, String())))
            )
        ).scalar_one()
    assert bool(in_sql) is expected


async def test_fastvue_version_filter_needs_a_published_compatible_version(api, db, publisher):
    old = module(publisher)
    current = module(publisher)
    upcoming_only = module(publisher)
    deprecated_only = module(publisher)
    no_bounds = module(publisher)
    await save(
        db,
        old,
        current,
        upcoming_only,
        deprecated_only,
        no_bounds,
        version(old, "1.0.0", min_fastvue_version="1.0", max_fastvue_version="2.0"),
        version(current, "1.0.0", min_fastvue_version="1.0", max_fastvue_version="2.0"),
        version(current, "2.0.0", min_fastvue_version="2.0", max_fastvue_version="3"),
        version(upcoming_only, "1.0.0", "processing", min_fastvue_version="2.0"),
        version(deprecated_only, "1.0.0", "deprecated", min_fastvue_version="2.0"),
        version(no_bounds, "1.0.0"),
    )
    cases = {
        "1.5": {old, current, no_bounds},
        "2": {current, no_bounds},
        "2.10.3": {current, no_bounds},
        "3.0": {no_bounds},
    }
    for release, expected in cases.items():
        body = await get(api, MODULES, fastvue_version=release)
        assert set(slugs(body)) == {m.slug for m in expected}, release


async def test_tags_must_all_match(api, db, publisher):
    both = module(publisher, tags=["charts", "export"])
    charts = module(publisher, tags=["charts"])
    untagged = module(publisher)
    await save(db, both, charts, untagged)
    assert set(slugs(await get(api, MODULES, tags="charts"))) == {both.slug, charts.slug}
    response = await api.request("GET", MODULES, params=[("tags", "charts"), ("tags", "Export")])
    assert slugs(response.json()) == [both.slug], "tags are compared in lower case"
    response = await api.request("GET", MODULES, params=[("tags", "charts"), ("tags", "pdf")])
    assert slugs(response.json()) == []


async def test_publisher_filter(api, make, db, publisher):
    _, other = await make.publisher()
    mine, theirs = module(publisher), module(other)
    await save(db, mine, theirs)
    assert slugs(await get(api, MODULES, publisher=publisher.slug)) == [mine.slug]
    assert slugs(await get(api, MODULES, publisher=other.slug)) == [theirs.slug]
    assert slugs(await get(api, MODULES, publisher="nobody-at-all")) == []
    body = await get(api, MODULES, publisher=publisher.slug)
    assert body["items"][0]["publisher"]["slug"] == publisher.slug


async def test_verified_publisher_filter(api, make, db, publisher):
    _, vouched = await make.publisher()
    vouched.verified = True
    checked, unchecked = module(vouched), module(publisher)
    await save(db, vouched, checked, unchecked)
    only_verified = slugs(await get(api, MODULES, verified_publisher="true", limit=100))
    assert checked.slug in only_verified and unchecked.slug not in only_verified
    others = slugs(await get(api, MODULES, verified_publisher="false", limit=100))
    assert unchecked.slug in others and checked.slug not in others
    body = await get(api, MODULES, verified_publisher="true", publisher=vouched.slug)
    assert body["items"][0]["publisher"]["verified"] is True


async def test_minimum_rating_leaves_out_lower_and_unrated_modules(api, db, publisher):
    great = module(publisher, rating_average=Decimal("4.50"), rating_count=10)
    fair = module(publisher, rating_average=Decimal("3.00"), rating_count=2)
    unrated = module(publisher)
    await save(db, great, fair, unrated)
    assert slugs(await get(api, MODULES, min_rating="4")) == [great.slug]
    assert set(slugs(await get(api, MODULES, min_rating="3"))) == {great.slug, fair.slug}
    assert slugs(await get(api, MODULES, min_rating="4.51")) == []


async def test_text_filter_on_the_listing(api, db, publisher):
    hit = module(publisher, display_name="Invoice Printer")
    miss = module(publisher, display_name="Calendar")
    await save(db, hit, miss)
    assert slugs(await get(api, MODULES, q="invoi")) == [hit.slug]
    assert slugs(await get(api, MODULES, q="&|!")) == [], "a query without words matches nothing"
    for blank in ("", "  "):
        assert set(slugs(await get(api, MODULES, q=blank))) == {hit.slug, miss.slug}


# --- sorts and paging -------------------------------------------------------------------


@pytest.fixture
async def sortable(db, publisher):
    day = timedelta(days=1)
    rows = {
        "a": module(
            publisher,
            download_count=50,
            rating_average=Decimal("3.5"),
            rating_count=4,
            reviewed_at=NOW - 3 * day,
            display_name="Zebra tools",
            short_description="Handles crossings.",
        ),
        "b": module(
            publisher,
            download_count=500,
            rating_average=Decimal("4.8"),
            rating_count=9,
            reviewed_at=NOW - 10 * day,
            license_type="paid",
            price=Decimal("20.00"),
            short_description="Mentions a zebra once.",
        ),
        "c": module(
            publisher,
            download_count=5,
            rating_average=Decimal("4.8"),
            rating_count=30,
            reviewed_at=NOW - 1 * day,
            license_type="paid",
            price=Decimal("7.50"),
            description="Somewhere deep down it says zebra.",
        ),
        "d": module(publisher, download_count=0, reviewed_at=NOW - 20 * day),
    }
    await save(db, *rows.values())
    return rows


SORTS = {
    "downloads": "bacd",
    "rating": "cbad",  # equal averages: more ratings first; unrated last
    "newest": "cabd",
    "price_asc": "adcb",  # free first (most downloaded first among equals)
    "price_desc": "bcad",
}


@pytest.mark.parametrize(("sort", "order"), SORTS.items())
async def test_sorts(api, sortable, sort, order):
    body = await get(api, MODULES, sort=sort)
    assert slugs(body) == [sortable[k].slug for k in order]


async def test_relevance_ranks_by_where_the_words_are_and_needs_a_query(api, sortable):
    ranked = await get(api, MODULES, q="zebra", sort="relevance")
    assert slugs(ranked) == [sortable[k].slug for k in "abc"], "name, then summary, then text"
    assert slugs(await get(api, MODULES, q="zebra")) == slugs(ranked), "the default with q"
    without_q = await get(api, MODULES, sort="relevance")
    assert slugs(without_q) == [sortable[k].slug for k in "bacd"], "falls back to downloads"
    assert slugs(await get(api, MODULES)) == slugs(without_q), "the default without q"


async def test_pages_carry_the_total(api, db, publisher):
    rows = [module(publisher, download_count=100 - n) for n in range(5)]
    await save(db, *rows)
    everything = [m.slug for m in rows]
    for limit, offset in [(2, 0), (2, 2), (2, 4), (3, 3), (2, 5), (100, 0), (1, 1_000_000)]:
        body = await get(api, MODULES, limit=limit, offset=offset)
        assert body["total"] == 5 and body["limit"] == limit and body["offset"] == offset
        assert slugs(body) == everything[offset : offset + limit]


BAD_PARAMS = [
    {"license_type": "gratis"},
    {"min_price": "-1"},
    {"min_price": "abc"},
    {"min_price": "NaN"},
    {"max_price": "Infinity"},
    {"max_price": "100000.01"},
    {"min_price": "1.234"},
    {"min_price": "10", "max_price": "5"},
    {"fastvue_version": "2.x"},
    {"fastvue_version": "1.2.3.4"},
    {"fastvue_version": "-1"},
    {"fastvue_version": "1" * 10},
    {"fastvue_version": ""},
    {"sort": "cheapest"},
    {"sort": "'; DROP TABLE marketplace_modules; --"},
    {"limit": "0"},
    {"limit": "101"},
    {"limit": "ten"},
    {"offset": "-1"},
    {"offset": "99999999999999999999"},
    {"category": "Not A Slug"},
    {"category": "x" * 101},
    {"publisher": "'; select 1; --"},
    {"publisher": "a\x00b"},
    {"tags": "x" * 41},
    {"tags": ""},
    {"tags": "a\x00b"},
    {"min_rating": "5.01"},
    {"min_rating": "-0.5"},
    {"q": "a\x00b"},
    {"q": "x" * 201},
]


@pytest.mark.parametrize("params", BAD_PARAMS, ids=repr)
async def test_malformed_parameters_are_refused_with_422(api, params):
    response = await api.request("GET", MODULES, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"


async def test_too_many_tags_are_refused(api):
    response = await api.request("GET", MODULES, params=[("tags", f"t{n}") for n in range(21)])
    assert response.status_code == 422 and response.json()["error"] == "validation_error"


@pytest.mark.parametrize(
    "url",
    [
        MODULES + "/Not_A_Slug",
        MODULES + "/a%00b/versions",
        BASE + "/publishers/UPPER",
        BASE + "/publishers/a%00b/modules",
        BASE + "/featured?limit=0",
        BASE + "/trending?limit=1000",
        BASE + "/publishers/someone/modules?sort=random",
    ],
)
async def test_malformed_paths_are_refused_with_422(api, url):
    response = await api.request("GET", url)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"


# --- a module's page and versions -------------------------------------------------------


async def test_module_page_has_publisher_category_and_latest_version(api, make, db, publisher):
    category = await make.category(name="Reporting")
    listed = module(
        publisher,
        category_id=category.id,
        description="Long **markdown**.",
        tags=["pdf"],
        keywords=["report"],
        license_type="paid",
        price=Decimal("12.50"),
        rating_average=Decimal("4.25"),
        rating_count=8,
    )
    published_at = NOW - timedelta(days=2)
    latest = version(
        listed,
        "1.2.0",
        is_latest=True,
        zip_file_hash="ab" * 32,
        zip_file_size=12345,
        signature="MEUCIQD...",
        signature_key_id="k-2026",
        min_fastvue_version="2.0",
        max_fastvue_version="3",
        published_at=published_at,
    )
    newer_but_processing = version(listed, "1.3.0", "processing")
    older = version(listed, "1.1.0", zip_file_hash="cd" * 32)
    await save(db, listed, latest, newer_but_processing, older)

    body = await get(api, f"{MODULES}/{listed.slug}")

    assert body["id"] == listed.id and body["description"] == "Long **markdown**."
    assert body["publisher"] == {
        "slug": publisher.slug,
        "display_name": publisher.display_name,
        "verified": False,
        "logo_url": None,
    }
    assert body["category"]["slug"] == category.slug
    assert body["price"] == "12.50" and body["rating_average"] == "4.25"
    assert body["tags"] == ["pdf"] and body["keywords"] == ["report"]
    assert datetime.fromisoformat(body["latest_version"].pop("published_at")) == published_at
    assert body["latest_version"] == {
        "version": "1.2.0",
        "sha256": "ab" * 32,
        "size": 12345,
        "signature": "MEUCIQD...",
        "signature_key_id": "k-2026",
        "signature_format": "archive-sha256/v1",
        "signed_statement": None,
        "min_fastvue_version": "2.0",
        "max_fastvue_version": "3",
        "is_prerelease": False,
    }
    assert "zip_file_url" not in str(body) and "rejection_reason" not in body


async def test_without_a_published_version_the_latest_version_is_null(api, db, publisher):
    listed = module(publisher)
    await save(db, listed, version(listed, "0.1.0", "processing"))
    assert (await get(api, f"{MODULES}/{listed.slug}"))["latest_version"] is None


async def test_versions_are_published_and_deprecated_ones_newest_first_by_semver(
    api, db, publisher
):
    listed = module(publisher)
    numbers = {
        "1.2.0": "published",
        "1.10.0": "published",
        "1.9.0": "deprecated",
        "1.10.0-rc.1": "published",
        "2.0.0": "processing",
        "1.11.0": "rejected",
        "1.12.0": "manual_review",
        "0.9.1": "published",
    }
    await save(db, listed, *(version(listed, number, status) for number, status in numbers.items()))
    body = await get(api, f"{MODULES}/{listed.slug}/versions")
    assert [(v["version"], v["status"]) for v in body] == [
        ("1.10.0", "published"),
        ("1.10.0-rc.1", "published"),
        ("1.9.0", "deprecated"),
        ("1.2.0", "published"),
        ("0.9.1", "published"),
    ]
    assert body[1]["is_prerelease"] is True and body[0]["is_prerelease"] is False


# --- featured and trending --------------------------------------------------------------


async def test_featured_modules_come_in_their_featured_order(api, db, publisher):
    second = module(publisher, featured=True, featured_order=2)
    first = module(publisher, featured=True, featured_order=1, download_count=0)
    unordered = module(publisher, featured=True, download_count=1000)
    not_featured = module(publisher, featured=False, featured_order=0)
    hidden = module(publisher, featured=True, featured_order=0, visibility="private")
    await save(db, second, first, unordered, not_featured, hidden)
    body = await get(api, BASE + "/featured")
    assert slugs(body) == [first.slug, second.slug, unordered.slug]
    assert all(item["featured"] for item in body)
    assert slugs(await get(api, BASE + "/featured", limit=1)) == [first.slug]


async def test_trending_counts_the_last_seven_days_only(api, db, publisher):
    rows = {
        "hot": module(publisher, download_count=10),
        "warm_popular": module(publisher, download_count=900),
        "warm": module(publisher, download_count=20),
        "stale": module(publisher, download_count=5000),
    }
    releases = {key: version(row, "1.0.0") for key, row in rows.items()}
    await save(db, *rows.values(), *releases.values())
    await downloads(db, rows["hot"], releases["hot"], 0.1, 1, 6.9)
    await downloads(db, rows["warm_popular"], releases["warm_popular"], 2, 8, 30)
    await downloads(db, rows["warm"], releases["warm"], 3, 8, 8, 9)
    await downloads(db, rows["stale"], releases["stale"], 8, 8, 8, 8, 8)

    body = await get(api, BASE + "/trending")

    assert slugs(body) == [rows[k].slug for k in ("hot", "warm_popular", "warm")]
    assert [item["recent_downloads"] for item in body] == [3, 1, 1]
    assert slugs(await get(api, BASE + "/trending", limit=1)) == [rows["hot"].slug]


# --- publishers -------------------------------------------------------------------------


async def test_publisher_profile_counts_listed_modules_only(api, make, db):
    _, publisher = await make.publisher()
    async with db() as session:
        stored = await session.get(Publisher, publisher.id)
        stored.bio = "We make charts."
        stored.website = "https://charts.example.com"
        stored.verified = True
        stored.social_links = {"github": "https://github.com/charts"}
        await session.commit()
    await save(
        db,
        module(publisher, download_count=7),
        module(publisher, download_count=3),
        module(publisher, visibility="private", download_count=100),
        module(publisher, ModuleStatus.DRAFT, download_count=100),
    )

    body = await get(api, f"{BASE}/publishers/{publisher.slug}")

    assert body["slug"] == publisher.slug and body["verified"] is True
    assert body["bio"] == "We make charts." and body["website"] == "https://charts.example.com"
    assert body["social_links"] == {"github": "https://github.com/charts"}
    assert body["module_count"] == 2 and body["total_downloads"] == 10
    for private in ("user_id", "stripe_account_id", "paypal_email", "commission_rate", "status"):
        assert private not in body


async def test_publisher_modules_are_their_listed_modules(api, make, db, publisher):
    _, other = await make.publisher()
    popular = module(publisher, download_count=9)
    quiet = module(publisher, download_count=1)
    await save(db, popular, quiet, module(publisher, visibility="unlisted"), module(other))
    body = await get(api, f"{BASE}/publishers/{publisher.slug}/modules")
    assert slugs(body) == [popular.slug, quiet.slug] and body["total"] == 2
    body = await get(api, f"{BASE}/publishers/{publisher.slug}/modules", limit=1, offset=1)
    assert slugs(body) == [quiet.slug] and body["total"] == 2


@pytest.mark.parametrize("path", ["", "/modules"])
async def test_suspended_and_unknown_publishers_are_not_found(api, make, db, path):
    _, suspended = await make.publisher(status="suspended")
    await save(db, module(suspended))
    for slug in (suspended.slug, "nobody-here"):
        response = await api.request("GET", f"{BASE}/publishers/{slug}{path}")
        assert response.status_code == 404, slug
        assert response.json()["error"] == "publisher_not_found"
