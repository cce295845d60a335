"""Request and response schemas: the pieces every router shares here, and one module per
domain beside this file (``api.schemas.checkout``, ...)."""

from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
    model_validator,
)
from pydantic import Strict as StrictType
from pydantic_core import PydanticCustomError

from domain.modules import CURRENCIES
from domain.pricing import round_money
from domain.text import text_problem

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


def _one_line(value: Any) -> Any:
    return _checked_text(value, multi_line=False)


def _multi_line(value: Any) -> Any:
    return _checked_text(value, multi_line=True)


def _checked_text(value: Any, *, multi_line: bool) -> Any:
    """Judged as sent, before trimming and before any pattern of the field, so the problem
    is named the same way everywhere; what is not text is left to the type check."""
    if isinstance(value, str):
        problem = text_problem(value, multi_line=multi_line)
        if problem is not None:
            raise PydanticCustomError(problem.code, "{message}", {"message": problem.message})
    return value


ONE_LINE = BeforeValidator(_one_line)
"""The check of ``SingleLine``, to put last on a text type of its own
(``Annotated[InstanceDomain, ONE_LINE]``): it then runs first."""
SingleLine = Annotated[str, ONE_LINE]
"""One line of text for people (a name, a title, a code): no control characters (CR, LF,
TAB, NUL, ...) and no bidirectional controls; a 422 of type ``control_character`` or
``bidi_control`` otherwise (rules in ``domain.text``). Lengths go beside it in ``Field``."""
MultiLine = Annotated[str, BeforeValidator(_multi_line)]
"""Text that may run over lines (a description, a review, release notes): CR, LF and TAB
are kept; other control characters and bidirectional controls are refused as in
``SingleLine``."""


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


# --- money ----------------------------------------------------------------------------------

_CURRENCY: ContextVar[str | None] = ContextVar("answer_currency", default=None)
MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]{2})?$"


def money_text(amount: Decimal) -> str:
    """An amount as its JSON text: a string with the currency's minor digits ("0.00",
    "10.50"; "1000" in JPY), rounded by the platform's single rule. The currency is the
    one of the object being written (see ``InCurrency``); none known means two digits."""
    currency = _CURRENCY.get()
    rounded = round_money(Decimal(amount), currency if currency in CURRENCIES else None)
    return format(rounded, "f")


Money = Annotated[
    Decimal,
    PlainSerializer(money_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": MONEY_PATTERN,
            "description": "An amount with its currency's minor digits: 2, none for JPY",
            "examples": ["0.00", "10.50"],
        }
    ),
]
"""An amount in an answer; see ``money_text``."""


class InCurrency(BaseModel):
    """An answer with a ``currency``: the ``Money`` amounts in it and in what it holds are
    written with that currency's minor digits."""

    # no return annotation: pydantic would describe the answer by it instead of the fields
    @model_serializer(mode="wrap")
    def _in_its_currency(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        token = _CURRENCY.set(getattr(self, "currency", None) or _CURRENCY.get())
        try:
            return handler(self)
        finally:
            _CURRENCY.reset(token)
