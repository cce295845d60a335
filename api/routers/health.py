"""Liveness and readiness probes."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from models.db import ping

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health():
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request):
    """Both the database and Temporal answer; 503 naming what does not."""
    checks = {"database": await _database_ok(request), "temporal": await _temporal_ok(request)}
    ok = all(checks.values())
    body = {
        "status": "ready" if ok else "not_ready",
        "checks": {name: "ok" if up else "unreachable" for name, up in checks.items()},
    }
    if not ok:
        body["error"] = "not_ready"
    return JSONResponse(body, status_code=200 if ok else 503)


async def _database_ok(request: Request) -> bool:
    try:
        await asyncio.wait_for(ping(request.app.state.sessions), timeout=3)
        return True
    except Exception:
        return False


async def _temporal_ok(request: Request) -> bool:
    try:
        client = await request.app.state.workflows.client()
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        return True
    except Exception:
        return False
