"""Authorization matrix, payouts: a publisher's own, and the admins' runs, retries and
payments by hand: the effect of every allowed cell of these routes. The table (and every
refused cell) is in ``test_authorization_matrix``; the world the cells run in, built
once for this module with each cell in a savepoint of it, in
``tests.authorization_world``. Beside test_payouts_api.py.
"""

import csv
import json
from io import StringIO

import pytest

from domain import processes
from domain.payouts import EARNINGS_CSV_COLUMNS, MonthlyPayoutsInput
from models.analytics import PublisherPayout
from models.publisher import Publisher
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    APO,
    CELL_ARGS,
    PAYOUT_REFUSED,
    PO,
    RUN_PERIOD,
    Check,
    audited,
    cells,
    forget_workflow,
    last_month,
    mail_of,
    reload,
)
from tests.test_authorization_matrix import MATRIX


async def check_my_payouts(r, w, role, env):
    """One's own payouts only."""
    body = r.json()
    if role != "owner":
        assert body["items"] == [] and body["total"] == 0, "another publisher's payout leaked"
        return
    assert [p["id"] for p in body["items"]] == [w.payout.id] and body["total"] == 1
    item = body["items"][0]
    assert (item["period"], item["status"], item["net_amount"], item["order_count"]) == (
        f"{last_month():%Y-%m}",
        "failed",
        "14.00",
        1,
    )
    assert item["failure_reason"] == PAYOUT_REFUSED


async def check_my_payout(r, w, role, env):
    """The payout with the order it covers, line by line as booked."""
    body = r.json()
    assert (body["id"], body["publisher_id"]) == (w.payout.id, w.owner_publisher.id)
    [order] = body["orders"]
    assert (order["order_id"], order["order_number"]) == (w.sale.id, w.sale.order_number)
    assert (order["gross"], order["commission"], order["net"]) == ("20.00", "6.00", "14.00")
    [line] = order["lines"]
    assert (line["module_id"], line["module"], line["kind"]) == (
        w.private.id,
        w.private.display_name,
        "sale",
    )


async def check_payout_settings(r, w, role, env):
    expected = {
        "owner": {"payout_method": "paypal", "paypal_email": "pay@owner.test"},
        "other_publisher": {"payout_method": "stripe", "paypal_email": None},
    }[role]
    assert r.json() == expected | {"stripe_account_id": None}


async def check_payout_settings_changed(r, w, role, env):
    """The caller's own settings change (a PayPal address kept), nobody else's; audited
    (never the password re-entered for it); the caller is mailed a notice."""
    sent = json.loads(r.request.content)
    assert sent.pop("current_password")
    kept = "pay@owner.test" if role == "owner" else None
    assert r.json() == sent | {"paypal_email": kept}
    mine, theirs = (
        w.publisher_of(role),
        w.publisher_of("owner" if role == "other_publisher" else "other_publisher"),
    )
    stored = await reload(env, Publisher, mine.id)
    assert (stored.payout_method, stored.stripe_account_id, stored.paypal_email) == (
        "stripe",
        sent["stripe_account_id"],
        kept,
    )
    untouched = await reload(env, Publisher, theirs.id)
    assert (untouched.payout_method, untouched.stripe_account_id) == (
        theirs.payout_method,
        None,
    )
    assert await audited(env, "publisher.payout_settings", mine.id) == [(w.callers[role].id, sent)]
    [(to, _key)] = await mail_of(env, "account.payout_destination_changed")
    assert to == w.callers[role].email


async def check_earnings_report(r, w, role, env):
    """The owner's ledger entry, with the payout that pays it; nothing of it to another."""
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["cache-control"] == "no-store"
    rows = list(csv.reader(StringIO(r.text)))
    assert rows[0] == list(EARNINGS_CSV_COLUMNS)
    if role != "owner":
        assert rows[1:] == [], "another publisher's earnings leaked"
        return
    assert rows[1:] == [
        [
            str(w.earning.occurred_at.date()),
            w.sale.order_number,
            w.private.display_name,
            "sale",
            "20.00",
            "6.00",
            "14.00",
            "USD",
            str(w.payout.id),
        ]
    ]


