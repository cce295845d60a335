"""The Temporal worker: every workflow and activity of the back office, stopped gracefully."""

import asyncio
import logging
import signal

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.checkout import CheckoutActivities
from activities.notifications import activities_for as notification_activities
from activities.packages import PackageActivities, ScanPolicy
from activities.payouts import activities_for as payout_activities
from activities.review import ReviewActivities
from activities.search_index import SearchIndexActivities
from activities.stats import activities_for as stats_activities
from activities.subscriptions import SubscriptionActivities
from integrations.license_vault import LicenseVault
from integrations.mail import mailer_from
from integrations.payments.registry import gateways_from
from integrations.search import build_search
from integrations.temporal import connect_temporal
from integrations.wiring import archive_limits_from, keyring_from, storage_from
from models.db import make_engine, make_sessionmaker
from settings import Settings
from workflows import notifications, payouts, stats_rollup
from workflows.checkout import CheckoutWorkflow
from workflows.module_review import MODULE_SLUG, ModuleReviewWorkflow
from workflows.refund import RefundWorkflow
from workflows.subscription import SubscriptionWorkflow
from workflows.version_ingestion import VersionIngestionWorkflow

log = logging.getLogger("marketplace.worker")

WORKFLOWS = [
    ModuleReviewWorkflow,
    VersionIngestionWorkflow,
    CheckoutWorkflow,
    RefundWorkflow,
    SubscriptionWorkflow,
    *notifications.WORKFLOWS,
    *stats_rollup.WORKFLOWS,
    *payouts.WORKFLOWS,
]
SCHEDULES = [
    notifications.ensure_schedules,
    stats_rollup.ensure_schedules,
    payouts.ensure_schedules,
]
SEARCH_ATTRIBUTES = {MODULE_SLUG.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register the custom search attributes ops use to find workflows; idempotent."""
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=SEARCH_ATTRIBUTES)
        )
    except RPCError as error:
        if error.status is not RPCStatusCode.ALREADY_EXISTS:
            raise


def build_activities(settings: Settings, sessions) -> list:
    mailer = mailer_from(settings)
    review = ReviewActivities(
        sessions=sessions,
        mailer=mailer,
        mail_from=settings.mail_from,
        admin_email=settings.admin_notification_email,
        public_base_url=settings.public_base_url,
    )
    packages = PackageActivities(
        sessions=sessions,
        storage=storage_from(settings),
        keyring=keyring_from(settings),
        mailer=mailer,
        mail_from=settings.mail_from,
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
    )
    index = SearchIndexActivities(sessions=sessions, search=build_search(settings, sessions))
    gateways = gateways_from(settings)
    checkout = CheckoutActivities(
        sessions=sessions,
        gateways=gateways,
        vault=LicenseVault(settings.resolved_license_key_secret()),
        mailer=mailer,
        mail_from=settings.mail_from,
    )
    billing = SubscriptionActivities(
        sessions=sessions,
        gateways=gateways,
        mailer=mailer,
        mail_from=settings.mail_from,
        reminder_days=settings.expiry_reminder_days,
        dunning_days=settings.dunning_retry_days,
        public_base_url=settings.public_base_url,
    )
    return [
        review.apply_decision,
        review.notify_publisher,
        review.remind_admins,
        packages.check_archive,
        packages.check_manifest,
        packages.hash_archive,
        packages.scan,
        packages.hold_for_review,
        packages.record_review_decision,
        packages.sign,
        packages.store,
        packages.publish,
        packages.reject,
        packages.notify,
        packages.start_module_review,
        index.index_module,
        checkout.create_payment,
        checkout.confirm_payment,
        checkout.refresh_payment,
        checkout.cancel_payment,
        checkout.close_unpaid,
        checkout.mark_paid,
        checkout.fulfil,
        checkout.refund_payment,
        checkout.apply_refund,
        checkout.send_receipt,
        billing.load,
        billing.set_cancel_at_period_end,
        billing.charge,
        billing.end,
        billing.remind_expiry,
        *notification_activities(settings, sessions),
        *stats_activities(settings, sessions),
        *payout_activities(settings, sessions),
    ]


def build_worker(client: Client, settings: Settings, sessions, task_queue: str | None = None):
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(settings, sessions),
        graceful_shutdown_timeout=settings.worker_shutdown_grace,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
    )


async def run(settings: Settings, database_url: str) -> None:
    client = await connect_temporal(settings)
    await ensure_search_attributes(client, settings.temporal_namespace)
    for ensure_schedule in SCHEDULES:
        await ensure_schedule(client, settings)
    engine = make_engine(database_url, settings.database_pool_size)
    worker = build_worker(client, settings, make_sessionmaker(engine))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.shutdown()))
    log.info("worker polling task queue %s", settings.temporal_task_queue)
    try:
        await worker.run()
    finally:
        await engine.dispose()
    log.info("worker stopped")
