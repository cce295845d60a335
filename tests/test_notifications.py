"""Outbox delivery against a real SMTP server (aiosmtpd): headers, retries with backoff
while the server is down, giving up, refused recipients, login, two deliverers at once,
the file backend, and the notifications the back office sends."""

import asyncio
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from activities.notifications import Backoff, DeliveryReport, NotificationActivities, queue_mail
from activities.review import ReviewActivities
from activities.subscriptions import SubscriptionActivities
from domain.modules import ModuleStatus
from domain.review import ReviewOutcome
from integrations.mail import FileMailer, SmtpMailer, message_id_for
from integrations.wiring import gateways_from, mailer_from
from models.commerce import License, Subscription
from models.platform import NotificationOutbox
from models.repositories import outbox
from tests.smtp_server import SmtpServer

SENDER = "FastVue Marketplace <no-reply@marketplace.example>"
BASE = "https://marketplace.example"


@pytest.fixture
def smtp():
    server = SmtpServer(refused_domains={"nowhere.example"})
    server.start()
    yield server
    server.stop()


def smtp_mailer(server: SmtpServer, password: str | None = None) -> SmtpMailer:
    return SmtpMailer(
        server.host,
        server.port,
        security="none",
        username="mailer" if password else None,
        password=password,
        timeout=5,
    )


def deliverer(sessions, mailer, **options) -> NotificationActivities:
    return NotificationActivities(sessions=sessions, mailer=mailer, mail_from=SENDER, **options)


async def queue(sessions, key: str, to: str = "buyer@example.com", body: str = "Hello.") -> None:
    async with sessions.begin() as session:
        await outbox.enqueue(
            session, key=key, kind="test", to=to, subject=f"About {key}", body=body
        )


async def rows(sessions) -> dict[str, NotificationOutbox]:
    async with sessions() as session:
        found = await session.scalars(select(NotificationOutbox))
        return {row.dedupe_key: row for row in found}


def test_backoff_doubles_from_a_minute_up_to_a_cap_then_gives_up():
    backoff = Backoff(first=timedelta(minutes=1), cap=timedelta(hours=4), max_attempts=10)
    cases = [
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=4)),
        (8, timedelta(minutes=128)),
        (9, timedelta(hours=4)),
        (10, None),
        (11, None),
    ]
    for attempts, expected in cases:
        assert backoff.retry_after(attempts) == expected, attempts
    assert Backoff(max_attempts=1000).retry_after(999) == Backoff().cap


async def test_a_queued_mail_reaches_the_server_with_its_headers_once(committed, smtp):
    await queue(committed, "receipt-FV-1", to="ada@example.com", body="Thank you, Ada.")
    steps = deliverer(committed, smtp_mailer(smtp))

    assert await steps.deliver_due() == DeliveryReport(sent=1)
    [received] = smtp.received
    assert received.rcpt_tos == ["ada@example.com"]
    assert received.mail_from == "no-reply@marketplace.example"
    message = received.message
    assert message["From"] == SENDER
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "About receipt-FV-1"
    assert message.get_content().strip() == "Thank you, Ada."
    digest = hashlib.sha256(b"receipt-FV-1").hexdigest()[:32]
    assert message["Message-ID"] == f"<{digest}@marketplace.example>"
    assert message["Date"] is not None

    row = (await rows(committed))["receipt-FV-1"]
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None
    assert await steps.deliver_due() == DeliveryReport(), "a sent mail is not sent again"
    assert len(smtp.messages) == 1


