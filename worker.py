"""The Temporal worker: every workflow and activity of the back office, stopped gracefully.

The activities are the ``@activity.defn`` methods of the activity classes, each class built
here from the adapters ``integrations.wiring`` assembles; nothing lists them by hand.
"""

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.checkout import CheckoutActivities
from activities.notifications import NotificationActivities
from activities.packages import PackageActivities, ScanPolicy
from activities.payouts import PayoutActivities
from activities.review import ReviewActivities
from activities.search_index import SearchIndexActivities
from activities.stats import StatsActivities
from activities.subscriptions import SubscriptionActivities
from integrations.mail import Mailer
from integrations.temporal import connect_temporal, ensure_search_attributes
from integrations.temporal.schedules import ensure_schedules
from integrations.wiring import Adapters, archive_limits_from, build_adapters
from models.db import make_engine, make_sessionmaker
from settings import Settings
from workflows import notifications, payouts, stats_rollup
from workflows.checkout import CheckoutWorkflow
from workflows.listing_revision import ListingRevisionReviewWorkflow
from workflows.module_review import ModuleReviewWorkflow
from workflows.refund import RefundWorkflow
from workflows.subscription import SubscriptionWorkflow
from workflows.version_ingestion import VersionIngestionWorkflow

log = logging.getLogger("marketplace.worker")

WORKFLOWS = [
    ModuleReviewWorkflow,
    ListingRevisionReviewWorkflow,
    VersionIngestionWorkflow,
    CheckoutWorkflow,
    RefundWorkflow,
    SubscriptionWorkflow,
    *notifications.WORKFLOWS,
    *stats_rollup.WORKFLOWS,
    *payouts.WORKFLOWS,
]


class MailOptions(TypedDict):
    """What every activity class that sends mail is given."""

    mailer: Mailer
    mail_from: str


def activity_objects(
    adapters: Adapters, sessions: async_sessionmaker[AsyncSession]
) -> list[object]:
    """One instance of every activity class, given what it needs."""
    settings = adapters.settings
    mail = MailOptions(mailer=adapters.mailer, mail_from=settings.mail_from)
    return [
        ReviewActivities(
            sessions=sessions,
            **mail,
            admin_email=settings.admin_notification_email,
            public_base_url=settings.public_base_url,
        ),
        PackageActivities(
            sessions=sessions,
            storage=adapters.storage,
            keyring=adapters.signing_keys,
            **mail,
            limits=archive_limits_from(settings),
            scan_policy=ScanPolicy(
                reject_at=settings.scan_reject_severity,
                review_at=settings.scan_review_severity,
                osv_url=settings.osv_url,
                audit_timeout=settings.pip_audit_timeout.total_seconds(),
            ),
            workdir=settings.data_dir / "work",
            review_reminder_after=settings.review_reminder_after,
            review_escalate_after_reminders=settings.review_escalate_after_reminders,
            scan_concurrency=settings.scan_concurrency,
        ),
        SearchIndexActivities(sessions=sessions, search=adapters.search),
        CheckoutActivities(
            sessions=sessions,
            gateways=adapters.gateways,
            vault=adapters.license_vault,
            **mail,
        ),
        SubscriptionActivities(
            sessions=sessions,
            gateways=adapters.gateways,
            **mail,
            reminder_days=settings.expiry_reminder_days,
            dunning_days=settings.dunning_retry_days,
            public_base_url=settings.public_base_url,
        ),
        NotificationActivities(sessions=sessions, **mail),
        StatsActivities(sessions),
        PayoutActivities(
            sessions=sessions,
            rails=adapters.payout_rails,
            platform_defaults=settings.platform_defaults(),
        ),
    ]


def activity_methods(*objects: object) -> list[Callable[..., Any]]:
    """Every ``@activity.defn`` method of the given activity objects."""
    return [
        getattr(instance, name)
        for instance in objects
        for name in dir(type(instance))
        if hasattr(getattr(type(instance), name), "__temporal_activity_definition")
    ]


def build_activities(
    adapters: Adapters, sessions: async_sessionmaker[AsyncSession]
) -> list[Callable[..., Any]]:
    return activity_methods(*activity_objects(adapters, sessions))


def build_worker(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str | None = None,
    *,
    adapters: Adapters | None = None,
) -> Worker:
    """A worker for every workflow and activity; ``adapters`` default to what the settings
    choose."""
    adapters = adapters or build_adapters(settings, sessions)
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(adapters, sessions),
        graceful_shutdown_timeout=settings.worker_shutdown_grace,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
    )


async def run(settings: Settings, database_url: str) -> None:
    client = await connect_temporal(settings)
    await ensure_search_attributes(client, settings.temporal_namespace)
    await ensure_schedules(client, settings)
    engine = make_engine(database_url, settings.database_pool_size)
    sessions = make_sessionmaker(engine)
    adapters = build_adapters(settings, sessions)
    worker = build_worker(client, settings, sessions, adapters=adapters)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.shutdown()))
    log.info("worker polling task queue %s", settings.temporal_task_queue)
    try:
        await worker.run()
    finally:
        await adapters.aclose()
        await engine.dispose()
    log.info("worker stopped")
