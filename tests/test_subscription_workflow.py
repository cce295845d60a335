"""The subscription workflow on the time-skipping server, with the real activities on real
Postgres and the local gateway: a year of renewals, dunning, cancel and resume, the expiry
reminder and trials, each in a second or two."""

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.subscriptions import RenewalAttempt, SubscriptionActivities
from cli import embedded
from domain.checkout import (
    LicenseKind,
    OrderKind,
    OrderStatus,
    SubscriptionInput,
    SubscriptionStatus,
    SubscriptionView,
    add_period,
    renewal_order_number,
)
from domain.licensing import LicenseStatus
from domain.modules import LicenseType, ModuleStatus, SubscriptionPeriod
from integrations.mail import FileMailer
from integrations.wiring import gateways_from
from models.commerce import EarningEntry, License, Order, PaymentProfile, Subscription
from settings import Settings
from tests.helpers import PATIENCE, wait_until
from workflows.subscription import SubscriptionWorkflow

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MONTHLY = SubscriptionPeriod.MONTHLY
PRICE = Decimal("9.99")
ALWAYS_PAYS = "4242424242424242"
DECLINES_OFF_SESSION = "4000000000000341"


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test (it starts in ~0.1 s): its clock and workflow ids
    are the test's own, and nothing a test leaves running can hold the clock for the next."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=embedded.venv_executable("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def billing(settings):
    return settings.model_copy(update={"dunning_retry_days": [1, 3, 7], "expiry_reminder_days": 7})


class RecordingMailer(FileMailer):
    """The file mailer, also remembering every send: a dedupe key sent twice would only
    overwrite its file."""

    def __init__(self, directory) -> None:
        super().__init__(directory)
        self.sent: list[str] = []

    def send(self, message: EmailMessage, *, dedupe_key: str) -> None:
        self.sent.append(dedupe_key)
        super().send(message, dedupe_key=dedupe_key)


def subscription_workflow_id(license_id: int) -> str:
    """The run of a seeded license (whose key hash the tests do not need to know)."""
    return f"test-subscription-{license_id}"


@dataclass
class Harness:
    env: WorkflowEnvironment
    settings: Settings
    sessions: async_sessionmaker
    queue: str
    mailer: RecordingMailer

    async def start(self, license_id: int) -> WorkflowHandle:
        return await self.env.client.start_workflow(
            SubscriptionWorkflow.run,
            SubscriptionInput(license_id=license_id),
            id=subscription_workflow_id(license_id),
            task_queue=self.queue,
        )

    def latest(self, license_id: int) -> WorkflowHandle:
        """The workflow's current run (it continues as new every period)."""
        return self.env.client.get_workflow_handle(subscription_workflow_id(license_id))

    async def view(self, license_id: int) -> SubscriptionView:
        return await self.latest(license_id).query(SubscriptionWorkflow.view)

    async def skip_to(self, moment: datetime) -> None:
        now = await self.env.get_current_time()
        if moment > now:
            await self.env.sleep(moment - now)

    async def settle(self, license_id: int, check, what: str) -> None:
        """Wait (real time) for the worker to finish what the skipped time set off."""
        await wait_until(check, f"license {license_id}: {what}")

    def failed(self, license_id: int, attempts: int):
        """A check: that many declined charges, all seen by the workflow."""

        async def check() -> bool:
            view = await self.view(license_id)
            return len(self.payments()) == attempts and view.failed_attempts == attempts

        return check

    async def subscription(self, license_id: int) -> tuple[Subscription, License]:
        async with self.sessions() as session:
            sub = (
                await session.execute(
                    select(Subscription).where(Subscription.license_id == license_id)
                )
            ).scalar_one()
            return sub, await session.get(License, license_id)

    async def orders(self) -> list[Order]:
        async with self.sessions() as session:
            return list((await session.execute(select(Order).order_by(Order.id))).scalars())

    async def earnings(self) -> list[EarningEntry]:
        async with self.sessions() as session:
            rows = await session.execute(select(EarningEntry).order_by(EarningEntry.id))
            return list(rows.scalars())

    def payments(self) -> list[dict]:
        directory = self.settings.payments_dir
        if not directory.exists():
            return []
        return [json.loads(path.read_text()) for path in sorted(directory.glob("lpay_*.json"))]

    def mails(self) -> set[str]:
        directory = self.settings.mail_dir
        return {path.stem for path in directory.glob("*.eml")} if directory.exists() else set()


