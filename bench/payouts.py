"""One monthly payout run over 10,000 publishers and 1,000,000 order lines, and its
exactness check.

Data, generated in SQL with ``generate_series`` in the benchmark's own embedded Postgres
and loaded like a restore (foreign keys unchecked, the ledger's indexes built after the
load): 10,000 publishers (70 % Stripe, 20 % PayPal, 10 % manual; 1 % suspended; commission
30 / 20 / 12.5 / 33.33 %; every 200th sells only cheap lines, so it stays below the payout
minimum), two modules each, 250,000 paid orders of four lines (one currency per order,
every 20th order in EUR), so 1,000,000 sale entries, plus a full refund of every 20th line
three days later (50,000 reversals). Most lines fall in October 2026; every 25th in
September (unpaid: carried in) and every 50th in November (after the period).

The run pays October 2026 (``--mode``):

- ``activities`` (default): the payout activities themselves, as the workflows call them
  (list the publishers a page at a time; for each, ``prepare`` → ``begin_transfer`` →
  ``transfer`` → ``check_transfer`` while a PayPal batch is pending → ``complete``),
  ``--concurrency`` publishers at a time in each of ``--processes`` worker processes
  (default 1): what a run costs in Postgres, Python and provider calls, without
  orchestration. Timed from the go given to the ready processes to the last payout.
- ``workflow``: the real ``MonthlyPayouts`` workflow on a Temporal dev server with an
  in-process worker (20 activities at a time, as many as its database pool has
  connections): ``payouts-2026-10`` → one ``payout-{publisher}-2026-10`` per publisher,
  from the start to the last payout settled. The Python SDK's per-task overhead dominates
  here (several times the activities' own CPU), so size it with ``--publishers``: 10,000
  child workflows take the dev server tens of minutes on two cores.
- ``both``: activities, then (after resetting the payouts) the workflow.

Transfers go over real HTTP to ``tests/payouts_fake.py`` (Stripe through the ``stripe`` SDK,
PayPal through ``httpx``), served from a child process as a remote provider would be.

Baseline, measured in the same run: the bare SQL aggregate a payout run has to do at
least once, ``SUM(gross), SUM(commission), SUM(net) … GROUP BY publisher, currency`` over
the unpaid entries before the period's end (median of three). The ratio is run / baseline.

Exactness, checked after each run with SQL written independently of the payout code:
every payout equals the pre-run aggregate of its (publisher, currency) to the cent; every
payout that took entries equals the sum of the entries pointing at it; no entry before the
period's end is left unpaid except those of carried-over, held, or not-chosen currencies;
one Stripe transfer or PayPal batch per completed payout, for exactly its net in minor
units, under the key ``payout:{publisher}:2026-10``.
"""

import argparse
import asyncio
import logging
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import text
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.payouts import (
    Completion,
    PayeePage,
    PayoutActivities,
    PayoutRequest,
)
from cli import embedded
from domain import processes
from domain.payouts import MonthlyPayoutsInput, Period, TransferStatus
from domain.pricing import to_minor_units
from integrations.wiring import payout_options_from, payout_rails_from
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade
from settings import Settings
from tests.payouts_fake import PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, STRIPE_KEY, PayoutsServer
from worker import activity_methods
from workflows.payouts import WORKFLOWS, MonthlyPayoutsWorkflow

PERIOD = Period(2026, 10)
ORDERS_PER_PUBLISHER = 25
LINES_PER_ORDER = 4
PAGE = 100
WORKER_ACTIVITIES = 20
"""As many activities at once as the worker's database pool has connections (10 + 10)."""

