"""The Temporal worker: every workflow and activity of the back office, stopped gracefully."""

import asyncio
import logging
import signal

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.review import ReviewActivities
from integrations.mail import FileMailer
from integrations.temporal import connect_temporal
from models.db import make_engine, make_sessionmaker
from settings import Settings
from workflows.module_review import MODULE_SLUG, ModuleReviewWorkflow

log = logging.getLogger("marketplace.worker")

WORKFLOWS = [ModuleReviewWorkflow]
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
    review = ReviewActivities(
        sessions=sessions,
        mailer=FileMailer(settings.mail_dir),
        mail_from=settings.mail_from,
        admin_email=settings.admin_notification_email,
    )
    return [review.apply_decision, review.notify_publisher, review.remind_admins]


def build_worker(client: Client, settings: Settings, sessions, task_queue: str | None = None):
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(settings, sessions),
        graceful_shutdown_timeout=settings.worker_shutdown_grace,
    )


async def run(settings: Settings, database_url: str) -> None:
    client = await connect_temporal(settings)
    await ensure_search_attributes(client, settings.temporal_namespace)
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
