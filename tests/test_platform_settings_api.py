"""Platform settings: what admins read and change, what is refused, and each setting taking
effect where buyers, publishers and the pipeline notice it."""

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment

from activities.packages import PackageActivities, ScanPolicy
from domain.checkout import new_order_number
from domain.ingest import IngestRequest
from domain.modules import ModuleStatus
from domain.platform_settings import PARSERS, effective, parse_setting, stored_form
from domain.review import ReviewRequest
from domain.versions import ScanVerdict
from integrations.mail import FileMailer
from integrations.wiring import archive_limits_from, keyring_from, storage_from
from models.commerce import Order
from models.platform import AuditLogEntry, PlatformSetting
from models.publisher import Publisher
from settings import Settings
from tests import archives
from tests.conftest import Api

SETTINGS = "/api/v1/admin/marketplace/settings"


@pytest.fixture
def api(shared_api: Api) -> Api:
    """One app for the module (see conftest.shared_app): many small table-driven cases."""
    return shared_api


async def put(api, admin, changes):
    return await api.request("PUT", SETTINGS, as_user=admin, json=changes)


def by_key(body: list[dict]) -> dict[str, dict]:
    return {item["key"]: item for item in body}


async def current(api, admin) -> dict[str, dict]:
    response = await api.request("GET", SETTINGS, as_user=admin)
    assert response.status_code == 200, response.text
    return by_key(response.json())


async def stored_rows(db) -> dict:
    async with db() as session:
        rows = await session.execute(select(PlatformSetting.key, PlatformSetting.value))
        return dict(rows.all())


# --- the rules ---------------------------------------------------------------------------

DEFAULTS = Settings().platform_defaults()


@pytest.mark.parametrize(
    ("stored", "key", "expected"),
    [
        ({}, "tax_rate_percent", Decimal("0.00")),
        ({"tax_rate_percent": "20.00"}, "tax_rate_percent", Decimal("20.00")),
        ({"tax_rate_percent": "oops"}, "tax_rate_percent", Decimal("0.00")),
        ({"refund_window_days": 400}, "refund_window_days", 14),
        ({"refund_window_days": 0}, "refund_window_days", 0),
        ({"unknown": 1}, "payout_minimum", Decimal("50.00")),
        ({"scan_review_severity": "LOW"}, "scan_review_severity", "LOW"),
        ({"scan_review_severity": "HIGH"}, "scan_review_severity", "HIGH"),
        (
            {"scan_review_severity": "HIGH", "scan_reject_severity": "MEDIUM"},
            "scan_reject_severity",
            "HIGH",
        ),
        (
            {"scan_review_severity": "HIGH", "scan_reject_severity": "MEDIUM"},
            "scan_review_severity",
            "MEDIUM",
        ),
    ],
)
def test_effective_values_fall_back_to_the_default_when_a_stored_one_is_unusable(
    stored, key, expected
):
    assert getattr(effective(stored, DEFAULTS), key) == expected


@pytest.mark.parametrize(
    ("value", "stored"),
    [(Decimal("20.00"), "20.00"), (Decimal("0.50"), "0.50"), (30, 30), ("LOW", "LOW")],
)
def test_stored_values_read_back_to_the_same_value(value, stored):
    assert stored_form(value) == stored
    key = {str: "scan_review_severity", int: "refund_window_days"}.get(
        type(value), "tax_rate_percent"
    )
    assert parse_setting(key, json.loads(json.dumps(stored))) == value


# --- reading and writing ---------------------------------------------------------------


async def test_every_setting_is_listed_with_its_default_description_and_bounds(api, make):
    admin = await make.admin()
    settings = await current(api, admin)
    assert list(settings) == list(PARSERS)
    defaults = api.settings.platform_defaults()
    for key, item in settings.items():
        assert item["is_default"] is True and item["updated_by"] is None, key
        assert item["description"], key
        default = defaults[key]
        expected = str(default) if isinstance(default, Decimal) else default
        assert item["value"] == item["default"] == expected, key
    assert settings["tax_rate_percent"] == settings["tax_rate_percent"] | {
        "value": "0.00",
        "kind": "decimal",
        "minimum": "0.00",
        "maximum": "100.00",
    }
    for key, item in settings.items():
        if item["kind"] == "decimal":
            shown = [item[field] for field in ("value", "default", "minimum", "maximum")]
            assert all(re.fullmatch(r"\d+\.\d\d", text) for text in shown), (key, shown)
    assert settings["refund_window_days"]["minimum"] == 0
    assert settings["refund_window_days"]["maximum"] == 365
    assert settings["scan_reject_severity"]["choices"] == ["LOW", "MEDIUM", "HIGH"]


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize("role", ["consumer", "publisher"])
async def test_only_admins_read_or_change_settings(api, make, db, method, role):
    caller = await make.user() if role == "consumer" else (await make.publisher())[0]
    response = await api.request(method, SETTINGS, as_user=caller, json={"refund_window_days": 1})
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    anonymous = await api.request(method, SETTINGS, json={"refund_window_days": 1})
    assert anonymous.status_code == 401
    assert await stored_rows(db) == {}


