"""Activities run one at a time in Temporal's ``ActivityEnvironment`` (a real activity
context: info, heartbeats, cancellation) against the real Postgres of the test session,
without a worker or a server. Each retry-sensitive step is run again as attempt 2, as
Temporal does after a worker dies mid-step, and must add nothing the second time."""

import dataclasses
import hashlib
import os
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.checkout import CheckoutActivities
from activities.packages import PackageActivities, ScanPolicy
from activities.payouts import PayoutActivities, PayoutRequest
from activities.review import ReviewActivities
from domain.ingest import IngestRequest, VersionDecision
from domain.modules import ModuleStatus
from domain.payouts import Period
from domain.review import ReviewReminder
from domain.versions import PipelineStep, Reason
from integrations.license_vault import LicenseVault
from integrations.mail import FileMailer
from integrations.payments.local import LocalGateway
from integrations.payments.registry import Gateways
from integrations.wiring import archive_limits_from, keyring_from, payout_rails_from, storage_from
from models.analytics import PublisherPayout
from models.commerce import EarningEntry, License, Order
from models.module import ModuleVersion
from models.platform import AuditLogEntry
from tests import archives
from tests.payouts_ledger import Ledger


def attempt(number: int) -> ActivityEnvironment:
    """An activity context whose ``activity.info().attempt`` is ``number``."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


async def run_twice(method, *args):
    """The activity as first run, then as Temporal's retry of it; both results."""
    first = await attempt(1).run(method, *args)
    again = await attempt(2).run(method, *args)
    return first, again


async def count(sessions, model, *where) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def audit_rows(sessions, entity_type: str, entity_id: int) -> list[AuditLogEntry]:
    async with sessions() as session:
        rows = await session.scalars(
            select(AuditLogEntry).where(
                AuditLogEntry.entity_type == entity_type,
                AuditLogEntry.entity_id == str(entity_id),
            )
        )
        return list(rows)


# --- checkout -------------------------------------------------------------------------------


def _line(module, publisher, price: str) -> dict:
    return {
        "module_id": module.id,
        "publisher_id": publisher.id,
        "module_slug": module.slug,
        "module_name": module.display_name,
        "license_type": "paid",
        "subscription_period": None,
        "unit_price": price,
        "discount": "0.00",
        "tax": "0.00",
        "net_of_discount": price,
        "total": price,
    }


async def test_fulfil_run_twice_issues_one_license_per_line(
    committed, make_committed, settings, tmp_path
):
    lines = []
    for price in ("12.34", "5.00"):
        _, publisher = await make_committed.publisher()
        module = await make_committed.module(
            publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal(price)
        )
        lines.append(_line(module, publisher, price))
    buyer = await make_committed.user()
    async with committed() as session:
        order = Order(
            order_number=f"FV-UNIT-{buyer.id}",
            user_id=buyer.id,
            items=lines,
            subtotal=Decimal("17.34"),
            total=Decimal("17.34"),
            payment_method="local",
        )
        session.add(order)
        await session.commit()
    steps = CheckoutActivities(
        sessions=committed,
        gateways=Gateways([LocalGateway(tmp_path / "payments", "http://x")]),
        vault=LicenseVault("k" * 40),
        mailer=FileMailer(settings.mail_dir),
        mail_from="shop@example.com",
    )

    await run_twice(steps.mark_paid, order.id)
    first, again = await run_twice(steps.fulfil, order.id)

    assert first == again
    assert len(first.license_ids) == 2
    async with committed() as session:
        licensed = (
            await session.scalars(select(License.module_id).where(License.order_id == order.id))
        ).all()
        stored = await session.get(Order, order.id)
    assert sorted(licensed) == sorted(line["module_id"] for line in lines)
    assert await count(committed, EarningEntry, EarningEntry.order_id == order.id) == 2
    assert stored.status == "completed"


# --- version ingestion ----------------------------------------------------------------------


@pytest.fixture
async def ingest(committed, make_committed, settings, tmp_path):
    """Stages an archive for a new version row; answers the activities and the request."""
    owner, publisher = await make_committed.publisher()
    module = await make_committed.module(publisher, technical_name=archives.TECHNICAL_NAME)
    storage = storage_from(settings)
    steps = PackageActivities(
        sessions=committed,
        storage=storage,
        keyring=keyring_from(settings),
        mailer=FileMailer(settings.mail_dir),
        mail_from=settings.mail_from,
        limits=archive_limits_from(settings),
        scan_policy=ScanPolicy(
            reject_at="HIGH", review_at="MEDIUM", osv_url="http://127.0.0.1:9", audit_timeout=5
        ),
        workdir=tmp_path / "work",
        review_reminder_after=timedelta(days=3),
        review_escalate_after_reminders=2,
    )

    async def stage(data: bytes, version: str | None = None) -> IngestRequest:
        version = version or archives.sample_manifest()["version"]
        async with committed() as session:
            row = ModuleVersion(
                module_id=module.id,
                version=version,
                zip_file_url="",
                status="processing",
                uploaded_by=owner.id,
            )
            session.add(row)
            await session.commit()
        staged = tmp_path / f"upload-{row.id}.zip"
        staged.write_bytes(data)
        key = f"staging/{row.id}.zip"
        storage.put_file(key, staged)
        return IngestRequest(
            version_id=row.id,
            module_id=module.id,
            module_slug=module.slug,
            technical_name=archives.TECHNICAL_NAME,
            version=version,
            staging_key=key,
            upload_sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by=owner.id,
        )

    return steps, stage


