"""Tables, the engine and session factory, and every query the API and activities share."""

from models.analytics import ModuleDownload, ModuleView, PublisherPayout
from models.base import Base
from models.commerce import (
    CartItem,
    Coupon,
    EarningEntry,
    License,
    LicenseActivation,
    Order,
    OrderRefund,
    PaymentProfile,
    ProcessedWebhookEvent,
    Subscription,
)
from models.module import MarketplaceCategory, MarketplaceModule, ModuleVersion
from models.platform import AuditLogEntry, NotificationOutbox, PlatformSetting
from models.publisher import Publisher, PublisherStats
from models.review import ModuleReview, ReviewReport, ReviewVote
from models.user import ApiToken, EmailToken, User

__all__ = [
    "ApiToken",
    "AuditLogEntry",
    "Base",
    "CartItem",
    "Coupon",
    "EarningEntry",
    "EmailToken",
    "License",
    "LicenseActivation",
    "MarketplaceCategory",
    "MarketplaceModule",
    "ModuleDownload",
    "ModuleReview",
    "ModuleVersion",
    "ModuleView",
    "NotificationOutbox",
    "Order",
    "OrderRefund",
    "PaymentProfile",
    "PlatformSetting",
    "ProcessedWebhookEvent",
    "Publisher",
    "PublisherPayout",
    "PublisherStats",
    "ReviewReport",
    "ReviewVote",
    "Subscription",
    "User",
]
