"""Request and response schemas: the pieces every router shares here, and one module per
domain beside this file (``api.schemas.checkout``, ...)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic import Strict as StrictType

T = TypeVar("T")
INT32_MAX = 2**31 - 1

Int = Annotated[int, StrictType()]
"""An integer that must arrive as a JSON number: ``true`` or ``"1"`` are refused."""
Flag = Annotated[bool, StrictType()]
"""A boolean that must arrive as ``true`` or ``false``."""
RowId = Annotated[int, StrictType(), Field(ge=1, le=INT32_MAX)]


def _storable_instant(value: datetime) -> datetime:
    """Kept in UTC, an instant must stay a readable year: ``9999-12-31T23:59:59-14:00``
    is year 10000 in UTC, which the database stores but Python cannot read back."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant is out of range") from None
    if not MIN_YEAR <= utc.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return utc


MIN_YEAR, MAX_YEAR = 1970, 9000
Instant = Annotated[AwareDatetime, AfterValidator(_storable_instant)]
"""A date and time with its offset, stored in UTC."""


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Strict(BaseModel):
    """A request body: unknown fields are refused, text is trimmed, NUL bytes refused
    (Postgres text cannot hold them). Numbers and flags use the strict types below."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_bytes(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL bytes")
        return data


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