async def test_a_partial_update_changes_only_those_keys_and_audits_old_and_new(api, make, db):
    admin = await make.admin()
    response = await put(api, admin, {"tax_rate_percent": "20", "refund_window_days": 30})
    assert response.status_code == 200, response.text
    settings = by_key(response.json())
    assert settings["tax_rate_percent"]["value"] == "20.00"
    assert settings["tax_rate_percent"]["is_default"] is False
    assert settings["tax_rate_percent"]["updated_by"] == admin.id
    assert settings["refund_window_days"]["value"] == 30
    assert settings["payout_minimum"]["is_default"] is True
    assert await stored_rows(db) == {"tax_rate_percent": "20.00", "refund_window_days": 30}
    assert await current(api, admin) == settings

    again = await put(api, admin, {"tax_rate_percent": "7.5"})
    assert by_key(again.json())["tax_rate_percent"]["value"] == "7.50"
    async with db() as session:
        entries = (
            await session.execute(
                select(AuditLogEntry)
                .where(AuditLogEntry.action == "platform_setting.update")
                .order_by(AuditLogEntry.id)
            )
        ).scalars()
        logged = [(e.actor_id, e.entity_id, e.changes) for e in entries]
    assert logged == [
        (admin.id, "tax_rate_percent", {"old": "0.00", "new": "20.00"}),
        (admin.id, "refund_window_days", {"old": 14, "new": 30}),
        (admin.id, "tax_rate_percent", {"old": "20.00", "new": "7.50"}),
    ]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"tax_rate_percent": "abc"}, "invalid_setting"),
        ({"tax_rate_percent": 20.5}, "invalid_setting"),
        ({"tax_rate_percent": "100.01"}, "invalid_setting"),
        ({"tax_rate_percent": "-1"}, "invalid_setting"),
        ({"tax_rate_percent": "1.234"}, "invalid_setting"),
        ({"tax_rate_percent": True}, "invalid_setting"),
        ({"tax_rate_percent": None}, "invalid_setting"),
        ({"tax_rate_percent": "NaN"}, "invalid_setting"),
        ({"payout_minimum": "Infinity"}, "invalid_setting"),
        ({"payout_minimum": ["10"]}, "invalid_setting"),
        ({"commission_rate_percent": "1\x00"}, "invalid_setting"),
        ({"refund_window_days": -1}, "invalid_setting"),
        ({"refund_window_days": 366}, "invalid_setting"),
        ({"refund_window_days": "3"}, "invalid_setting"),
        ({"refund_window_days": 3.0}, "invalid_setting"),
        ({"review_reminder_days": 0}, "invalid_setting"),
        ({"review_reminder_days": 2**63}, "invalid_setting"),
        ({"scan_reject_severity": "CRITICAL"}, "invalid_setting"),
        ({"scan_reject_severity": "high"}, "invalid_setting"),
        ({"scan_review_severity": "HIGH", "scan_reject_severity": "MEDIUM"}, "invalid_setting"),
        ({"scan_reject_severity": "LOW"}, "invalid_setting"),  # review stays MEDIUM
        ({"tax_rate_percent": "10", "bogus": 1}, "unknown_setting"),
        ({"x" * 5000: 1}, "unknown_setting"),
        ({}, "no_changes"),
    ],
)
async def test_bad_changes_are_refused_and_none_is_stored(api, make, db, changes, code):
    admin = await make.admin()
    response = await put(api, admin, changes)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == code
    assert len(response.text) < 1000
    assert await stored_rows(db) == {}


@pytest.mark.parametrize("body", [["tax_rate_percent"], "20", 20])
async def test_a_body_that_is_not_an_object_is_malformed(api, make, body):
    admin = await make.admin()
    assert (await put(api, admin, body)).status_code == 422


async def test_scan_thresholds_move_together(api, make):
    admin = await make.admin()
    lowered = await put(api, admin, {"scan_review_severity": "LOW", "scan_reject_severity": "LOW"})
    assert lowered.status_code == 200, lowered.text
    raised_review = await put(api, admin, {"scan_review_severity": "MEDIUM"})
    assert raised_review.json()["error"] == "invalid_setting", "review above reject"
    both = await put(api, admin, {"scan_review_severity": "HIGH", "scan_reject_severity": "HIGH"})
    settings = by_key(both.json())
    assert settings["scan_review_severity"]["value"] == "HIGH"
    assert settings["scan_reject_severity"]["value"] == "HIGH"


# --- taking effect ---------------------------------------------------------------------


async def test_the_tax_rate_prices_carts(api, make):
    admin = await make.admin()
    buyer = await make.user()
    _, publisher = await make.publisher()
    module = await make.module(
        publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal("10.00")
    )
    assert (await put(api, admin, {"tax_rate_percent": "20"})).status_code == 200
    added = await api.request(
        "POST", "/api/v1/marketplace/cart/add", as_user=buyer, json={"module_id": module.id}
    )
    assert added.status_code == 200, added.text
    totals = added.json()["totals"]
    assert (totals["subtotal"], totals["tax"], totals["total"]) == ("10.00", "2.00", "12.00")

    await put(api, admin, {"tax_rate_percent": "7.25"})
    cart = (await api.request("GET", "/api/v1/marketplace/cart", as_user=buyer)).json()
    assert (cart["totals"]["tax"], cart["totals"]["total"]) == ("0.73", "10.73")


