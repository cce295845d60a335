"""Platform settings for admins, every change audited.

Each key is read where it matters, per request or per run: carts, checkouts and renewals
(``tax_rate_percent``), buyers' refunds (``refund_window_days``), publisher registration
(``commission_rate_percent``), module reviews started from now on (``review_reminder_days``),
the version scan (``scan_*_severity``) and monthly payouts (``payout_minimum``).
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel

from api.deps import AdminPrincipal, SessionDep, SettingsDep
from domain.errors import DomainError
from domain.platform_settings import (
    PARSERS,
    SPECS,
    check_scan_thresholds,
    effective,
    parse_setting,
    stored_form,
)
from models.repositories import audit, platform_settings

router = APIRouter(prefix="/api/v1/admin/marketplace/settings", tags=["admin"])

SettingValue = Decimal | int | str
SettingChanges = Annotated[
    dict[str, Any],
    Body(
        examples=[{"tax_rate_percent": "20.00", "refund_window_days": 30}],
        description="Only the keys to change; decimals as strings. All or nothing.",
    ),
]


class SettingOut(BaseModel):
    key: str
    value: SettingValue
    default: SettingValue
    is_default: bool
    kind: str
    description: str
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    choices: list[str] = []
    updated_at: datetime | None = None
    updated_by: int | None = None


async def _settings(session, settings) -> list[SettingOut]:
    defaults = settings.platform_defaults()
    rows = await platform_settings.rows(session)
    values = effective({key: row.value for key, row in rows.items()}, defaults)
    out = []
    for key, spec in SPECS.items():
        value = getattr(values, key)
        row = rows.get(key)
        out.append(
            SettingOut(
                key=key,
                value=value,
                default=defaults[key],
                is_default=value == defaults[key],
                kind=spec.kind,
                description=spec.description,
                minimum=spec.minimum,
                maximum=spec.maximum,
                choices=list(spec.choices),
                updated_at=row.updated_at if row else None,
                updated_by=row.updated_by if row else None,
            )
        )
    return out


@router.get("", response_model=list[SettingOut])
async def get_settings(_: AdminPrincipal, session: SessionDep, settings: SettingsDep):
    """Every setting: the value in force, the deployment's default, what it does and the
    values it accepts."""
    return await _settings(session, settings)


@router.put("", response_model=list[SettingOut])
async def update_settings(
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    changes: SettingChanges,
):
    """Change some settings at once: every value is checked before any is stored, and each
    change is written to the audit log with its old and new value."""
    if not changes:
        raise DomainError("no_changes", "send at least one setting to change")
    for key in changes:
        if key not in PARSERS:
            raise DomainError("unknown_setting", f"{key[:100]!r} is not a platform setting")
    parsed = {key: parse_setting(key, value) for key, value in changes.items()}
    await platform_settings.lock(session)
    defaults = settings.platform_defaults()
    before = await platform_settings.current(session, defaults)
    after = {key: getattr(before, key) for key in PARSERS} | parsed
    check_scan_thresholds(after["scan_review_severity"], after["scan_reject_severity"])
    for key, value in parsed.items():
        old = getattr(before, key)
        await platform_settings.put(session, key, value, principal.user.id)
        if old != value:
            await audit.record(
                session,
                actor_id=principal.user.id,
                action="platform_setting.update",
                entity_type="platform_setting",
                entity_id=key,
                changes={"old": stored_form(old), "new": stored_form(value)},
            )
    await session.flush()
    return await _settings(session, settings)
