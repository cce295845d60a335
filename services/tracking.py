"""Recording what a request did (a module viewed, a version downloaded) with its context,
in the request's own transaction but never at its expense: a refused insert is logged and
undone alone (``models.repositories.analytics.best_effort``). What counts, and how often
per day, is ``domain.analytics`` (Tracking); only counted events are stored, so the event
rows, the counters and every figure built from them agree."""

from sqlalchemy.ext.asyncio import AsyncSession

from domain.analytics import ANONYMOUS_VIEWS_PER_ADDRESS, RequestContext
from models.analytics import ModuleDownload
from models.repositories import analytics, downloads

CLI_AGENT = "marketplace-cli"


async def track_view(
    session: AsyncSession, context: RequestContext, module_id: int, user_id: int | None
) -> bool:
    """Count a view unless this viewer had one counted today (UTC)."""
    counted = await analytics.best_effort(
        session,
        "view",
        lambda: analytics.record_view(
            session, module_id, user_id, context, ANONYMOUS_VIEWS_PER_ADDRESS
        ),
    )
    return bool(counted)


async def track_download(
    session: AsyncSession,
    context: RequestContext,
    *,
    module_id: int,
    version_id: int,
    user_id: int | None,
    license_id: int | None,
) -> bool:
    """Count a fetched file unless this downloader (the user, else the client address)
    had this version counted today (UTC); True when counted."""
    download = ModuleDownload(
        module_id=module_id,
        version_id=version_id,
        user_id=user_id,
        license_id=license_id,
        ip_address=context.ip_address,
        user_agent=context.user_agent,
        referrer=context.referrer,
        country_code=context.country_code,
        download_type="cli" if CLI_AGENT in (context.user_agent or "") else "manual",
    )
    counted = await analytics.best_effort(
        session, "download", lambda: downloads.record_download(session, download)
    )
    return bool(counted)