async def check_all_payouts(r, w, role, env):
    body = r.json()
    assert [p["id"] for p in body["items"]] == [w.payout.id] and body["total"] == 1
    assert body["items"][0]["publisher_id"] == w.owner_publisher.id


async def check_any_payout(r, w, role, env):
    body = r.json()
    assert (body["id"], body["publisher_id"], body["status"]) == (
        w.payout.id,
        w.owner_publisher.id,
        "failed",
    )
    assert (body["payout_method"], body["failure_reason"]) == ("paypal", PAYOUT_REFUSED)


async def check_month_started(r, w, role, env):
    """The month's run is started (no worker runs it here, and no entry is that old);
    audited; then ended and forgotten."""
    workflow_id = f"payouts-{RUN_PERIOD}"
    handle = env.temporal_client.get_workflow_handle(workflow_id)
    try:
        assert r.json() == {"period": RUN_PERIOD, "workflow_id": workflow_id, "started": True}
        assert await audited(env, "payout.run", RUN_PERIOD) == [
            (w.callers[role].id, {"started": True})
        ]
        assert (await handle.describe()).status.name == "RUNNING"
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        [asked] = await env.temporal_client.data_converter.decode(
            started.input.payloads, [MonthlyPayoutsInput]
        )
        assert asked.period == RUN_PERIOD
    finally:
        await forget_workflow(env.temporal_client, workflow_id)


async def check_marked_paid(r, w, role, env):
    """The failed payout is recorded as paid by hand; its publisher is told; audited."""
    reference = json.loads(r.request.content)["reference"]
    body = r.json()
    assert (body["id"], body["status"], body["reference"]) == (w.payout.id, "completed", reference)
    assert body["paid_at"] is not None and body["failure_reason"] is None
    stored = await reload(env, PublisherPayout, w.payout.id)
    assert (stored.status, stored.payout_id) == ("completed", reference)
    assert await audited(env, "payout.mark_paid", w.payout.id) == [
        (w.callers[role].id, {"from": "failed", "reference": reference})
    ]
    assert await mail_of(env, "payout_completed") == [
        (w.callers["owner"].email, f"payout-{w.payout.id}-completed")
    ]


async def check_payout_retried(r, w, role, env):
    """The failed payout is pending again and its workflow started (no worker runs it);
    audited with the failure; then the workflow is ended and forgotten (its id is built
    from a row id, which a truncation hands out again)."""
    workflow_id = processes.Payout.workflow_id(w.owner_publisher.slug, f"{last_month():%Y-%m}")
    try:
        body = r.json()
        assert body["workflow_id"] == workflow_id
        assert (body["payout"]["id"], body["payout"]["status"]) == (w.payout.id, "pending")
        stored = await reload(env, PublisherPayout, w.payout.id)
        assert (stored.status, stored.failure_reason) == ("pending", None)
        assert await audited(env, "payout.retry", w.payout.id) == [
            (w.callers[role].id, {"from": "failed", "failure": PAYOUT_REFUSED})
        ]
        description = await env.temporal_client.get_workflow_handle(workflow_id).describe()
        assert description.status.name == "RUNNING"
    finally:
        await forget_workflow(env.temporal_client, workflow_id)


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", PO): check_my_payouts,
    ("GET", PO + "/{payout_id}"): check_my_payout,
    ("GET", PO + "/settings"): check_payout_settings,
    ("POST", PO + "/settings"): check_payout_settings_changed,
    ("GET", PO + "/earnings.csv"): check_earnings_report,
    ("GET", APO): check_all_payouts,
    ("GET", APO + "/{payout_id}"): check_any_payout,
    ("POST", APO + "/runs"): check_month_started,
    ("POST", APO + "/{payout_id}/mark-paid"): check_marked_paid,
    ("POST", APO + "/{payout_id}/retry"): check_payout_retried,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