async def test_while_the_server_is_down_mail_waits_with_backoff_then_goes_out(committed, smtp):
    await queue(committed, "expiring-7-1")
    await queue(committed, "expiring-8-1")
    steps = deliverer(committed, smtp_mailer(smtp))
    smtp.stop()
    before = datetime.now(UTC)

    assert await steps.deliver_due() == DeliveryReport(retrying=2)
    waiting = await rows(committed)
    for row in waiting.values():
        assert (row.status, row.attempts) == ("pending", 1)
        assert "MailServerUnavailable" in row.last_error
        assert "Connection refused" in row.last_error or "Errno" in row.last_error
        delay = row.next_attempt_at - before
        assert timedelta(seconds=55) < delay < timedelta(seconds=70), delay
    assert await steps.deliver_due() == DeliveryReport(), "not due before its backoff"

    smtp.start()
    assert await steps.deliver_due() == DeliveryReport(), "still waiting out the backoff"
    later = max(row.next_attempt_at for row in waiting.values()) + timedelta(seconds=1)
    assert await steps.deliver_due(now=later) == DeliveryReport(sent=2)
    assert sorted(m["Subject"] for m in smtp.messages) == [
        "About expiring-7-1",
        "About expiring-8-1",
    ]
    for row in (await rows(committed)).values():
        assert (row.status, row.attempts) == ("sent", 2)


async def test_a_mail_is_given_up_after_the_last_attempt(committed, smtp):
    await queue(committed, "ended-9")
    backoff = Backoff(max_attempts=3)
    steps = deliverer(committed, smtp_mailer(smtp), backoff=backoff)
    smtp.stop()
    clock = datetime.now(UTC)
    reports = []
    for _ in range(3):
        reports.append(await steps.deliver_due(now=clock))
        clock += backoff.cap + timedelta(seconds=1)
    assert reports == [DeliveryReport(retrying=1)] * 2 + [DeliveryReport(failed=1)]
    row = (await rows(committed))["ended-9"]
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error

    smtp.start()
    assert await steps.deliver_due(now=clock + timedelta(days=1)) == DeliveryReport()
    assert smtp.messages == []


async def test_a_refused_recipient_fails_at_once_and_the_others_still_go(committed, smtp):
    await queue(committed, "refund-FV-2", to="ghost@nowhere.example")
    await queue(committed, "refund-FV-3", to="real@example.com")

    report = await deliverer(committed, smtp_mailer(smtp)).deliver_due()

    assert report == DeliveryReport(sent=1, failed=1)
    [message] = smtp.messages
    assert message["To"] == "real@example.com"
    refused = (await rows(committed))["refund-FV-2"]
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert "MailRejected" in refused.last_error and "550" in refused.last_error


@pytest.mark.parametrize(
    ("to", "subject", "body"),
    [
        ("real@example.com", "Receipt\r\nBcc: victim@example.com", "Hello."),
        ("real@example.com\nBcc: victim@example.com", "Receipt", "Hello."),
    ],
    ids=["crlf-in-subject", "lf-in-recipient"],
)
async def test_a_mail_that_cannot_be_composed_fails_alone_and_the_batch_goes_out(
    committed, smtp, to, subject, body
):
    await queue(committed, "receipt-FV-10", to="first@example.com")
    async with committed.begin() as session:
        await outbox.enqueue(
            session, key="receipt-FV-11", kind="test", to=to, subject=subject, body=body
        )
    await queue(committed, "receipt-FV-12", to="last@example.com")
    steps = deliverer(committed, smtp_mailer(smtp))

    assert await steps.deliver_due() == DeliveryReport(sent=2, failed=1)
    assert sorted(m["To"] for m in smtp.messages) == ["first@example.com", "last@example.com"]
    stored = await rows(committed)
    broken = stored["receipt-FV-11"]
    assert (broken.status, broken.attempts) == ("failed", 1)
    assert broken.last_error.startswith("MailNotComposable: ")
    assert [stored[k].status for k in ("receipt-FV-10", "receipt-FV-12")] == ["sent", "sent"]

    later = datetime.now(UTC) + timedelta(days=2)
    assert await steps.deliver_due(now=later) == DeliveryReport(), "never tried again"
    assert len(smtp.messages) == 2


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_login_failure_is_retried_and_the_right_password_delivers(committed):
    server = SmtpServer(login=("mailer", "s3cret"))
    server.start()
    try:
        await queue(committed, "renewed-4-2")
        refused = await deliverer(committed, smtp_mailer(server, "wrong")).deliver_due()
        assert refused == DeliveryReport(retrying=1)
        row = (await rows(committed))["renewed-4-2"]
        assert "SMTPAuthenticationError" in row.last_error
        steps = deliverer(committed, smtp_mailer(server, "s3cret"))
        later = row.next_attempt_at + timedelta(seconds=1)
        assert await steps.deliver_due(now=later) == DeliveryReport(sent=1)
        assert [m["Subject"] for m in server.messages] == ["About renewed-4-2"]
    finally:
        server.stop()


