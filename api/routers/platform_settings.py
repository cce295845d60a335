"""Platform settings for admins, every change audited.

Each key is read where it matters, per request or per run: carts, checkouts and renewals
(``tax_rate_percent``), buyers' refunds (``refund_window_days``), publisher registration
(``commission_rate_percent``), module reviews started from now on (``review_reminder_days``),
the version scan (``scan_*_severity``) and monthly payouts (``payout_minimum``).
"""

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import AdminPrincipal, SessionDep, SettingsDep
from api.schemas.platform import SettingChanges, SettingOut
from services import platform
from services.platform import SettingView

router = APIRouter(prefix="/api/v1/admin/marketplace/settings", tags=["admin"])


def _out(views: list[SettingView]) -> list[SettingOut]:
    return [SettingOut(**asdict(view)) for view in views]


@router.get("", response_model=list[SettingOut])
async def get_settings(
    _: AdminPrincipal, session: SessionDep, settings: SettingsDep
) -> list[SettingOut]:
    """Every setting: the value in force, the deployment's default, what it does and the
    values it accepts."""
    return _out(await platform.platform_settings_view(session, settings))


@router.put("", response_model=list[SettingOut])
async def update_settings(
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    changes: SettingChanges,
) -> list[SettingOut]:
    """Change some settings at once: every value is checked before any is stored, and each
    change is written to the audit log with its old and new value."""
    return _out(
        await platform.update_platform_settings(
            session, changes, actor_id=principal.user.id, settings=settings
        )
    )