async def _paid_order(db, buyer, module, paid_days_ago: int) -> Order:
    now = datetime.now(UTC)
    price = str(module.price)
    order = Order(
        order_number=new_order_number(now),
        user_id=buyer.id,
        items=[
            {
                "module_id": module.id,
                "publisher_id": module.publisher_id,
                "module_slug": module.slug,
                "module_name": module.display_name,
                "license_type": module.license_type,
                "subscription_period": None,
                "unit_price": price,
                "discount": "0.00",
                "tax": "0.00",
                "net_of_discount": price,
                "total": price,
            }
        ],
        subtotal=module.price,
        total=module.price,
        currency="USD",
        payment_method="local",
        payment_status="succeeded",
        paid_at=now - timedelta(days=paid_days_ago),
        status="completed",
        billing_email=buyer.email,
    )
    async with db() as session:
        session.add(order)
        await session.commit()
    return order


async def test_the_refund_window_decides_a_buyers_refund(api, make, db, temporal_dev):
    admin = await make.admin()
    buyer = await make.user()
    _, publisher = await make.publisher()
    module = await make.module(
        publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal("10.00")
    )
    recent = await _paid_order(db, buyer, module, paid_days_ago=5)
    old = await _paid_order(db, buyer, module, paid_days_ago=20)

    async def refund(order):
        return await api.request(
            "POST",
            f"/api/v1/marketplace/orders/{order.id}/refund",
            as_user=buyer,
            json={"reason": "not for me"},
        )

    await put(api, admin, {"refund_window_days": 3})
    closed = await refund(recent)
    assert closed.status_code == 403
    assert closed.json()["error"] == "refund_window_closed"
    assert "3 days" in closed.json()["detail"]

    await put(api, admin, {"refund_window_days": 30})
    opened = await refund(old)
    assert opened.status_code == 202, opened.text
    handle = temporal_dev.client.get_workflow_handle(f"refund-{old.order_number}")
    await handle.terminate("test over: nobody runs this refund")


async def test_new_publishers_get_the_commission_rate_of_the_day(api, make, db):
    admin = await make.admin()
    _, existing = await make.publisher()
    assert (await put(api, admin, {"commission_rate_percent": "12.5"})).status_code == 200

    newcomer = await make.user()
    registered = await api.request(
        "POST",
        "/api/v1/publisher/register",
        as_user=newcomer,
        json={"display_name": "Newcomer Tools"},
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["commission_rate"] == "12.50"
    unchanged = await make.reload(Publisher, existing.id)
    assert unchanged.commission_rate == Decimal("30.00"), "existing publishers keep theirs"


async def test_a_new_review_waits_the_reminder_delay_of_the_day(api, make, temporal_dev):
    admin = await make.admin()
    owner, publisher = await make.publisher()
    module = await make.module(publisher)
    assert (await put(api, admin, {"review_reminder_days": 7})).status_code == 200

    submitted = await api.request(
        "POST", f"/api/v1/publisher/modules/{module.id}/submit", as_user=owner
    )
    assert submitted.status_code == 202, submitted.text
    handle = temporal_dev.client.get_workflow_handle(submitted.json()["workflow_id"])
    try:
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        [request] = await pydantic_data_converter.decode(started.input.payloads, [ReviewRequest])
    finally:
        await handle.terminate("test over")
    assert request.reminder_after_seconds == timedelta(days=7).total_seconds()


async def test_the_scan_uses_the_thresholds_in_force_when_it_runs(api, make, db, tmp_path):
    """A low-severity finding passes by default and is held for review once admins lower
    the review threshold, on the same running worker."""
    settings = api.settings
    manifest = archives.sample_manifest() | {"external_dependencies": {}}
    data = archives.build_zip(
        [
            *archives.package_entries(manifest=manifest),
            archives.Entry(f"{archives.TECHNICAL_NAME}/shell.py", b"import subprocess\n"),
        ]
    )
    storage = storage_from(settings)
    staged = tmp_path / "upload.zip"
    staged.write_bytes(data)
    storage.put_file("staging/low-finding.zip", staged)
    activities = PackageActivities(
        sessions=db,
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
    request = IngestRequest(
        version_id=2**31 - 1,
        module_id=2**31 - 1,
        module_slug="low-finding",
        technical_name=archives.TECHNICAL_NAME,
        version="1.0.0",
        staging_key="staging/low-finding.zip",
        upload_sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=1,
    )
    scan = ActivityEnvironment().run

    before = await scan(activities.scan, request)
    assert before.verdict == ScanVerdict.PASS and before.findings >= 1

    admin = await make.admin()
    assert (await put(api, admin, {"scan_review_severity": "LOW"})).status_code == 200
    after = await scan(activities.scan, request)
    assert after.verdict == ScanVerdict.REVIEW
    assert [reason.code for reason in after.reasons] == ["code_needs_review"]
