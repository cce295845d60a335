"""Recording what a request did (a module viewed, a version downloaded) with its context,
in the request's own transaction but never at its expense: a refused insert is logged and
undone alone (``models.repositories.analytics.best_effort``)."""

from sqlalchemy.ext.asyncio import AsyncSession

from domain.analytics import VIEW_DEDUPE_WINDOW, RequestContext
from models.analytics import ModuleDownload
from models.repositories import analytics, downloads

CLI_AGENT = "marketplace-cli"


async def track_view(
    session: AsyncSession, context: RequestContext, module_id: int, user_id: int | None
) -> bool:
    """Count a view unless this session's last counted one is under 30 minutes old."""
    counted = await analytics.best_effort(
        session,
        "view",
        lambda: analytics.record_view(session, module_id, user_id, context, VIEW_DEDUPE_WINDOW),
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
) -> None:
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
    await analytics.best_effort(
        session, "download", lambda: downloads.record_download(session, download)
    )