@asynccontextmanager
async def harness(env, settings, sessions, queue: str | None = None) -> AsyncIterator[Harness]:
    mailer = RecordingMailer(settings.mail_dir)
    billing = SubscriptionActivities(
        sessions=sessions,
        gateways=gateways_from(settings),
        mailer=mailer,
        mail_from=settings.mail_from,
        reminder_days=settings.expiry_reminder_days,
        dunning_days=settings.dunning_retry_days,
    )
    queue = queue or f"subscription-{uuid.uuid4().hex}"
    worker = Worker(
        env.client,
        task_queue=queue,
        workflows=[SubscriptionWorkflow],
        activities=[
            billing.load,
            billing.set_cancel_at_period_end,
            billing.charge,
            billing.end,
            billing.remind_expiry,
        ],
    )
    async with worker:
        yield Harness(env, settings, sessions, queue, mailer)


@dataclass
class Seeded:
    license_id: int
    publisher_id: int
    anchor: datetime
    period_end: datetime


async def seed(
    make,
    sessions,
    *,
    anchor: datetime,
    card: str | None = ALWAYS_PAYS,
    trial_from: datetime | None = None,
) -> Seeded:
    """A buyer's monthly subscription of a 9.99 module, as checkout leaves it (period 1 from
    ``anchor``), or as a trial leaves it (``trial_from`` to ``anchor``, period 0)."""
    _, publisher = await make.publisher()
    module = await make.module(
        publisher,
        ModuleStatus.PUBLISHED,
        license_type=LicenseType.SUBSCRIPTION.value,
        price=PRICE,
        currency="USD",
        subscription_period=MONTHLY.value,
        trial_days=14,
    )
    buyer = await make.user()
    trial = trial_from is not None
    end = anchor if trial else add_period(anchor, MONTHLY)
    async with sessions.begin() as session:
        row = License(
            license_key=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            user_id=buyer.id,
            module_id=module.id,
            license_type=(LicenseKind.TRIAL if trial else LicenseKind.SUBSCRIPTION).value,
            status=LicenseStatus.ACTIVE.value,
            purchased_at=None if trial else anchor,
            activated_at=trial_from if trial else anchor,
            trial_started_at=trial_from,
            expires_at=end,
        )
        session.add(row)
        await session.flush()
        row.subscription_id = subscription_workflow_id(row.id)
        session.add(
            Subscription(
                license_id=row.id,
                user_id=buyer.id,
                module_id=module.id,
                gateway="local",
                period=MONTHLY.value,
                price=PRICE,
                currency="USD",
                status=(SubscriptionStatus.TRIALING if trial else SubscriptionStatus.ACTIVE).value,
                period_number=0 if trial else 1,
                billing_anchor=anchor,
                current_period_start=trial_from if trial else anchor,
                current_period_end=end,
            )
        )
        if card is not None:
            session.add(
                PaymentProfile(
                    user_id=buyer.id,
                    gateway="local",
                    customer_id=f"cus_local_{buyer.id}",
                    payment_method=f"pm_local_{card}",
                )
            )
    return Seeded(row.id, publisher.id, anchor, end)


def anchor_ending_in(now: datetime, days: int) -> datetime:
    """An anchor whose first monthly period ends ``days`` (up to 3 more) from ``now``: no
    day of the previous month leads to Mar 29-31, say."""
    for extra in range(4):
        end = now + timedelta(days=days + extra)
        anchor = add_period(end, MONTHLY, -1)
        if add_period(anchor, MONTHLY) == end:
            return anchor
    raise AssertionError("unreachable: at most three days in a row have no preimage")


