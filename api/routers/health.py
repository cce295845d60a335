"""Liveness and readiness probes."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import SessionsDep, WorkflowsDep
from services import health as checks

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=None)
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(sessions: SessionsDep, workflows: WorkflowsDep) -> JSONResponse:
    """Both the database and Temporal answer; 503 naming what does not."""
    found = await checks.readiness(sessions, workflows)
    ok = all(found.values())
    body = {
        "status": "ready" if ok else "not_ready",
        "checks": {name: "ok" if up else "unreachable" for name, up in found.items()},
    }
    if not ok:
        body["error"] = "not_ready"
    return JSONResponse(body, status_code=200 if ok else 503)
