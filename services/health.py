"""Readiness: whether what the API needs answers, each checked with a short timeout so a
probe never hangs on a dependency that is down."""

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.temporal.front_door import TemporalFrontDoor
from models.db import ping

CHECK_TIMEOUT = 3


async def readiness(
    sessions: async_sessionmaker[AsyncSession], workflows: TemporalFrontDoor
) -> dict[str, bool]:
    """Whether the database and Temporal answer, by name."""
    return {"database": await _database_ok(sessions), "temporal": await _temporal_ok(workflows)}


async def _database_ok(sessions: async_sessionmaker[AsyncSession]) -> bool:
    try:
        await asyncio.wait_for(ping(sessions), timeout=CHECK_TIMEOUT)
        return True
    except Exception:
        return False


async def _temporal_ok(workflows: TemporalFrontDoor) -> bool:
    try:
        client = await workflows.client()
        await asyncio.wait_for(client.service_client.check_health(), timeout=CHECK_TIMEOUT)
        return True
    except Exception:
        return False