SEED_SQL = [
    """INSERT INTO users (id, email, password_hash, role)
       SELECT g, 'pub' || g || '@bench.local', 'x', 'publisher'
       FROM generate_series(1, :publishers) g""",
    """INSERT INTO users (id, email, password_hash, role)
       VALUES (:publishers + 1, 'buyer@bench.local', 'x', 'consumer')""",
    """INSERT INTO marketplace_publishers
         (id, user_id, display_name, slug, status, payout_method, stripe_account_id,
          paypal_email, commission_rate)
       SELECT g, g, 'Publisher ' || g, 'pub-' || g,
              CASE WHEN g % 100 = 50 THEN 'suspended' ELSE 'active' END,
              CASE WHEN g % 10 < 7 THEN 'stripe' WHEN g % 10 < 9 THEN 'paypal'
                   ELSE 'manual' END,
              'acct_bench' || g, 'pub' || g || '@bench.local',
              (ARRAY[30.00, 20.00, 12.50, 33.33])[g % 4 + 1]
       FROM generate_series(1, :publishers) g""",
    """INSERT INTO marketplace_modules
         (id, publisher_id, technical_name, display_name, slug, short_description, status,
          license_type, price)
       SELECT m, (m - 1) / 2 + 1, 'mod_' || m, 'Module ' || m, 'mod-' || m, 'bench',
              'published', 'paid', 10
       FROM generate_series(1, :publishers * 2) m""",
    """INSERT INTO marketplace_orders
         (id, order_number, user_id, items, subtotal, total, currency, status,
          payment_status, paid_at)
       SELECT o, 'FV-B' || o, :publishers + 1, '[]', 0, 0,
              CASE WHEN o % 20 = 0 THEN 'EUR' ELSE 'USD' END, 'completed', 'succeeded',
              TIMESTAMPTZ '2026-10-01 00:00:00+00'
       FROM generate_series(1, :orders) o""",
    """INSERT INTO marketplace_earnings
         (publisher_id, order_id, module_id, kind, gross, commission, net, commission_rate,
          currency, occurred_at)
       SELECT l.publisher_id, l.order_id, l.module_id, 'sale', l.gross,
              round(l.gross * p.commission_rate / 100, 2),
              l.gross - round(l.gross * p.commission_rate / 100, 2),
              p.commission_rate, l.currency, l.occurred_at
       FROM (
         SELECT s.*, (s.module_id - 1) / 2 + 1 AS publisher_id,
                CASE WHEN ((s.module_id - 1) / 2 + 1) % 200 = 5
                     THEN ((s.line % 40) + 1) / 100.0
                     ELSE ((s.line * 7907) % 19900 + 100) / 100.0 END::numeric(12, 2) AS gross
         FROM (
           SELECT g AS line, (g - 1) / 4 + 1 AS order_id,
                  (((g - 1) / 4 + 1) * 7919 + ((g - 1) % 4) * 5003) % (:publishers * 2) + 1
                    AS module_id,
                  CASE WHEN ((g - 1) / 4 + 1) % 20 = 0 THEN 'EUR' ELSE 'USD' END AS currency,
                  CASE WHEN g % 25 = 0
                         THEN TIMESTAMPTZ '2026-09-01 00:00:00+00' + (g % 2591999) * INTERVAL '1 s'
                       WHEN g % 50 = 1
                         THEN TIMESTAMPTZ '2026-11-01 00:00:00+00' + (g % 2591999) * INTERVAL '1 s'
                       ELSE TIMESTAMPTZ '2026-10-01 00:00:00+00' + (g % 2678399) * INTERVAL '1 s'
                  END AS occurred_at
           FROM generate_series(1::bigint, :lines) g
         ) s
       ) l JOIN marketplace_publishers p ON p.id = l.publisher_id""",
    """INSERT INTO marketplace_earnings
         (publisher_id, order_id, module_id, kind, gross, commission, net, commission_rate,
          currency, occurred_at)
       SELECT publisher_id, order_id, module_id, 'refund', -gross, -commission, -net,
              commission_rate, currency, occurred_at + INTERVAL '3 days'
       FROM marketplace_earnings WHERE id % 20 = 3""",
]
AGGREGATE_SQL = """
    SELECT publisher_id, currency, sum(gross), sum(commission), sum(net), count(*)
    FROM marketplace_earnings WHERE payout_id IS NULL AND occurred_at < :end
    GROUP BY publisher_id, currency"""


async def seed(engine, publishers: int) -> tuple[int, float]:
    """Bulk-load as a restore would: foreign keys unchecked (the data is consistent by
    construction) and the ledger's secondary indexes built once after the load."""
    orders = publishers * ORDERS_PER_PUBLISHER
    values = {"publishers": publishers, "orders": orders, "lines": orders * LINES_PER_ORDER}
    began = time.perf_counter()
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        indexes = (
            await connection.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes"
                    " WHERE tablename = 'marketplace_earnings' AND indexname LIKE 'ix_%'"
                )
            )
        ).all()
        for name, _ in indexes:
            await connection.execute(text(f'DROP INDEX "{name}"'))
        for statement in SEED_SQL:
            await connection.execute(text(statement), values)
        for _, definition in indexes:
            await connection.execute(text(definition))
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))
        count = await connection.scalar(text("SELECT count(*) FROM marketplace_earnings"))
    return count, time.perf_counter() - began


