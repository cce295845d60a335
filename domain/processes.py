"""Every durable process as both sides of Temporal name it.

The workflow code (``workflows/``) declares its type and messages with these names, and the
client side (``integrations.temporal``) starts and talks to the workflows by the same
names, so neither spells one by hand and neither imports the other. Every workflow id and
schedule id is built here, from business keys, so a retried request finds the same run and
ops can search for it.

Ids made from a row id also carry a stable business key of the row (a license's key hash, a
publisher's slug): a database restored from a backup hands row ids out again, and the new
row must not be mistaken for the run of the old one, nor refused because of it.
"""

MODULE_SLUG_ATTRIBUTE = "ModuleSlug"
"""Keyword search attribute on ingestion and review runs, for finding a module's runs."""
SCHEDULED_START_ATTRIBUTE = "TemporalScheduledStartTime"
"""Set by Temporal on runs a schedule starts: the time the run was due."""

LICENSE_FINGERPRINT_LENGTH = 12


class VersionIngestion:
    TYPE = "VersionIngestion"
    DECIDE = "decide"
    """Update: an admin's decision on a version held for manual review."""
    PROGRESS = "progress"

    @staticmethod
    def workflow_id(module_slug: str, version: str) -> str:
        return f"ingest-{module_slug}-{version}"


class ModuleReview:
    TYPE = "ModuleReview"
    DECIDE = "decide"
    """Update: an admin approves or rejects the module."""
    WITHDRAW = "withdraw"
    """Signal: the module was archived while waiting."""
    PROGRESS = "progress"

    @staticmethod
    def workflow_id(module_slug: str) -> str:
        return f"review-{module_slug}"


class ListingRevisionReview:
    TYPE = "ListingRevisionReview"
    DECIDE = "decide"
    """Update: an admin approves or rejects the revision (a decision reference)."""
    WITHDRAW = "withdraw"
    """Signal: the revision was replaced or the module archived."""
    PROGRESS = "progress"

    @staticmethod
    def workflow_id(module_slug: str, revision_key: str) -> str:
        """``listing-revision-{slug}-{key}``: the key is the revision's random key, never
        handed out again (a restored database reuses row ids)."""
        return f"listing-revision-{module_slug}-{revision_key}"


class Checkout:
    TYPE = "Checkout"
    CONFIRM = "confirm"
    """Update: the buyer approved the payment."""
    CANCEL = "cancel"
    """Update: the buyer gave the pending payment up; answers once it is cancelled at the
    gateway and the order closed, or refuses (``order_paid`` when the payment won)."""
    PAYMENT_CHANGED = "payment_changed"
    """Signal: a verified gateway webhook; the workflow reads the payment back."""
    PROGRESS = "progress"

    @staticmethod
    def workflow_id(order_number: str) -> str:
        return f"checkout-{order_number}"


class Refund:
    TYPE = "Refund"

    @staticmethod
    def workflow_id(order_number: str) -> str:
        return f"refund-{order_number}"


class Subscription:
    TYPE = "Subscription"
    CANCEL = "cancel"
    RESUME = "resume"
    VIEW = "view"

    @staticmethod
    def workflow_id(license_id: int, license_key_hash: str) -> str:
        """``subscription-{license}-{fingerprint}``: the fingerprint is the start of the
        license key's hash, which no other license shares."""
        return f"subscription-{license_id}-{license_key_hash[:LICENSE_FINGERPRINT_LENGTH]}"


class MonthlyPayouts:
    TYPE = "MonthlyPayouts"
    SCHEDULE_ID = "monthly-payouts"

    @staticmethod
    def workflow_id(period: str) -> str:
        """The month's run, ``payouts-{YYYY-MM}``."""
        return f"payouts-{period}"


class Payout:
    TYPE = "Payout"
    PROGRESS = "progress"

    @staticmethod
    def workflow_id(publisher_slug: str, period: str) -> str:
        """``payout-{publisher}-{YYYY-MM}``, by the publisher's slug, which is never
        changed and never given to another publisher."""
        return f"payout-{publisher_slug}-{period}"


class NotificationDelivery:
    TYPE = "NotificationDelivery"
    SCHEDULE_ID = "notification-delivery"
    WORKFLOW_ID = "notification-delivery"
    """Runs started by the schedule get this id with the scheduled time appended."""


class PublisherStatsRollup:
    TYPE = "PublisherStatsRollup"
    SCHEDULE_ID = "publisher-stats-nightly"
    WORKFLOW_ID = "publisher-stats-rollup"
    """Runs started by the schedule get this id with the scheduled time appended."""


ALL = (
    VersionIngestion,
    ModuleReview,
    ListingRevisionReview,
    Checkout,
    Refund,
    Subscription,
    MonthlyPayouts,
    Payout,
    NotificationDelivery,
    PublisherStatsRollup,
)
