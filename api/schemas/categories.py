"""Categories: the admin's requests and the tree everyone reads."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Flag, Int, MultiLine, RowId, SingleLine, Strict
from domain.slugs import SLUG_MAX, SLUG_PATTERN


class CategoryIn(Strict):
    name: SingleLine = Field(min_length=1, max_length=100)
    slug: str | None = Field(default=None, max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    description: MultiLine | None = Field(default=None, max_length=2000)
    icon: SingleLine | None = Field(default=None, max_length=50)
    parent_id: RowId | None = None
    order: Int = Field(default=0, ge=0, le=10_000)
    is_active: Flag = True


class CategoryUpdateIn(Strict):
    name: SingleLine | None = Field(default=None, min_length=1, max_length=100)
    slug: str | None = Field(default=None, max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    description: MultiLine | None = Field(default=None, max_length=2000)
    icon: SingleLine | None = Field(default=None, max_length=50)
    parent_id: RowId | None = None
    order: Int | None = Field(default=None, ge=0, le=10_000)
    is_active: Flag | None = None


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str
    description: str | None
    icon: str | None
    parent_id: int | None
    order: int
    is_active: bool
    created_at: datetime


class CategoryNode(CategoryOut):
    module_count: int = Field(description="Published public modules filed directly here")
    children: list["CategoryNode"] = []