def month_end_anchor(now: datetime) -> datetime:
    """An anchor on a 31st (so later periods clamp to shorter months) whose first period
    ends within a month of ``now``; otherwise one ending in two days."""
    for back in range(1, 4):
        month_index = now.month - 1 - back
        year, month = now.year + month_index // 12, month_index % 12 + 1
        try:
            candidate = now.replace(year=year, month=month, day=31)
        except ValueError:
            continue
        if now + HOUR < add_period(candidate, MONTHLY) <= now + timedelta(days=31):
            return candidate
    return anchor_ending_in(now, 2)


async def refused(handle: WorkflowHandle, update) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(update)
    assert isinstance(failure.value.cause, ApplicationError)
    return failure.value.cause


async def run_chain(env: WorkflowEnvironment, workflow_id: str, first_run_id: str) -> list:
    """The histories of every run, first to current, following continue-as-new."""
    histories, run_id = [], first_run_id
    while run_id:
        history = await env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    return histories


async def replay(histories) -> None:
    replayer = Replayer(workflows=[SubscriptionWorkflow], data_converter=pydantic_data_converter)
    for history in histories:
        await replayer.replay_workflow(history)


async def test_a_year_of_renewals_in_seconds(env, billing, committed, make_committed):
    now = await env.get_current_time()
    seeded = await seed(make_committed, committed, anchor=month_end_anchor(now))
    lid = seeded.license_id
    async with harness(env, billing, committed) as h:
        first = await h.start(lid)
        await h.skip_to(add_period(seeded.anchor, MONTHLY, 12) + HOUR)

        async def at_period_13() -> bool:
            return (await h.view(lid)).period_number == 13

        await h.settle(lid, at_period_13, "the 12th renewal")
        view = await h.view(lid)
        assert view.status is SubscriptionStatus.ACTIVE and not view.cancel_at_period_end
        sub, license_row = await h.subscription(lid)
        histories = await run_chain(env, first.id, first.result_run_id)
        current = await h.latest(lid).fetch_history()

    final_end = add_period(seeded.anchor, MONTHLY, 13)
    assert sub.period_number == 13 and sub.status == SubscriptionStatus.ACTIVE
    assert sub.current_period_end == final_end
    assert sub.current_period_start == add_period(seeded.anchor, MONTHLY, 12)
    assert license_row.expires_at == final_end, "anchor + 13 months, the day clamped"
    assert license_row.license_type == LicenseKind.SUBSCRIPTION
    assert license_row.status == LicenseStatus.ACTIVE

    orders = await h.orders()
    assert [o.order_number for o in orders] == [renewal_order_number(lid, n) for n in range(2, 14)]
    for order in orders:
        assert order.kind == OrderKind.RENEWAL and order.status == OrderStatus.COMPLETED
        assert order.payment_status == "succeeded" and order.paid_at is not None
        assert (order.subtotal, order.tax_amount, order.total) == (PRICE, 0, PRICE)
    entries = await h.earnings()
    assert len(entries) == 12
    assert {e.order_id for e in entries} == {o.id for o in orders}
    for entry in entries:
        assert entry.kind == "sale" and entry.publisher_id == seeded.publisher_id
        assert entry.commission_rate == Decimal("30.00")
        assert (entry.gross, entry.commission, entry.net) == (
            PRICE,
            Decimal("3.00"),  # 9.99 x 30% = 2.997, rounded half up
            Decimal("6.99"),
        )

    payments = h.payments()
    assert sorted(p["reference"] for p in payments) == sorted(o.order_number for o in orders)
    assert all(p["status"] == "succeeded" and p["amount"] == 999 for p in payments)
    assert sorted(h.mailer.sent) == sorted(f"renewed-{lid}-{n}" for n in range(2, 14))

    assert len(histories) == 13, "one run per period: 12 continued as new"
    assert histories[-1].run_id == current.run_id
    assert len(current.events) < 20, "the current run's history stays small"
    assert max(len(history.events) for history in histories) < 40
    await replay(histories)