HOSTILE = [
    ("zip-slip", archives.zip_slip, "path_traversal"),
    ("symlink", archives.symlink_entry, "symlink"),
    ("ratio-bomb", archives.ratio_bomb, "compression_ratio_exceeded"),
    ("encrypted", archives.encrypted_entry, "encrypted_entry"),
    ("not-a-zip", archives.not_a_zip, "not_a_zip"),
    ("bad-crc", archives.bad_crc, "corrupt_archive"),
    ("missing-manifest", archives.missing_manifest, "manifest_missing"),
]


@pytest.mark.parametrize(("build", "code"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
async def test_a_hostile_archive_gives_its_reason(ingest, committed, build, code):
    steps, stage = ingest
    request = await stage(build())

    outcome = await ActivityEnvironment().run(steps.check_archive, request)

    assert [(r.code, r.step) for r in outcome.reasons] == [(code, PipelineStep.ARCHIVE)]
    async with committed() as session:
        row = await session.get(ModuleVersion, request.version_id)
    assert row.pipeline_step == PipelineStep.ARCHIVE


async def test_the_sample_archive_passes_and_a_bad_manifest_gives_its_reason(ingest):
    steps, stage = ingest
    good = await stage(archives.sample_zip())
    assert (await ActivityEnvironment().run(steps.check_archive, good)).passed
    assert (await ActivityEnvironment().run(steps.check_manifest, good)).passed

    bad = await stage(archives.malformed_manifest(), version="9.9.9")
    outcome = await ActivityEnvironment().run(steps.check_manifest, bad)
    assert [(r.code, r.step) for r in outcome.reasons] == [
        ("manifest_not_json", PipelineStep.MANIFEST)
    ]


async def test_a_rejection_retried_is_audited_once(ingest, committed):
    steps, stage = ingest
    request = await stage(archives.zip_slip())
    reasons = [Reason(code="path_traversal", detail="climbs out", step=PipelineStep.ARCHIVE)]

    await run_twice(steps.reject, request, reasons)

    [row] = await audit_rows(committed, "version", request.version_id)
    assert (row.action, row.changes) == ("version.reject", {"reasons": ["path_traversal"]})
    assert row.dedupe_key == f"version:{request.version_id}:reject"
    async with committed() as session:
        assert (await session.get(ModuleVersion, request.version_id)).status == "rejected"


async def test_a_review_decision_retried_is_audited_once(ingest, committed, make_committed):
    steps, stage = ingest
    request = await stage(archives.sample_zip())
    admin = await make_committed.admin()
    decision = VersionDecision(approve=True, admin_id=admin.id, reason="looked fine")
    held_for = [Reason(code="audit_unavailable", detail="down", step=PipelineStep.SCAN)]
    await steps.hold_for_review(request, held_for)

    await run_twice(steps.record_review_decision, request, decision)

    [row] = await audit_rows(committed, "version", request.version_id)
    assert (row.action, row.actor_id) == ("version.review_approve", admin.id)
    async with committed() as session:
        stored = await session.get(ModuleVersion, request.version_id)
    assert (stored.status, stored.rejection_reasons) == ("processing", []), "the hold reason goes"


async def test_a_review_reminder_retried_is_audited_once(committed, make_committed, settings):
    _, publisher = await make_committed.publisher()
    module = await make_committed.module(publisher, status=ModuleStatus.PENDING)
    steps = ReviewActivities(
        sessions=committed,
        mailer=FileMailer(settings.mail_dir),
        mail_from=settings.mail_from,
        admin_email="admins@example.com",
    )
    waiting_since = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)

    def reminder(number: int) -> ReviewReminder:
        return ReviewReminder(
            module_id=module.id,
            slug=module.slug,
            display_name=module.display_name,
            reminder_number=number,
            escalated=number > 1,
            waiting_since=waiting_since,
        )

    await run_twice(steps.remind_admins, reminder(1))
    await run_twice(steps.remind_admins, reminder(2))

    rows = await audit_rows(committed, "module", module.id)
    assert sorted(r.changes["reminder"] for r in rows) == [1, 2]
    assert all(r.action == "module.review_reminder" for r in rows)
    assert len(list(Path(settings.mail_dir).rglob("*.eml"))) == 2


# --- payouts --------------------------------------------------------------------------------


async def test_prepare_twice_gives_one_payout_row(committed, make_committed, settings):
    ledger = Ledger(committed, make_committed)
    seller = await ledger.publisher(method="manual")
    period = Period(2026, 6)
    first_sale = await ledger.sale(seller, "100.00", datetime(2026, 6, 5, tzinfo=UTC))
    await ledger.sale(seller, "50.00", datetime(2026, 6, 20, tzinfo=UTC))
    steps = PayoutActivities(committed, payout_rails_from(settings), settings.platform_defaults())
    request = PayoutRequest(publisher_id=seller.id, period=period.label, workflow_id="payout-t")

    first, again = await run_twice(steps.prepare, request)

    assert first == again
    assert first.payout_id is not None and first.status == "pending"
    assert first.net == first_sale.net + (Decimal("50.00") - Decimal("15.00"))
    assert (
        await count(
            committed,
            PublisherPayout,
            PublisherPayout.publisher_id == seller.id,
            PublisherPayout.period_start == period.first_day,
        )
        == 1
    )
    assert await count(committed, EarningEntry, EarningEntry.payout_id == first.payout_id) == 2


async def test_the_workers_copy_of_an_upload_is_private(ingest, tmp_path):
    """Under a usual umask the staged copy would be world-readable (audit: data dir files)."""
    steps, stage = ingest
    previous = os.umask(0o022)
    try:
        good = await stage(archives.sample_zip())
        assert (await ActivityEnvironment().run(steps.check_archive, good)).passed
    finally:
        os.umask(previous)
    workdir = tmp_path / "work"
    assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
    copies = list(workdir.glob("version-*.zip"))
    assert copies and all(stat.S_IMODE(c.stat().st_mode) & 0o077 == 0 for c in copies)
