"""Shared request parameter types, bounded so no value can overflow a database column."""

from typing import Annotated

from fastapi import Path, Query

from api.schemas import INT32_MAX

IdPath = Annotated[int, Path(ge=1, le=INT32_MAX)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
SlugPath = Annotated[str, Path(max_length=200, pattern=r"^[a-z0-9-]+$")]
LicenseKeyPath = Annotated[str, Path(min_length=1, max_length=100)]
"""A license key as a person or an instance typed it (normalised by the service)."""
