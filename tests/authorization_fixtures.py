"""The fixtures of the authorization matrix's cells, for the modules that ask them:
``from tests.authorization_fixtures import *``. See ``tests.authorization_world``."""

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.storage import storage_key
from tests import archives
from tests.authorization_world import (
    Archive,
    Cell,
    Env,
    Shelf,
    World,
    build_world,
    sessions_on,
    snapshot,
)
from tests.conftest import Api
from tests.factories import Factory

__all__ = ["cell", "no_world_open", "shelf", "world", "world_connection", "world_rows"]


@pytest.fixture(scope="module")
def shelf(shared_app, tmp_path_factory) -> Shelf:
    """One small, distinct archive per released version, stored and signed once; and
    the app's license vault and keyring."""
    storage, keyring = shared_app.state.adapters.storage, shared_app.state.adapters.signing_keys
    folder = tmp_path_factory.mktemp("archives")
    stored = {}
    for number in ("0.9.0", "1.1.0", "1.2.0"):
        path = folder / f"matrix-{number}.zip"
        path.write_bytes(archives.build_zip([archives.Entry(f"matrix/{number}.txt", b"x")]))
        key = storage_key("matrix", number)
        storage.put_file(key, path)
        signed = keyring.sign_file(path)
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        stored[number] = Archive(key, data, digest, signed.signature_b64, signed.key_id)
    adapters = shared_app.state.adapters
    return Shelf(
        storage, stored, adapters.license_vault, adapters.license_keys, adapters.download_links
    )


@pytest.fixture(scope="module")
async def world_connection(engine) -> AsyncIterator[AsyncConnection]:
    """One connection for the whole module, in a transaction rolled back at its end: it
    holds the world. (A test that truncates tables, as ``committed`` does, would wait on
    it: such tests belong before the module's first cell, or in another module.)"""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        _open_worlds.append(connection)
        try:
            yield connection
        finally:
            _open_worlds.remove(connection)
            await transaction.rollback()


_open_worlds: list[AsyncConnection] = []


@pytest.fixture
def no_world_open() -> None:
    """For tests on committed data: their truncation would wait forever on a world's
    transaction, so they must run before their module's first cell."""
    if _open_worlds:
        pytest.fail("a world is open: tests on committed data go before the module's cells")


@pytest.fixture(scope="module")
async def world(world_connection, shelf) -> World:
    """The world, built once per module."""
    return await build_world(sessions_on(world_connection), shelf)


@pytest.fixture(scope="module")
async def world_rows(world, world_connection) -> dict:
    """Every row of the world as built: what a refused call must leave."""
    return await snapshot(sessions_on(world_connection))


@pytest.fixture
async def cell(shared_app, world_connection, world, world_rows, shelf, temporal_dev):
    """A savepoint on the module's world for one cell, the module's app on it, and what the
    checks need; the savepoint is rolled back afterwards."""
    savepoint = await world_connection.begin_nested()
    sessions = sessions_on(world_connection)
    shared_app.state.sessions = sessions
    try:
        transport = httpx.ASGITransport(app=shared_app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            api = Api(http, shared_app.state.settings)
            env = Env(
                api=api,
                make=Factory(sessions),
                temporal_client=temporal_dev.client,
                storage=shelf.storage,
                license_keys=shelf.license_keys,
            )
            yield Cell(api, env, world, world_rows, sessions)
    finally:
        if savepoint.is_active:
            await savepoint.rollback()