class SlowSmtp(SmtpMailer):
    """Real SMTP, 20 ms slower per message: the deliverers' batches overlap in time."""

    def send(self, message, *, dedupe_key):
        time.sleep(0.02)
        super().send(message, dedupe_key=dedupe_key)


async def test_concurrent_deliverers_never_send_one_mail_twice(committed, smtp):
    keys = [f"bulk-{n:02d}" for n in range(40)]
    async with committed.begin() as session:
        for key in keys:
            await outbox.enqueue(
                session, key=key, kind="test", to="many@example.com", subject=key, body="."
            )
    slow = SlowSmtp(smtp.host, smtp.port, security="none", timeout=5)
    workers = [deliverer(committed, slow, batch_size=4) for _ in range(3)]

    reports = await asyncio.gather(*(w.deliver_due() for w in workers))

    assert sum(r.sent for r in reports) == 40
    assert all(r.retrying == r.failed == 0 for r in reports)
    assert sum(1 for r in reports if r.sent) >= 2, "the deliverers ran side by side"
    messages = smtp.messages
    assert sorted(m["Subject"] for m in messages) == keys
    assert len({m["Message-ID"] for m in messages}) == 40
    assert {(r.status, r.attempts) for r in (await rows(committed)).values()} == {("sent", 1)}


async def test_the_file_backend_writes_one_eml_file_per_mail(committed, settings):
    await queue(committed, "review-hello-decision-2026", to="pub@example.com", body="Approved.")
    mailer = mailer_from(settings)
    assert isinstance(mailer, FileMailer) and mailer.directory == settings.mail_dir

    steps = deliverer(committed, mailer)
    assert await steps.deliver_due() == DeliveryReport(sent=1)

    [path] = settings.mail_dir.glob("*.eml")
    assert path.name == "review-hello-decision-2026.eml"
    text = path.read_text()
    assert "To: pub@example.com" in text
    assert "Subject: About review-hello-decision-2026" in text
    assert f"Message-ID: {message_id_for('review-hello-decision-2026', SENDER)}" in text
    assert "Approved." in text


def test_settings_choose_smtp_with_its_options(settings):
    smtp_settings = settings.model_copy(
        update={
            "mail_backend": "smtp",
            "smtp_host": "mail.example",
            "smtp_port": 465,
            "smtp_security": "ssl",
            "smtp_username": "mailer",
            "smtp_password": SecretStr("s3cret"),
            "smtp_timeout": timedelta(seconds=7),
        }
    )
    mailer = mailer_from(smtp_settings)
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.host, mailer.port, mailer.security) == ("mail.example", 465, "ssl")
    assert (mailer.username, mailer.password, mailer.timeout) == ("mailer", "s3cret", 7.0)


async def test_queue_mail_delivers_at_once_and_a_repeat_sends_nothing(committed, smtp):
    mailer = smtp_mailer(smtp)
    for _ in range(2):
        await queue_mail(
            committed,
            mailer,
            SENDER,
            key="receipt-FV-5",
            kind="receipt",
            to="eve@example.com",
            subject="Your receipt",
            body="Paid.",
        )
    assert [m["Subject"] for m in smtp.messages] == ["Your receipt"]
    row = (await rows(committed))["receipt-FV-5"]
    assert (row.kind, row.status) == ("receipt", "sent")


async def test_queue_mail_keeps_the_mail_when_the_server_is_down(committed, smtp):
    smtp.stop()
    await queue_mail(
        committed,
        smtp_mailer(smtp),
        SENDER,
        key="receipt-FV-6",
        kind="receipt",
        to="eve@example.com",
        subject="Your receipt",
        body="Paid.",
    )
    row = (await rows(committed))["receipt-FV-6"]
    assert (row.status, row.attempts) == ("pending", 1)

    smtp.start()
    async with committed.begin() as session:
        await session.execute(
            update(NotificationOutbox).values(next_attempt_at=datetime.now(UTC) - timedelta(1))
        )
    sent = await deliverer(committed, smtp_mailer(smtp)).deliver_due()
    assert sent == DeliveryReport(sent=1)
    assert [m["To"] for m in smtp.messages] == ["eve@example.com"]


