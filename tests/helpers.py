"""Small helpers the test modules share."""

import asyncio
import dataclasses
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self, TypeVar

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from integrations.temporal.front_door import TemporalConnector, TemporalFrontDoor
from models import Base
from settings import Settings
from tests import archives
from tests.factories import unique

T = TypeVar("T")

PATIENCE = 60.0
"""How long a test waits for something another task, thread or process does. Generous:
a passing test returns as soon as the condition holds, and a loaded machine (CI, xdist
workers next to Temporal and Postgres servers) must not turn a slow pass into a failure."""


async def clear_of_the_turn(period: timedelta = timedelta(hours=1), margin: float = 20.0) -> None:
    """Return at least ``margin`` seconds before the next turn of ``period`` (UTC: the full
    hour, midnight), waiting into the new one if need be: for a test that computes the
    current hour or day and asks the API, which computes it again, the two must agree."""
    length = period.total_seconds()
    left = length - datetime.now(UTC).timestamp() % length
    if left < margin:
        await asyncio.sleep(left + 0.5)


async def eventually(
    check: Callable[[], Awaitable[T]], timeout: float = PATIENCE, interval: float = 0.1
) -> T:
    """Call ``check`` until it returns something truthy, and return that; after ``timeout``
    seconds return its last (falsy) answer, for the caller's assert to show."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result or loop.time() > deadline:
            return result
        await asyncio.sleep(interval)


async def wait_until(
    check: Callable[[], Awaitable[object]], what: str, timeout: float = PATIENCE
) -> None:
    """Like ``eventually``, but fails the test, naming ``what`` never happened."""
    if not await eventually(check, timeout):
        raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


async def terminate_if_running(handle: WorkflowHandle, reason: str = "test over") -> None:
    """End a workflow a test leaves behind. One that finished meanwhile (it may finish
    between any look at its status and the call) is left as it is: the server answers
    NOT_FOUND, "workflow execution already completed"."""
    try:
        await handle.terminate(reason)
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise


class BackgroundHttpServer:
    """An HTTP server on 127.0.0.1 (a free port), served from a daemon thread: what the
    fakes of outside services (Stripe payouts, PayPal, Typesense, OSV) run on."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def replaced_adapters(app: FastAPI, **changes) -> Iterator[None]:
    """Run the app with some adapters replaced (``search=...``), then put them back."""
    before = app.state.adapters
    app.state.adapters = dataclasses.replace(before, **changes)
    try:
        yield
    finally:
        app.state.adapters = before


def front_door(client: Client, settings: Settings) -> TemporalFrontDoor:
    """The services' way into Temporal, on a test's client and task queue."""
    return TemporalFrontDoor(TemporalConnector.of(client), settings.temporal_task_queue)


async def database_snapshot(sessions: async_sessionmaker) -> dict:
    """Every row of every table, to show that a refused call changed nothing."""
    parts = ", ".join(
        f"'{t.name}', (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY to_jsonb(r)::text), "
        f"'[]'::jsonb) FROM \"{t.name}\" r)"
        for t in Base.metadata.sorted_tables
    )
    async with sessions() as session:
        value = (await session.execute(text(f"SELECT jsonb_build_object({parts})"))).scalar_one()
    return json.loads(value) if isinstance(value, str) else value


async def sample_listing(api, owner) -> dict:
    """``owner``'s new draft listing for the sample package's technical name, through the
    API; the slug is new each time, since workflow ids built from it outlive a test's rows."""
    created = await api.request(
        "POST",
        "/api/v1/publisher/modules",
        as_user=owner,
        json={
            "technical_name": archives.TECHNICAL_NAME,
            "slug": unique("hello"),
            "display_name": "Hello FastVue",
            "short_description": "A greeting widget for FastVue dashboards.",
        },
    )
    assert created.status_code == 201, created.text
    return created.json()