async def test_dunning_retries_then_expires(env, billing, committed, make_committed):
    now = await env.get_current_time()
    seeded = await seed(
        make_committed, committed, anchor=anchor_ending_in(now, 2), card=DECLINES_OFF_SESSION
    )
    lid, end = seeded.license_id, seeded.period_end
    async with harness(env, billing, committed) as h:
        handle = await h.start(lid)

        await h.skip_to(end - HOUR)
        assert h.payments() == [], "nothing is charged before the period ends"

        await h.skip_to(end + HOUR)
        await h.settle(lid, h.failed(lid, 1), "the first attempt")
        sub, license_row = await h.subscription(lid)
        assert sub.status == SubscriptionStatus.PAST_DUE and sub.failed_attempts == 1
        assert license_row.status == LicenseStatus.ACTIVE
        grace = license_row.expires_at
        assert end + timedelta(days=12) <= grace < end + timedelta(days=12, minutes=5), (
            "valid through the retries (1 + 3 + 7 days) plus a day"
        )

        for failed, retry_at in ((1, end + DAY), (2, end + 4 * DAY), (3, end + 11 * DAY)):
            await h.skip_to(retry_at - HOUR)
            assert len(h.payments()) == failed, "no retry before its day"
            await h.skip_to(retry_at + HOUR)
            if failed < 3:
                await h.settle(lid, h.failed(lid, failed + 1), f"retry {failed}")
                sub, license_row = await h.subscription(lid)
                assert sub.status == SubscriptionStatus.PAST_DUE
                assert sub.failed_attempts == failed + 1
                assert license_row.status == LicenseStatus.ACTIVE
                assert license_row.expires_at == grace, "the grace never shrinks or drifts"

        assert await handle.result() is SubscriptionStatus.EXPIRED
        histories = await run_chain(env, handle.id, handle.result_run_id)

    payments = h.payments()
    assert len(payments) == 4
    assert all(p["status"] == "declined" and p["decline_code"] == "card_declined" for p in payments)
    assert {p["reference"] for p in payments} == {renewal_order_number(lid, 2)}
    sub, license_row = await h.subscription(lid)
    assert sub.status == SubscriptionStatus.EXPIRED and sub.ended_at is not None
    assert sub.period_number == 1
    assert license_row.status == LicenseStatus.EXPIRED
    assert end + 11 * DAY <= license_row.expires_at < end + 11 * DAY + HOUR, (
        "ends when dunning gives up, on the workflow's clock"
    )
    assert sub.ended_at == license_row.expires_at
    [order] = await h.orders()
    assert order.order_number == renewal_order_number(lid, 2)
    assert order.status == OrderStatus.FAILED, "a renewal that was never paid is closed"
    assert order.payment_status == "declined" and order.failure_code == "card_declined"
    assert await h.earnings() == []
    assert f"ended-{lid}" in h.mails()
    assert not any(key.startswith("renewed-") for key in h.mailer.sent)
    assert len(histories) == 1
    await replay(histories)


async def test_cancel_while_dunning_ends_at_once(env, billing, committed, make_committed):
    now = await env.get_current_time()
    seeded = await seed(
        make_committed, committed, anchor=anchor_ending_in(now, 2), card=DECLINES_OFF_SESSION
    )
    lid, end = seeded.license_id, seeded.period_end
    async with harness(env, billing, committed) as h:
        handle = await h.start(lid)
        await h.skip_to(end + HOUR)
        await h.settle(lid, h.failed(lid, 1), "the first attempt")
        view = await handle.execute_update(SubscriptionWorkflow.cancel)
        assert view.cancel_at_period_end and view.status is SubscriptionStatus.PAST_DUE
        assert await handle.result() is SubscriptionStatus.CANCELLED

    assert len(h.payments()) == 1, "no retry after the cancel"
    sub, license_row = await h.subscription(lid)
    assert sub.status == SubscriptionStatus.CANCELLED
    assert license_row.status == LicenseStatus.CANCELLED
    assert end < license_row.expires_at < end + 2 * HOUR, "the grace ended with the cancel"
    [order] = await h.orders()
    assert order.status == OrderStatus.FAILED and order.failure_code == "card_declined"
    assert await h.earnings() == []
    assert f"ended-{lid}" in h.mails()