async def test_module_decisions_mail_the_publisher_with_the_reason_and_a_link(
    committed, make_committed, smtp
):
    owner, publisher = await make_committed.publisher()
    module = await make_committed.module(
        publisher, ModuleStatus.PENDING, display_name="Grüße aus Köln"
    )
    steps = ReviewActivities(
        sessions=committed,
        mailer=smtp_mailer(smtp),
        mail_from=SENDER,
        admin_email="admins@marketplace.example",
        public_base_url=BASE,
    )
    decided = datetime(2026, 3, 1, 12, tzinfo=UTC)
    reason = "The description does not say what the module does."
    await steps.notify_publisher(
        ReviewOutcome(
            module_id=module.id,
            status=ModuleStatus.REJECTED,
            reason=reason,
            decided_at=decided,
        )
    )
    await steps.notify_publisher(
        ReviewOutcome(
            module_id=module.id,
            status=ModuleStatus.PUBLISHED,
            decided_at=decided + timedelta(days=1),
        )
    )

    rejected, approved = smtp.messages
    assert rejected["To"] == approved["To"] == owner.email
    assert rejected["Subject"] == f"{module.display_name} was not approved"
    body = rejected.get_content()
    assert f"Reason: {reason}" in body
    assert module.slug in body
    assert f"{BASE}/api/v1/publisher/modules/{module.id}" in body
    assert approved["Subject"] == f"{module.display_name} is approved and published"
    assert f"{BASE}/api/v1/marketplace/modules/{module.slug}" in approved.get_content()
    kinds = sorted(row.kind for row in (await rows(committed)).values())
    assert kinds == ["module_approved", "module_rejected"]


async def test_license_expiring_mail_names_the_module_the_date_and_the_licenses_page(
    committed, make_committed, settings, smtp
):
    _, publisher = await make_committed.publisher()
    module = await make_committed.module(
        publisher,
        ModuleStatus.PUBLISHED,
        license_type="subscription",
        subscription_period="monthly",
        price=Decimal("9.99"),
    )
    buyer = await make_committed.user()
    ends = datetime(2026, 5, 31, 9, 30, tzinfo=UTC)
    async with committed.begin() as session:
        license_row = License(
            license_key=uuid.uuid4().hex,
            key_last="AB12C",
            user_id=buyer.id,
            module_id=module.id,
            license_type="subscription",
            expires_at=ends,
        )
        session.add(license_row)
        await session.flush()
        session.add(
            Subscription(
                license_id=license_row.id,
                user_id=buyer.id,
                module_id=module.id,
                gateway="local",
                period="monthly",
                price=Decimal("9.99"),
                currency="USD",
                status="active",
                period_number=1,
                billing_anchor=ends - timedelta(days=31),
                current_period_start=ends - timedelta(days=31),
                current_period_end=ends,
                cancel_at_period_end=True,
            )
        )
    steps = SubscriptionActivities(
        sessions=committed,
        gateways=gateways_from(settings),
        mailer=smtp_mailer(smtp),
        mail_from=SENDER,
        reminder_days=7,
        dunning_days=[1],
        public_base_url=BASE,
    )
    await steps.remind_expiry(license_row.id, 1)
    await steps.remind_expiry(license_row.id, 1)

    [message] = smtp.messages
    assert message["To"] == buyer.email
    assert message["Subject"] == f"Your license for {module.display_name} expires soon"
    body = message.get_content()
    assert "key ending AB12C" in body and "2026-05-31 09:30 UTC" in body
    assert f"{BASE}/api/v1/marketplace/licenses" in body
    row = (await rows(committed))[f"expiring-{license_row.id}-1"]
    assert (row.kind, row.status) == ("license_expiring", "sent")
