"""Tracking module views and downloads: the request context stored with each, one view per
viewer per UTC day (an address's made-up sessions capped), downloads counted only when a
file is fetched and once per version, downloader and day, counters (and the roll-up) that
always equal the event rows (also under concurrent requests), and tracking that never fails
the request it rides on."""

import asyncio
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select, text, update

from domain.analytics import ANONYMOUS_VIEWS_PER_ADDRESS
from domain.modules import ModuleStatus
from models.analytics import ModuleDownload, ModuleView
from models.module import MarketplaceModule, ModuleVersion
from models.repositories import publisher_stats
from tests.conftest import Api
from tests.helpers import clear_of_the_turn

MODULES = "/api/v1/marketplace/modules"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


async def add_version(sessions, module, number: str, latest: bool) -> ModuleVersion:
    async with sessions() as session:
        version = ModuleVersion(
            module_id=module.id,
            version=number,
            zip_file_url=f"modules/{module.technical_name}/{number}.zip",
            zip_file_hash="0" * 64,
            zip_file_size=10,
            signature="c2ln",
            signature_key_id="0123456789abcdef",
            status="published",
            is_latest=latest,
            published_at=datetime.now(UTC),
        )
        session.add(version)
        await session.commit()
        return version


async def published(make, sessions):
    """A published free module with two downloadable versions."""
    _, publisher = await make.publisher()
    module = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    old = await add_version(sessions, module, "1.0.0", latest=False)
    new = await add_version(sessions, module, "1.1.0", latest=True)
    return module, old, new


async def view(api, module, as_user=None, **headers):
    response = await api.request(
        "GET", f"{MODULES}/{module.slug}", as_user=as_user, headers=headers
    )
    assert response.status_code == 200, response.text
    return response


async def views_of(sessions, module) -> list[ModuleView]:
    async with sessions() as session:
        rows = await session.execute(
            select(ModuleView).where(ModuleView.module_id == module.id).order_by(ModuleView.id)
        )
        return list(rows.scalars())


async def counters(sessions, module_id: int) -> tuple[int, int]:
    async with sessions() as session:
        row = await session.get(MarketplaceModule, module_id, populate_existing=True)
        return row.view_count, row.download_count


async def age_events(sessions, module, model=ModuleView, days: float = 1) -> None:
    """Move the module's recorded views (or downloads) back in time, as if they were older."""
    async with sessions() as session:
        await session.execute(
            update(model)
            .where(model.module_id == module.id)
            .values(created_at=model.created_at - timedelta(days=days))
        )
        await session.commit()


@pytest.fixture
async def within_the_day():
    """The test's requests and its idea of "today" fall on the same UTC day."""
    await clear_of_the_turn(timedelta(days=1), margin=60)


@asynccontextmanager
async def client_at(api, address: str):
    """Another client of the same app, connecting from ``address``."""
    app = api.http._transport.app
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(http, api.settings)


# --- views --------------------------------------------------------------------------------------


async def test_a_view_is_stored_with_its_request_context(api, make, db):
    module, _, _ = await published(make, db)
    reader = await make.user()
    await view(
        api,
        module,
        as_user=reader,
        **{
            "User-Agent": BROWSER,
            "Referer": "https://search.example.com/?q=charts",
            "CF-IPCountry": "nl",
            "X-Session-Id": "tab_01-A",
        },
    )
    [row] = await views_of(db, module)
    assert row.user_id == reader.id
    assert row.session_id == "tab_01-A"
    assert row.ip_address == "127.0.0.1"
    assert row.user_agent == BROWSER
    assert row.referrer == "https://search.example.com/?q=charts"
    assert row.country_code == "NL"
    assert await counters(db, module.id) == (1, 0)


async def test_hostile_context_is_stored_bounded_or_not_at_all(api, make, db):
    module, _, _ = await published(make, db)
    await view(
        api,
        module,
        **{
            "User-Agent": "A" * 2000,
            "Referer": "https://x.example/" + "p" * 1000,
            "X-Country-Code": "ZZZ",
            "X-Session-Id": "x" * 65,
        },
    )
    [row] = await views_of(db, module)
    assert row.user_agent == "A" * 500 and len(row.referrer) == 500
    assert row.country_code is None
    assert len(row.session_id) == 64 and row.session_id != "x" * 64, "a hash, not the header"