async def test_cancel_keeps_the_license_until_period_end_then_ends_it(
    env, billing, committed, make_committed
):
    now = await env.get_current_time()
    seeded = await seed(make_committed, committed, anchor=anchor_ending_in(now, 10))
    lid, end = seeded.license_id, seeded.period_end
    async with harness(env, billing, committed) as h:
        handle = await h.start(lid)
        assert (await refused(handle, SubscriptionWorkflow.resume)).type == "not_cancelled"
        await h.skip_to(now + DAY)

        view = await handle.execute_update(SubscriptionWorkflow.cancel)
        assert view.cancel_at_period_end and view.status is SubscriptionStatus.ACTIVE
        assert (await refused(handle, SubscriptionWorkflow.cancel)).type == "already_cancelled"
        sub, license_row = await h.subscription(lid)
        assert sub.cancel_at_period_end and sub.cancelled_at is not None
        assert license_row.status == LicenseStatus.ACTIVE and license_row.expires_at == end

        await h.skip_to(end - HOUR)
        sub, license_row = await h.subscription(lid)
        assert sub.status == SubscriptionStatus.ACTIVE, "valid until the period ends"
        assert license_row.status == LicenseStatus.ACTIVE

        assert await handle.result() is SubscriptionStatus.CANCELLED
        history = await handle.fetch_history()

    sub, license_row = await h.subscription(lid)
    assert sub.status == SubscriptionStatus.CANCELLED
    assert end <= sub.ended_at < end + HOUR, "ended when the period did, on the workflow's clock"
    assert license_row.status == LicenseStatus.CANCELLED
    assert license_row.expires_at == end, "it ran to the end of the paid period"
    assert await h.orders() == [] and await h.earnings() == [] and h.payments() == []
    assert {f"ended-{lid}", f"expiring-{lid}-1"} <= h.mails()
    await replay([history])


async def test_resume_before_period_end_renews(env, billing, committed, make_committed):
    now = await env.get_current_time()
    seeded = await seed(make_committed, committed, anchor=anchor_ending_in(now, 10))
    lid, end = seeded.license_id, seeded.period_end
    async with harness(env, billing, committed) as h:
        handle = await h.start(lid)
        await h.skip_to(now + DAY)
        assert (await handle.execute_update(SubscriptionWorkflow.cancel)).cancel_at_period_end
        resumed = await handle.execute_update(SubscriptionWorkflow.resume)
        assert not resumed.cancel_at_period_end
        assert (await refused(handle, SubscriptionWorkflow.resume)).type == "not_cancelled"
        sub, _ = await h.subscription(lid)
        assert not sub.cancel_at_period_end and sub.cancelled_at is None

        await h.skip_to(end + HOUR)

        async def renewed() -> bool:
            return (await h.view(lid)).period_number == 2

        await h.settle(lid, renewed, "the renewal after resuming")
        sub, license_row = await h.subscription(lid)
        await h.latest(lid).terminate("test over")

    assert sub.status == SubscriptionStatus.ACTIVE and sub.period_number == 2
    assert license_row.expires_at == add_period(seeded.anchor, MONTHLY, 2)
    [order] = await h.orders()
    assert order.order_number == renewal_order_number(lid, 2)
    assert order.status == OrderStatus.COMPLETED
    assert len(h.payments()) == 1 and len(await h.earnings()) == 1
    assert not any(key.startswith("expiring-") for key in h.mailer.sent), (
        "resumed before the reminder was due"
    )


