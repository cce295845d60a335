"""The one SQL definition of what the public catalogue shows."""

from sqlalchemy import ColumnElement

from domain.modules import ModuleStatus, Visibility
from models.module import MarketplaceModule
from models.publisher import Publisher

SUSPENDED = "suspended"


def listed() -> list[ColumnElement[bool]]:
    """Published public modules of a publisher in good standing (not suspended); the
    query must join Publisher."""
    return [
        MarketplaceModule.status == ModuleStatus.PUBLISHED,
        MarketplaceModule.visibility == Visibility.PUBLIC,
        Publisher.status != SUSPENDED,
    ]
