"""Shared request parameter types, bounded so no value can overflow a database column."""

from datetime import date
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from api.schemas import INT32_MAX
from domain.analytics import EARLIEST_DATE, LATEST_DATE

IdPath = Annotated[int, Path(ge=1, le=INT32_MAX)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
SlugPath = Annotated[str, Path(max_length=200, pattern=r"^[a-z0-9-]+$")]
LicenseKeyPath = Annotated[str, Path(min_length=1, max_length=100)]
"""A license key as a person or an instance typed it (normalised by the service)."""


def _day_in_range(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PydanticCustomError(
            "date_out_of_range",
            "the date must be between {earliest} and {latest}",
            {"earliest": str(EARLIEST_DATE), "latest": str(LATEST_DATE)},
        )
    return value


DayQuery = Annotated[date, AfterValidator(_day_in_range)]
"""A calendar day (UTC) in a query, ``EARLIEST_DATE`` to ``LATEST_DATE``: the one type of
every date parameter, so no day arithmetic (the day after the last) can overflow; outside,
a 422 ``validation_error`` whose problem has the type ``date_out_of_range``. Give it its
``Query(...)`` where used: ``Annotated[DayQuery, Query(alias="from")]``."""