async def aggregate(engine) -> tuple[dict, float]:
    """The baseline: the bare aggregate, median of three; and its result."""
    times, result = [], {}
    for _ in range(3):
        began = time.perf_counter()
        async with engine.connect() as connection:
            rows = (await connection.execute(text(AGGREGATE_SQL), {"end": PERIOD.ends_at})).all()
        times.append(time.perf_counter() - began)
        result = {(r[0], r[1]): tuple(r[2:]) for r in rows}
    return result, statistics.median(times)


async def reset(engine, fake_url: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE marketplace_earnings SET payout_id = NULL"))
        await connection.execute(text("DELETE FROM notification_outbox"))
        await connection.execute(text("DELETE FROM marketplace_payouts"))
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))
    async with httpx.AsyncClient(base_url=fake_url) as http:
        (await http.post("/_fake/reset")).raise_for_status()


async def run_activities(
    activities: PayoutActivities, concurrency: int, share: int = 0, shares: int = 1
) -> dict[str, int]:
    """The month as the workflows would run it, without Temporal: every publisher whose
    id is ``share`` modulo ``shares`` (one process's part of the run)."""
    gate = asyncio.Semaphore(concurrency)
    outcomes: dict[str, int] = {}

    async def pay(publisher_id: int) -> None:
        async with gate:
            state = await activities.prepare(
                PayoutRequest(publisher_id=publisher_id, period=PERIOD.label)
            )
            outcome = state.status
            if state.payout_id is not None and state.status == "pending":
                order = await activities.begin_transfer(state.payout_id)
                if order is None:
                    outcome = "failed"
                else:
                    sent = await activities.transfer(order)
                    while sent.status is TransferStatus.PENDING:
                        sent = await activities.check_transfer(order, sent.external_id)
                    if sent.status is TransferStatus.PAID:
                        await activities.complete(
                            Completion(payout_id=order.payout_id, external_id=sent.external_id)
                        )
                        outcome = "completed"
                    else:
                        outcome = "processing (manual)"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    after = 0
    while True:
        page = await activities.list_payees(
            PayeePage(period=PERIOD.label, after_publisher_id=after, limit=PAGE)
        )
        await asyncio.gather(*(pay(p) for p in page if p % shares == share))
        if len(page) < PAGE:
            return outcomes
        after = page[-1]


def bench_settings(workdir: str, fake_url: str) -> Settings:
    return Settings(
        data_dir=Path(workdir) / "data",
        temporal_task_queue=f"bench-{uuid.uuid4().hex}",
        stripe_secret_key=SecretStr(STRIPE_KEY),
        stripe_api_base=fake_url,
        paypal_client_id=PAYPAL_CLIENT_ID,
        paypal_client_secret=SecretStr(PAYPAL_CLIENT_SECRET),
        paypal_api_base=fake_url,
        payout_poll_interval=timedelta(milliseconds=200),
    )


def activity_process(database_url, workdir, fake_url, share, shares, concurrency, go, results):
    """One worker process's part of the activities run (started with ``spawn``)."""

    async def run() -> dict[str, int]:
        settings = bench_settings(workdir, fake_url)
        engine = make_engine(database_url, settings.database_pool_size)
        rails = payout_rails_from(settings)
        activities = PayoutActivities(
            make_sessionmaker(engine), rails, settings.platform_defaults()
        )
        results.put(("ready", share))
        await asyncio.to_thread(go.wait)
        try:
            return await run_activities(activities, concurrency, share, shares)
        finally:
            await rails.aclose()
            await engine.dispose()

    results.put(("done", asyncio.run(run())))


