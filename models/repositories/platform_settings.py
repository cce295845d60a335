"""Platform settings rows: the admin-editable values over the deployment's defaults."""

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.platform_settings import (
    PlatformSettings,
    effective,
    effective_value,
    scan_thresholds,
    stored_form,
)
from models.platform import PlatformSetting

PLATFORM_SETTINGS_LOCK = 0x5E77_1265
"""The advisory lock key of settings changes."""


async def stored(session: AsyncSession) -> dict[str, Any]:
    rows = await session.execute(select(PlatformSetting.key, PlatformSetting.value))
    return {key: value for key, value in rows.all()}


async def rows(session: AsyncSession) -> dict[str, PlatformSetting]:
    """The stored rows by key, with who changed each last and when."""
    found = await session.execute(select(PlatformSetting))
    return {row.key: row for row in found.scalars()}


async def lock(session: AsyncSession) -> None:
    """Serialise settings changes, so two admins' updates cannot interleave (the scan
    thresholds are checked as a pair). Held until the transaction ends."""
    await session.execute(select(func.pg_advisory_xact_lock(PLATFORM_SETTINGS_LOCK)))


async def current(session: AsyncSession, defaults: dict[str, Any]) -> PlatformSettings:
    return effective(await stored(session), defaults)


async def effective_setting(session: AsyncSession, key: str, default: Any) -> Any:
    """One key's effective value, for code that knows its own default."""
    return effective_value(await stored(session), key, default)


async def current_scan_thresholds(
    session: AsyncSession, reject_default: str, review_default: str
) -> tuple[str, str]:
    """The (reject, review) scan severities in force."""
    return scan_thresholds(await stored(session), reject_default, review_default)


async def put(session: AsyncSession, key: str, value: Any, updated_by: int | None) -> None:
    """Store a value ``parse_setting`` accepted (decimals are kept as their text)."""
    value = stored_form(value)
    await session.execute(
        insert(PlatformSetting)
        .values(key=key, value=value, updated_by=updated_by)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={"value": value, "updated_by": updated_by, "updated_at": func.now()},
        )
    )


async def tax_rate(session: AsyncSession) -> Decimal:
    """The tax rate in force, in percent: what carts, checkouts and renewals charge."""
    return Decimal(await effective_setting(session, "tax_rate_percent", Decimal("0.00")))
