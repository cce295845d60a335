"""Small helpers the test modules share."""

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from temporalio.client import Client

from integrations.temporal.front_door import TemporalConnector, TemporalFrontDoor
from settings import Settings


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