async def run_processes(database_url, workdir, fake_url, processes, concurrency):
    """The activities run split over ``processes`` worker processes, timed from the go."""
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    children = [
        context.Process(
            target=activity_process,
            args=(database_url, workdir, fake_url, k, processes, concurrency, go, results),
        )
        for k in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        await asyncio.to_thread(results.get, True, 120)
    began = time.perf_counter()
    go.set()
    outcomes: dict[str, int] = {}
    for _ in children:
        _, part = await asyncio.to_thread(results.get, True, 1800)
        for key, count in part.items():
            outcomes[key] = outcomes.get(key, 0) + count
    took = time.perf_counter() - began
    for child in children:
        child.join(timeout=30)
    return outcomes, took


async def run_workflow(settings, sessions, engine, rails, publishers: int) -> dict[str, int]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=embedded.venv_executable("temporal"),
        ui=False,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    )
    try:
        async with Worker(
            env.client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=activity_methods(
                PayoutActivities(sessions, rails, settings.platform_defaults())
            ),
            max_concurrent_activities=WORKER_ACTIVITIES,
        ):
            options = payout_options_from(settings)
            await env.client.execute_workflow(
                MonthlyPayoutsWorkflow.run,
                MonthlyPayoutsInput(period=PERIOD.label, options=options),
                id=processes.MonthlyPayouts.workflow_id(PERIOD.label),
                task_queue=settings.temporal_task_queue,
            )
            while True:
                async with engine.connect() as connection:
                    rows = (
                        await connection.execute(
                            text(
                                "SELECT status, payout_method, count(*) FROM marketplace_payouts"
                                " GROUP BY 1, 2"
                            )
                        )
                    ).all()
                total = sum(r[2] for r in rows)
                unsettled = sum(
                    r[2]
                    for r in rows
                    if r[0] == "pending" or (r[0] == "processing" and r[1] != "manual")
                )
                if total >= publishers and unsettled == 0:
                    break
                await asyncio.sleep(0.5)
    finally:
        await env.shutdown()
    outcomes: dict[str, int] = {}
    for status, method, count in rows:
        key = "processing (manual)" if status == "processing" and method == "manual" else status
        outcomes[key] = outcomes.get(key, 0) + count
    return outcomes


async def check(engine, fake_url: str, expected: dict, label: str) -> tuple[bool, float]:
    """Every payout against the independent SQL; one transfer per completed payout."""
    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=fake_url, timeout=60) as http:
        fake = (await http.get("/_fake/state")).raise_for_status().json()
    problems: list[str] = []
    async with engine.connect() as connection:
        payouts = (
            await connection.execute(
                text(
                    "SELECT id, publisher_id, currency, gross_amount, platform_fee, net_amount,"
                    " status, payout_method FROM marketplace_payouts"
                )
            )
        ).all()
        assigned = {
            r[0]: tuple(r[1:])
            for r in await connection.execute(
                text(
                    "SELECT payout_id, sum(gross), sum(commission), sum(net), count(*)"
                    " FROM marketplace_earnings WHERE payout_id IS NOT NULL GROUP BY payout_id"
                )
            )
        }
        left = (
            await connection.execute(
                text(
                    "SELECT e.publisher_id, e.currency, count(*)"
                    " FROM marketplace_earnings e"
                    " WHERE e.payout_id IS NULL AND e.occurred_at < :end"
                    " GROUP BY 1, 2"
                ),
                {"end": PERIOD.ends_at},
            )
        ).all()
    paid_currency = {}
    for pid, publisher, currency, gross, fee, net, status, _method in payouts:
        want = expected.get((publisher, currency))
        if want is None or (gross, fee, net) != want[:3]:
            problems.append(f"payout {pid}: {gross}/{fee}/{net} != ledger {want}")
        takes = status not in ("carried_over", "held")
        if takes:
            paid_currency[publisher] = currency
            if assigned.get(pid) != want:
                problems.append(f"payout {pid}: its entries sum to {assigned.get(pid)}")
        elif pid in assigned:
            problems.append(f"payout {pid} is {status} but took entries")
    for publisher, currency, _count in left:
        if paid_currency.get(publisher) == currency:
            problems.append(f"publisher {publisher}: {currency} entries left unpaid")
    completed = [row for row in payouts if row[6] == "completed"]
    sent = [(t["metadata"]["payout_id"], t["amount"], t["_key"]) for t in fake["transfers"]]
    sent += [
        (
            b["item"]["sender_item_id"].removeprefix("payout-"),
            b["item"]["amount"]["value"],
            b["sender_batch_id"],
        )
        for b in fake["batches"]
    ]
    by_payout = {int(pid): (amount, key) for pid, amount, key in sent}
    if len(by_payout) != len(sent) or len(sent) != len(completed):
        problems.append(f"{len(sent)} transfers for {len(completed)} completed payouts")
    for pid, publisher, currency, _gross, _fee, net, _status, _method in completed:
        amount, key = by_payout.get(pid, (None, None))
        if key != f"payout:{publisher}:{PERIOD.label}" or amount not in (
            to_minor_units(net, currency),
            f"{net:.2f}",
        ):
            problems.append(f"payout {pid}: sent {amount} under {key}")
    took = time.perf_counter() - began
    status = "exact" if not problems else f"{len(problems)} PROBLEMS"
    print(f"  exactness ({label}): {len(payouts)} payouts checked in {took:.2f} s: {status}")
    for problem in problems[:10]:
        print(f"    {problem}")
    return not problems, took


