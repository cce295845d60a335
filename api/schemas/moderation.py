"""Admin moderation: decisions on modules and held versions, and the featured list."""

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import INT32_MAX, Int, MultiLine, Strict
from api.schemas.modules import ListingFieldsOut, ListingRevisionOut, ModuleOut
from api.schemas.versions import VersionDetailOut
from domain.review import REASON_MAX
from domain.versions import VersionStatus


class PendingModuleOut(ModuleOut):
    publisher_slug: str
    publisher_name: str
    waiting_since: datetime | None


class ApproveIn(Strict):
    note: MultiLine | None = Field(default=None, max_length=REASON_MAX)


class RejectIn(Strict):
    reason: MultiLine = Field(min_length=1, max_length=REASON_MAX)


class DecisionOut(BaseModel):
    module: ModuleOut
    workflow_id: str


class PendingRevisionOut(ListingRevisionOut):
    """A listing revision in the admins' queue, beside the listing as it reads now."""

    module_slug: str
    publisher_slug: str
    publisher_name: str
    live: ListingFieldsOut


class RevisionDecisionOut(BaseModel):
    revision: ListingRevisionOut
    module: ModuleOut
    """As buyers see it after the decision."""


class VersionDecisionOut(BaseModel):
    version: VersionDetailOut
    status: VersionStatus


# --- featuring --------------------------------------------------------------------------


class FeatureIn(Strict):
    order: Int | None = Field(
        default=None,
        ge=0,
        le=INT32_MAX,
        description="Place in the featured list, lowest first; omitted: its current place, "
        "or after those with one",
    )


class FeaturedModuleOut(ModuleOut):
    featured_order: int | None


class FeatureOut(BaseModel):
    """What featuring or unfeaturing answers: the module, wrapped like every module action."""

    module: FeaturedModuleOut