async def admitted(client: Client, workflow_id: str, update_id: str) -> bool:
    """Whether the server holds the update (admitted, not yet taken by a worker)."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(
            workflow_execution=WorkflowExecution(workflow_id=workflow_id), update_id=update_id
        ),
        wait_policy=WaitPolicy(
            lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
        ),
    )
    try:
        await client.workflow_service.poll_workflow_execution_update(
            request, timeout=timedelta(seconds=1)
        )
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.DEADLINE_EXCEEDED):
            return False
        raise
    return True


async def test_cancel_sent_before_the_first_load_is_applied(
    env, billing, committed, make_committed
):
    """An update can reach a run before its first activity has loaded the state (at the
    start, and after every continue-as-new): it must wait for the state, not be refused."""
    now = await env.get_current_time()
    seeded = await seed(make_committed, committed, anchor=anchor_ending_in(now, 10))
    lid = seeded.license_id
    queue = f"subscription-{uuid.uuid4().hex}"
    handle = await env.client.start_workflow(
        SubscriptionWorkflow.run,
        SubscriptionInput(license_id=lid),
        id=subscription_workflow_id(lid),
        task_queue=queue,
    )
    assert not await admitted(env.client, handle.id, "cancel-before-the-load")
    update = asyncio.create_task(
        handle.execute_update(SubscriptionWorkflow.cancel, id="cancel-before-the-load")
    )
    # The update waits at the server (no worker polls yet); the worker starts once it is
    # there, not after a guessed pause.
    await wait_until(lambda: admitted(env.client, handle.id, "cancel-before-the-load"), "admission")
    async with harness(env, billing, committed, queue=queue) as h:
        view = await asyncio.wait_for(update, timeout=PATIENCE)
        assert view.cancel_at_period_end and view.period_number == 1
        sub, _ = await h.subscription(lid)
        assert sub.cancel_at_period_end
        events = (await handle.fetch_history()).events
        await handle.terminate("test over")
    accepted = next(
        i
        for i, e in enumerate(events)
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    )
    first_activity = next(
        i for i, e in enumerate(events) if e.HasField("activity_task_scheduled_event_attributes")
    )
    assert accepted < first_activity, "the update was taken before the state was loaded"


async def test_expiry_reminder_is_sent_once_a_week_before_the_end(
    env, billing, committed, make_committed
):
    now = await env.get_current_time()
    seeded = await seed(make_committed, committed, anchor=anchor_ending_in(now, 20))
    lid, end = seeded.license_id, seeded.period_end
    async with harness(env, billing, committed) as h:
        handle = await h.start(lid)

        async def loaded() -> bool:
            return (await h.view(lid)).period_number == 1

        await h.settle(lid, loaded, "the first load")
        await handle.execute_update(SubscriptionWorkflow.cancel)
        await h.skip_to(end - 7 * DAY - HOUR)
        assert h.mailer.sent == [], "not before a week ahead"

        await h.skip_to(end - 7 * DAY + HOUR)

        async def reminded() -> bool:
            return f"expiring-{lid}-1" in h.mails()

        await h.settle(lid, reminded, "the reminder")
        # Changing one's mind twice sends no second reminder for the same period end.
        await handle.execute_update(SubscriptionWorkflow.resume)
        await handle.execute_update(SubscriptionWorkflow.cancel)
        await h.skip_to(end - DAY)
        assert await handle.result() is SubscriptionStatus.CANCELLED

    assert h.mailer.sent == [f"expiring-{lid}-1", f"ended-{lid}"]
    assert await h.orders() == []


async def test_trial_with_a_payment_method_converts_to_paid(
    env, billing, committed, make_committed
):
    now = await env.get_current_time()
    trial_end = now + 3 * DAY
    seeded = await seed(
        make_committed, committed, anchor=trial_end, trial_from=trial_end - 14 * DAY
    )
    lid = seeded.license_id
    async with harness(env, billing, committed) as h:
        await h.start(lid)
        await h.skip_to(trial_end - HOUR)
        assert h.payments() == []
        await h.skip_to(trial_end + HOUR)

        async def converted() -> bool:
            return (await h.view(lid)).period_number == 1

        await h.settle(lid, converted, "the conversion")
        sub, license_row = await h.subscription(lid)
        await h.latest(lid).terminate("test over")

    assert sub.status == SubscriptionStatus.ACTIVE
    assert sub.current_period_start == trial_end
    assert sub.current_period_end == add_period(trial_end, MONTHLY)
    assert license_row.license_type == LicenseKind.SUBSCRIPTION
    assert license_row.status == LicenseStatus.ACTIVE
    assert license_row.expires_at == add_period(trial_end, MONTHLY)
    [order] = await h.orders()
    assert order.order_number == renewal_order_number(lid, 1)
    assert order.status == OrderStatus.COMPLETED and order.total == PRICE
    [entry] = await h.earnings()
    assert (entry.gross, entry.commission, entry.net) == (PRICE, Decimal("3.00"), Decimal("6.99"))
    [payment] = h.payments()
    assert payment["status"] == "succeeded" and payment["amount"] == 999
    assert h.mailer.sent == [f"renewed-{lid}-1"], "a trial that will convert gets no warning"


async def test_trial_without_a_payment_method_expires(env, billing, committed, make_committed):
    now = await env.get_current_time()
    trial_end = now + 10 * DAY
    seeded = await seed(
        make_committed, committed, anchor=trial_end, trial_from=now - 4 * DAY, card=None
    )
    lid = seeded.license_id
    async with harness(env, billing, committed) as h:
        handle = await h.start(lid)
        assert await handle.result() is SubscriptionStatus.EXPIRED

    sub, license_row = await h.subscription(lid)
    assert sub.status == SubscriptionStatus.EXPIRED and sub.period_number == 0
    assert license_row.status == LicenseStatus.EXPIRED
    assert license_row.license_type == LicenseKind.TRIAL
    assert license_row.expires_at == trial_end
    assert h.mailer.sent == [f"expiring-{lid}-0", f"ended-{lid}"]
    assert await h.orders() == [] and h.payments() == []


async def test_a_renewal_charged_after_the_subscription_ended_is_refunded(
    billing, committed, make_committed
):
    """A refund can end the subscription between the renewal order and the charge: the
    charge is given back, and the license is not brought back to life."""
    now = datetime.now(UTC)
    seeded = await seed(make_committed, committed, anchor=now - timedelta(days=31))
    activities = SubscriptionActivities(
        sessions=committed,
        gateways=gateways_from(billing),
        mailer=RecordingMailer(billing.mail_dir),
        mail_from=billing.mail_from,
        reminder_days=7,
        dunning_days=[1],
    )
    local = activities.gateways.get("local")
    charge_at_gateway = local.create_payment

    async def charge_while_a_refund_ends_it(request):
        async with committed.begin() as session:
            sub = await session.scalar(
                select(Subscription).where(Subscription.license_id == seeded.license_id)
            )
            sub.status = SubscriptionStatus.CANCELLED.value
        return await charge_at_gateway(request)

    local.create_payment = charge_while_a_refund_ends_it
    result = await activities.charge(
        RenewalAttempt(license_id=seeded.license_id, period_number=2, attempt=0)
    )
    assert (result.succeeded, result.decline_code) == (False, "subscription_ended")
    async with committed() as session:
        order = await session.scalar(
            select(Order).where(Order.order_number == renewal_order_number(seeded.license_id, 2))
        )
        sub = await session.scalar(
            select(Subscription).where(Subscription.license_id == seeded.license_id)
        )
        ledger = (await session.scalars(select(EarningEntry))).all()
    assert (order.status, order.failure_code, order.payment_status) == (
        "failed",
        "subscription_ended",
        "refunded",
    )
    assert sub.status == "cancelled" and sub.period_number == 1
    assert ledger == []
    payment = json.loads((billing.payments_dir / f"{order.payment_intent_id}.json").read_text())
    assert list(payment["refunds"].values()) == [payment["amount"]]