def report(label: str, took: float, baseline: float, outcomes: dict, expected: dict) -> None:
    payouts = sum(outcomes.values())
    print(f"  {label}: {took:.1f} s for {payouts} payouts ({payouts / took:.0f}/s)")
    print("    " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    print(f"    ratio to the bare aggregate: {took / baseline:.0f}x")
    net = sum(v[2] for v in expected.values())
    print(f"    ledger net before the period's end: {net} (all currencies)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--publishers", type=int, default=10_000)
    parser.add_argument("--mode", choices=["activities", "workflow", "both"], default="activities")
    parser.add_argument("--concurrency", type=int, default=16, help="publishers at a time")
    parser.add_argument(
        "--processes", type=int, default=1, help="worker processes of the activities run"
    )
    return parser.parse_args()


async def main(args: argparse.Namespace, fake_url: str) -> bool:
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    ok = True
    with tempfile.TemporaryDirectory() as workdir:
        server, url = embedded.start_postgres(Path(workdir))
        try:
            upgrade(url)
            settings = bench_settings(workdir, fake_url)
            engine = make_engine(url, settings.database_pool_size)
            sessions = make_sessionmaker(engine)
            entries, seeded = await seed(engine, args.publishers)
            print(
                f"seeded {args.publishers} publishers, "
                f"{args.publishers * ORDERS_PER_PUBLISHER} orders, {entries} ledger entries "
                f"in {seeded:.1f} s (2 cores: {sys.platform})"
            )
            expected, baseline = await aggregate(engine)
            print(
                f"baseline: the bare aggregate over the unpaid entries: {baseline * 1000:.0f} ms "
                f"({len(expected)} publisher-currency sums)"
            )
            rails = payout_rails_from(settings)
            if args.mode in ("activities", "both"):
                outcomes, took = await run_processes(
                    url, workdir, fake_url, args.processes, args.concurrency
                )
                label = f"activities, {args.processes} processes x {args.concurrency} at a time"
                report(label, took, baseline, outcomes, expected)
                ok &= (await check(engine, fake_url, expected, "activities"))[0]
            if args.mode == "both":
                await reset(engine, fake_url)
            if args.mode in ("workflow", "both"):
                began = time.perf_counter()
                outcomes = await run_workflow(
                    settings, sessions, engine, rails, len({publisher for publisher, _ in expected})
                )
                took = time.perf_counter() - began
                report("workflow on the dev server", took, baseline, outcomes, expected)
                ok &= (await check(engine, fake_url, expected, "workflow"))[0]
            await engine.dispose()
        finally:
            server.cleanup()
    print(f"\nevery payout exact, every transfer once: {'yes' if ok else 'NO'}")
    return ok


def serve_fake(urls) -> None:
    """The provider fake, in a process of its own (the benchmark's loop stays its own)."""
    with PayoutsServer() as fake:
        fake.any_account = True
        urls.put(fake.url)
        threading.Event().wait()


if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    urls = context.Queue()
    provider = context.Process(target=serve_fake, args=(urls,), daemon=True)
    provider.start()
    try:
        passed = asyncio.run(main(parse_args(), urls.get(timeout=30)))
    finally:
        provider.terminate()
    sys.exit(0 if passed else 1)
