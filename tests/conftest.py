"""Test session: real Postgres (migrated once, one rolled-back transaction per test) and
real Temporal servers; helpers to make accounts and call the API as each role."""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from cli import embedded
from integrations.temporal import MODULE_SLUG
from integrations.temporal.front_door import TemporalConnector
from models import Base
from models.db import make_engine
from models.migrate import upgrade
from services.credentials import issue_access_token
from settings import Settings
from tests import factories
from tests.services import fresh_database, postgres_server, traversable_tmpdir, unique_name

JWT_SECRET = "test-only-" + uuid.uuid4().hex
WEB_DIST = Path(__file__).parent / "web_dist"
"""A stand-in for the built storefront (web/dist), so the app's page routes answer the same
whether or not web/ was built on this machine."""


@pytest.hookimpl(hookwrapper=True)
def pytest_cmdline_main(config):
    """The temporalio bridge can abort the interpreter at exit (sdk-python #300):
    leave with the real exit code before it gets the chance."""
    outcome = yield
    code = outcome.get_result()
    os._exit(int(code) if code is not None else 0)


SHARED_POSTGRES = "marketplace_postgres_url"
"""Where xdist workers find the one Postgres server the controller started for the run."""


def _distributed(config) -> bool:
    """This process is the controller of an xdist run (``-n N`` with N > 0)."""
    return (
        not hasattr(config, "workerinput")
        and config.pluginmanager.hasplugin("xdist")
        and bool(config.getoption("numprocesses", None))
        and config.getoption("dist", "no") != "no"
    )


def pytest_configure(config):
    """Under xdist, one Postgres server for the whole run: the controller starts it and
    every worker makes its own database on it (see ``database_url``). Starting a server
    per worker would cost seconds and memory on every run for nothing."""
    if _distributed(config):
        config._marketplace_services = ExitStack()
        config._marketplace_postgres_url = config._marketplace_services.enter_context(
            postgres_server()
        )


def pytest_unconfigure(config):
    services = getattr(config, "_marketplace_services", None)
    if services is not None:
        services.close()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist: hand the run's Postgres server to each worker."""
    url = getattr(node.config, "_marketplace_postgres_url", None)
    if url is not None:
        node.workerinput[SHARED_POSTGRES] = url


@pytest.fixture(scope="session")
def postgres(request):
    """The Postgres server of the run: the controller's under xdist, else this session's."""
    shared = getattr(request.config, "workerinput", {}).get(SHARED_POSTGRES)
    if shared is not None:
        yield shared
        return
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def worker_id_label(request) -> str:
    """``gw0``, ``gw1``, ... under xdist; ``main`` otherwise (for names of per-worker
    resources such as the database)."""
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def database_url(postgres, worker_id_label):
    """One database per xdist worker (per session), migrated once."""
    with fresh_database(postgres, unique_name(f"marketplace_test_{worker_id_label}")) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
async def engine(database_url):
    engine = make_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(engine) -> AsyncIterator[async_sessionmaker]:
    """Sessions inside one outer transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        await transaction.rollback()


@pytest.fixture
async def committed(engine) -> AsyncIterator[async_sessionmaker]:
    """Sessions that really commit, for tests where a worker must see the rows.
    Every table is emptied afterwards; sequences go on, so ids are never reused across
    tests (workflow ids made of row ids outlive the tables on the session's Temporal
    server, and a test must not lean on the values ids happen to take)."""
    yield async_sessionmaker(engine, expire_on_commit=False)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture(scope="session")
async def temporal_dev() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=embedded.venv_executable("temporal"),
        ui=False,
        data_converter=pydantic_data_converter,
        search_attributes=[MODULE_SLUG],
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture
def outside_tmp():
    """A scratch folder an embedded Postgres (run as another user) can reach."""
    with traversable_tmpdir("marketplace-test-") as path:
        yield path


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        jwt_secret=JWT_SECRET,
        temporal_task_queue=f"test-{uuid.uuid4().hex}",
        review_reminder_after=timedelta(days=3),
    )


@dataclass
class Api:
    """An HTTP client on the app, with bearer tokens for the accounts a test made."""

    http: httpx.AsyncClient
    settings: Settings

    def token_for(self, user) -> dict[str, str]:
        """A session of ``user`` at the token version the object holds (a test that bumps
        it signs in again with a reloaded user)."""
        token, _ = issue_access_token(
            user.id,
            token_version=user.token_version,
            secret=JWT_SECRET,
            issuer=self.settings.jwt_issuer,
            ttl=timedelta(minutes=5),
        )
        return {"Authorization": f"Bearer {token}"}

    async def request(self, method: str, url: str, as_user=None, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {}) | (self.token_for(as_user) if as_user else {})
        return await self.http.request(method, url, headers=headers, **kwargs)


async def _api(sessions, settings, engine, temporal_dev) -> AsyncIterator[Api]:
    app = create_app(settings, engine, TemporalConnector.of(temporal_dev.client))
    app.state.sessions = sessions
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(http, settings)


@pytest.fixture
async def api(db, settings, engine, temporal_dev) -> AsyncIterator[Api]:
    """The API on the rolled-back test transaction."""
    async for client in _api(db, settings, engine, temporal_dev):
        yield client


@pytest.fixture(scope="module")
async def shared_app(engine, temporal_dev, tmp_path_factory):
    """One app for a whole module: a fresh app spends ~0.2 s on its first request (route
    setup), which over hundreds of table-driven cases would dominate the run."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("shared") / "data",
        jwt_secret=JWT_SECRET,
        temporal_task_queue=f"test-{uuid.uuid4().hex}",
        web_dist_dir=WEB_DIST,
    )
    return create_app(settings, engine, TemporalConnector.of(temporal_dev.client))


@pytest.fixture
async def shared_api(shared_app, db) -> AsyncIterator[Api]:
    """Like ``api`` (the rolled-back test transaction), on the module's shared app."""
    shared_app.state.sessions = db
    transport = httpx.ASGITransport(app=shared_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(http, shared_app.state.settings)


@pytest.fixture
async def committed_api(committed, settings, engine, temporal_dev) -> AsyncIterator[Api]:
    """The API on committed data, for flows a worker takes part in."""
    async for client in _api(committed, settings, engine, temporal_dev):
        yield client


@pytest.fixture
def make(db):
    return factories.Factory(db)


@pytest.fixture
def make_committed(committed):
    return factories.Factory(committed)
