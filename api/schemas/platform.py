"""Platform settings as admins read and change them."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Body
from pydantic import BaseModel

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
