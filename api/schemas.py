"""Schema pieces every router shares."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

T = TypeVar("T")


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
    (Postgres text cannot hold them)."""

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