async def test_one_session_counts_one_view_per_utc_day(api, make, db, within_the_day):
    module, _, _ = await published(make, db)
    for _ in range(3):
        await view(api, module, **{"X-Session-Id": "s1"})
    assert len(await views_of(db, module)) == 1 and await counters(db, module.id) == (1, 0)

    await view(api, module, **{"X-Session-Id": "s2"})
    assert await counters(db, module.id) == (2, 0), "another session counts"

    await age_events(db, module, days=1)
    await view(api, module, **{"X-Session-Id": "s1"})
    assert await counters(db, module.id) == (3, 0), "the next day it counts again"
    await view(api, module, **{"X-Session-Id": "s1"})
    assert await counters(db, module.id) == (3, 0)
    rows = await views_of(db, module)
    assert [r.session_id for r in rows] == ["s1", "s2", "s1"]


async def test_a_signed_in_viewer_counts_once_a_day_whatever_session_they_send(
    api, make, db, within_the_day
):
    module, _, _ = await published(make, db)
    reader = await make.user()
    for number in range(10):
        await view(api, module, as_user=reader, **{"X-Session-Id": f"tab-{number}"})
    assert await counters(db, module.id) == (1, 0)


async def test_rotating_session_ids_from_one_address_count_at_most_the_cap(
    api, make, db, within_the_day
):
    """The attack: a fresh X-Session-Id on every request minted a view each time."""
    module, _, _ = await published(make, db)
    for number in range(20):
        await view(api, module, **{"X-Session-Id": f"rotated-{number}"})
    for agent in ("curl/8.0", "Wget/1.21", "python-httpx/0.28"):
        await view(api, module, **{"User-Agent": agent})  # no header: address and agent
    assert await counters(db, module.id) == (ANONYMOUS_VIEWS_PER_ADDRESS, 0)
    assert len(await views_of(db, module)) == ANONYMOUS_VIEWS_PER_ADDRESS

    async with client_at(api, "198.51.100.7") as elsewhere:
        await view(elsewhere, module, **{"X-Session-Id": "office-pc"})
    reader = await make.user()
    await view(api, module, as_user=reader, **{"X-Session-Id": "rotated-1"})
    assert await counters(db, module.id) == (ANONYMOUS_VIEWS_PER_ADDRESS + 2, 0), (
        "another address, and a signed-in user, still count"
    )
    other, _, _ = await published(make, db)
    await view(api, other, **{"X-Session-Id": "rotated-0"})
    assert await counters(db, other.id) == (1, 0), "the cap is per module"


async def test_without_a_session_header_the_caller_is_its_address_and_agent(api, make, db):
    module, _, _ = await published(make, db)
    reader = await make.user()
    await view(api, module, **{"User-Agent": BROWSER})
    await view(api, module, **{"User-Agent": BROWSER})
    assert await counters(db, module.id) == (1, 0)
    await view(api, module, **{"User-Agent": "curl/8.0"})
    await view(api, module, as_user=reader, **{"User-Agent": BROWSER})
    await view(api, module, as_user=reader, **{"User-Agent": BROWSER})
    assert await counters(db, module.id) == (3, 0), "another agent, and a signed-in user"


async def test_a_view_per_module(api, make, db):
    first, _, _ = await published(make, db)
    second, _, _ = await published(make, db)
    await view(api, first, **{"X-Session-Id": "same"})
    await view(api, second, **{"X-Session-Id": "same"})
    assert await counters(db, first.id) == (1, 0) and await counters(db, second.id) == (1, 0)


async def test_a_module_not_shown_is_not_counted(api, make, db):
    _, publisher = await make.publisher()
    draft = await make.module(publisher, status=ModuleStatus.DRAFT)
    response = await api.request("GET", f"{MODULES}/{draft.slug}")
    assert response.status_code == 404
    assert await views_of(db, draft) == [] and await counters(db, draft.id) == (0, 0)


async def test_a_view_does_not_change_when_the_module_was_last_updated(api, make, db):
    module, _, _ = await published(make, db)
    async with db() as session:
        await session.execute(
            update(MarketplaceModule)
            .where(MarketplaceModule.id == module.id)
            .values(updated_at=datetime(2024, 1, 1, tzinfo=UTC))
        )
        await session.commit()
    body = (await view(api, module)).json()
    assert body["updated_at"].startswith("2024-01-01")
    async with db() as session:
        stored = await session.get(MarketplaceModule, module.id, populate_existing=True)
        assert stored.updated_at == datetime(2024, 1, 1, tzinfo=UTC) and stored.view_count == 1


