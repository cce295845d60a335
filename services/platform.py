"""Platform settings: what is in force, and admins' changes, every one audited.

Each key is read where it matters, per request or per run: carts, checkouts and renewals
(``tax_rate_percent``), buyers' refunds (``refund_window_days``), publisher registration
(``commission_rate_percent``), module reviews started from now on (``review_reminder_days``),
the version scan (``scan_*_severity``) and monthly payouts (``payout_minimum``).
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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
from settings import Settings


@dataclass(frozen=True)
class SettingView:
    """One setting: the value in force, the deployment's default, what it does and the
    values it accepts."""

    key: str
    value: Decimal | int | str
    default: Decimal | int | str
    is_default: bool
    kind: str
    description: str
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    choices: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    updated_by: int | None = None


async def platform_settings_view(session: AsyncSession, settings: Settings) -> list[SettingView]:
    """Every setting, in the order the specs declare them."""
    defaults = settings.platform_defaults()
    rows = await platform_settings.rows(session)
    values = effective({key: row.value for key, row in rows.items()}, defaults)
    out = []
    for key, spec in SPECS.items():
        value = getattr(values, key)
        row = rows.get(key)
        out.append(
            SettingView(
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


async def update_platform_settings(
    session: AsyncSession, changes: dict[str, Any], *, actor_id: int, settings: Settings
) -> list[SettingView]:
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
        await platform_settings.put(session, key, value, actor_id)
        if old != value:
            await audit.record(
                session,
                actor_id=actor_id,
                action="platform_setting.update",
                entity_type="platform_setting",
                entity_id=key,
                changes={"old": stored_form(old), "new": stored_form(value)},
            )
    await session.commit()
    return await platform_settings_view(session, settings)
