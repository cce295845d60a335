"""A notification end to end on the Temporal dev server: an admin rejects a module over
HTTP → the review workflow queues the publisher's mail in the outbox while the mail server
is down → the server comes back → the ``notification-delivery`` schedule's workflow
delivers it to a real SMTP server (aiosmtpd)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.worker import Replayer, Worker

from activities.notifications import DeliveryReport, NotificationActivities
from activities.review import ReviewActivities
from activities.search_index import SearchIndexActivities
from domain.processes import NotificationDelivery
from integrations.mail import message_id_for
from integrations.temporal import schedules
from integrations.wiring import mailer_from, search_from
from models.platform import NotificationOutbox
from tests.helpers import eventually, terminate_if_running
from tests.smtp_server import SmtpServer
from workflows.module_review import ModuleReviewWorkflow
from workflows.notifications import WORKFLOWS, NotificationDeliveryWorkflow

SCHEDULE_ID = NotificationDelivery.SCHEDULE_ID

pytestmark = pytest.mark.workflow
REASON = "The description does not say what the module does."


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(settings, smtp):
    return settings.model_copy(
        update={
            "mail_backend": "smtp",
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "mail_from": "FastVue Marketplace <no-reply@marketplace.example>",
            "public_base_url": "https://marketplace.example",
        }
    )


async def forget_schedule(client) -> None:
    """Worker processes other tests start on this Temporal server create the schedule for
    their own task queue; a run of theirs left on a queue nobody polls would make every
    trigger here skip (overlap policy SKIP). Start from no schedule at all."""
    handle = client.get_schedule_handle(SCHEDULE_ID)
    try:
        described = await handle.describe()
    except RPCError:
        return
    for running in described.info.running_actions:
        await terminate_if_running(client.get_workflow_handle(running.workflow_id))
    await handle.delete()


async def test_a_rejection_reaches_the_mail_server_through_the_outbox_and_the_schedule(
    committed_api, committed, make_committed, mail_settings, temporal_dev, smtp
):
    client = temporal_dev.client
    review = ReviewActivities(
        sessions=committed,
        mailer=mailer_from(mail_settings),
        mail_from=mail_settings.mail_from,
        admin_email=mail_settings.admin_notification_email,
        public_base_url=mail_settings.public_base_url,
    )
    index = SearchIndexActivities(sessions=committed, search=search_from(mail_settings, committed))
    worker = Worker(
        client,
        task_queue=mail_settings.temporal_task_queue,
        workflows=[ModuleReviewWorkflow, *WORKFLOWS],
        activities=[
            review.verify_decision,
            review.apply_decision,
            review.notify_publisher,
            review.remind_admins,
            index.index_module,
            NotificationActivities(
                sessions=committed,
                mailer=mailer_from(mail_settings),
                mail_from=mail_settings.mail_from,
            ).deliver_due,
        ],
    )
    owner, publisher = await make_committed.publisher()
    admin = await make_committed.admin()
    module = await make_committed.module(publisher)
    api = committed_api

    async def outbox_row() -> NotificationOutbox | None:
        async with committed() as session:
            return await session.scalar(select(NotificationOutbox))

    try:
        async with worker:
            smtp.stop()
            submitted = await api.request(
                "POST", f"/api/v1/publisher/modules/{module.id}/submit", as_user=owner
            )
            assert submitted.status_code == 202, submitted.text
            rejected = await api.request(
                "POST",
                f"/api/v1/admin/marketplace/modules/{module.id}/reject",
                as_user=admin,
                json={"reason": REASON},
            )
            assert rejected.status_code == 200, rejected.text

            async def tried() -> bool:
                row = await outbox_row()
                return row is not None and row.attempts == 1

            assert await eventually(tried), "the workflow never queued the mail"
            row = await outbox_row()
            assert row.status == "pending" and row.kind == "module_rejected"
            assert "MailServerUnavailable" in row.last_error

            smtp.start()
            async with committed.begin() as session:
                await session.execute(
                    update(NotificationOutbox).values(
                        next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)
                    )
                )
            await forget_schedule(client)
            await schedules.ensure_schedules(client, mail_settings, only=[SCHEDULE_ID])
            await schedules.ensure_schedules(client, mail_settings, only=[SCHEDULE_ID])
            for _ in range(20):  # a trigger is skipped while a tick's run is still going
                await schedules.trigger(client, SCHEDULE_ID)
                if await smtp.wait_for(1, timeout=3):
                    break
            described = await client.get_schedule_handle(SCHEDULE_ID).describe()
            assert smtp.messages, (
                f"nothing delivered; outbox: {await outbox_row()!r}; "
                f"schedule actions: {described.info.recent_actions!r}; "
                f"running: {described.info.running_actions!r}"
            )
            [message] = smtp.messages
            assert message["To"] == owner.email
            assert message["Subject"] == f"{module.display_name} was not approved"
            assert message["Message-ID"] == message_id_for(row.dedupe_key, mail_settings.mail_from)
            body = message.get_content()
            assert f"Reason: {REASON}" in body
            assert f"https://marketplace.example/api/v1/publisher/modules/{module.id}" in body

            schedule = await client.get_schedule_handle(SCHEDULE_ID).describe()
            action = schedule.schedule.action
            assert action.task_queue == mail_settings.temporal_task_queue
            assert schedule.schedule.spec.intervals[0].every == timedelta(minutes=1)
            runs = [
                client.get_workflow_handle_for(
                    NotificationDeliveryWorkflow.run, recent.action.workflow_id
                )
                for recent in schedule.info.recent_actions
            ]
            reports = [await run.result() for run in runs]
            assert all(isinstance(r, DeliveryReport) for r in reports)
            assert sum(r.sent for r in reports) == 1, reports
            replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
            for run in runs:
                await replayer.replay_workflow(await run.fetch_history())
            sent = await outbox_row()
            assert (sent.status, sent.attempts) == ("sent", 2)
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()