async def test_when_the_database_refuses_the_view_the_page_is_still_served(api, make, db):
    module, _, _ = await published(make, db)
    async with db() as session:
        await session.execute(
            text(
                "CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by test'; END $$"
            )
        )
        await session.execute(
            text(
                "CREATE TRIGGER refuse_views BEFORE INSERT ON marketplace_views "
                "FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse()"
            )
        )
        await session.commit()
    response = await view(api, module, **{"X-Session-Id": "s"})
    assert response.json()["slug"] == module.slug
    assert await views_of(db, module) == [] and await counters(db, module.id) == (0, 0)
    download = await api.request("GET", f"{MODULES}/{module.slug}/download")
    assert download.status_code == 307, "the request's own work goes on"
    assert await counters(db, module.id) == (0, 1)


# --- downloads ----------------------------------------------------------------------------------


async def test_a_download_is_stored_with_its_request_context(api, make, db):
    module, old, new = await published(make, db)
    reader = await make.user()
    link = await api.request(
        "GET",
        f"{MODULES}/{module.slug}/download/1.0.0",
        as_user=reader,
        params={"redirect": "false"},
    )
    assert link.status_code == 200, link.text
    followed = await follow(
        api,
        link.json()["url"],
        headers={
            "User-Agent": "marketplace-cli/2.1",
            "Referer": "https://docs.example.com/install",
            "X-Country-Code": "br",
        },
    )
    assert followed.status_code == 307, followed.text
    await api.request("GET", f"{MODULES}/{module.slug}/download", headers={"CF-IPCountry": "XX"})
    rows = await downloads_of(db, module)
    async with db() as session:
        versions = {
            v.id: v.download_count
            for v in (
                await session.execute(
                    select(ModuleVersion)
                    .where(ModuleVersion.module_id == module.id)
                    .execution_options(populate_existing=True)
                )
            ).scalars()
        }
    first, second = rows
    assert (first.version_id, first.user_id, first.download_type) == (old.id, reader.id, "cli")
    assert first.referrer == "https://docs.example.com/install" and first.country_code == "BR"
    assert first.ip_address == "127.0.0.1" and first.user_agent == "marketplace-cli/2.1"
    assert (second.version_id, second.user_id, second.country_code) == (new.id, None, None)
    assert second.download_type == "manual"
    assert versions == {old.id: 1, new.id: 1}
    assert await counters(db, module.id) == (0, 2)


async def test_minting_links_counts_no_download(api, make, db):
    """The attack: every ``?redirect=false`` call counted a download, no file fetched."""
    module, _, _ = await published(make, db)
    reader = await make.user()
    for number in range(20):
        minted = await api.request(
            "GET",
            f"{MODULES}/{module.slug}/download",
            as_user=reader if number % 2 else None,
            params={"redirect": "false"},
            headers={"X-Session-Id": f"rotated-{number}"},
        )
        assert minted.status_code == 200, minted.text
    assert await downloads_of(db, module) == []
    assert await counters(db, module.id) == (0, 0)


async def test_a_fetched_file_counts_once_per_version_downloader_and_day(
    api, make, db, within_the_day
):
    module, old, new = await published(make, db)
    first, second = await make.user(), await make.user()
    url = f"{MODULES}/{module.slug}/download"

    assert (await api.request("GET", url, as_user=first)).status_code == 307
    link = await api.request("GET", url, as_user=first, params={"redirect": "false"})
    assert (await follow(api, link.json()["url"])).status_code == 307
    assert await counters(db, module.id) == (0, 1), "the same user twice the same day: once"

    await api.request("GET", url, as_user=second, headers={"X-Session-Id": "other"})
    assert await counters(db, module.id) == (0, 2), "another user counts"

    await api.request("GET", f"{url}/1.0.0", as_user=second)
    assert await counters(db, module.id) == (0, 3), "another version counts"

    for number in range(5):
        await api.request("GET", url, headers={"X-Session-Id": f"rotated-{number}"})
    assert await counters(db, module.id) == (0, 4), "anonymous: once per client address"
    async with client_at(api, "198.51.100.7") as elsewhere:
        await elsewhere.request("GET", url)
    assert await counters(db, module.id) == (0, 5)

    await age_events(db, module, ModuleDownload, days=1)
    await api.request("GET", url, as_user=first)
    assert await counters(db, module.id) == (0, 6), "the next day counts again"

    rows = await downloads_of(db, module)
    assert [(r.version_id, r.user_id) for r in rows] == [
        (new.id, first.id),
        (new.id, second.id),
        (old.id, second.id),
        (new.id, None),
        (new.id, None),
        (new.id, first.id),
    ]
    assert [r.ip_address for r in rows if r.user_id is None] == ["127.0.0.1", "198.51.100.7"]


async def test_the_roll_up_counts_what_was_counted(api, make, db, within_the_day):
    """The nightly publisher figures (counters for all time, event rows for 30 days) agree
    with the deduplicated counting: repeated fetches and minted links add nothing."""
    module, _, _ = await published(make, db)
    reader = await make.user()
    url = f"{MODULES}/{module.slug}/download"
    for _ in range(3):
        await api.request("GET", url, as_user=reader)
        await api.request("GET", url, as_user=reader, params={"redirect": "false"})
        await api.request("GET", url)
    now = datetime.now(UTC)
    async with db() as session:
        figures = await publisher_stats.figures(
            session,
            [module.publisher_id],
            since=now - timedelta(days=30),
            until=now + timedelta(minutes=1),
            currency="USD",
        )
    assert figures[module.publisher_id].downloads == 2
    assert figures[module.publisher_id].recent_downloads == 2


async def follow(api, url: str, headers: dict | None = None):
    parts = urlsplit(url)
    return await api.request("GET", f"{parts.path}?{parts.query}", headers=headers or {})


async def downloads_of(sessions, module) -> list[ModuleDownload]:
    async with sessions() as session:
        rows = await session.execute(
            select(ModuleDownload)
            .where(ModuleDownload.module_id == module.id)
            .order_by(ModuleDownload.id)
        )
        return list(rows.scalars())


# --- concurrency --------------------------------------------------------------------------------

CONCURRENT = 10


@pytest.fixture
async def shared_module(make_committed, committed):
    return await published(make_committed, committed)


async def test_concurrent_identical_views_make_one_row(committed_api, committed, shared_module):
    module, _, _ = shared_module
    await asyncio.gather(
        *(view(committed_api, module, **{"X-Session-Id": "burst"}) for _ in range(CONCURRENT))
    )
    assert len(await views_of(committed, module)) == 1
    assert await counters(committed, module.id) == (1, 0)


async def test_counters_equal_the_event_rows_after_concurrent_traffic(
    committed_api, committed, shared_module
):
    module, old, new = shared_module
    base = f"{MODULES}/{module.slug}"

    async def download(number: str | None):
        url = f"{base}/download/{number}" if number else f"{base}/download"
        response = await committed_api.request("GET", url)
        assert response.status_code == 307, response.text

    traffic = [view(committed_api, module, **{"X-Session-Id": f"s{i % 4}"}) for i in range(12)]
    traffic += [download("1.0.0" if i % 3 == 0 else None) for i in range(12)]
    for batch in range(0, len(traffic), CONCURRENT):
        await asyncio.gather(*traffic[batch : batch + CONCURRENT])

    async with committed() as session:
        stored = await session.get(MarketplaceModule, module.id)
        view_rows = await session.scalar(
            select(func.count()).select_from(ModuleView).where(ModuleView.module_id == module.id)
        )
        download_rows = dict(
            (
                await session.execute(
                    select(ModuleDownload.version_id, func.count())
                    .where(ModuleDownload.module_id == module.id)
                    .group_by(ModuleDownload.version_id)
                )
            ).all()
        )
        version_counts = dict(
            (
                await session.execute(
                    select(ModuleVersion.id, ModuleVersion.download_count).where(
                        ModuleVersion.module_id == module.id
                    )
                )
            ).all()
        )
    assert view_rows == 4 and stored.view_count == view_rows
    # One anonymous client: once per version, however many fetches arrive at once.
    assert stored.download_count == sum(download_rows.values()) == 2
    assert version_counts == {old.id: download_rows[old.id], new.id: download_rows[new.id]}
    assert download_rows == {old.id: 1, new.id: 1}
