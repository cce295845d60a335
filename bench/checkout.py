"""Checkout to license under load: 200 concurrent checkouts through the local gateway, each
licensed exactly once, and how long a confirmed payment waits for its licenses.

Real path: ``POST /api/v1/marketplace/checkout`` through the API (ASGI transport) → the
checkout workflow on the Temporal dev server → an in-process worker (``worker.build_worker``)
→ Postgres and the local gateway's payment files. 200 buyers (``--checkouts``) each hold one
or two paid modules of different publishers (commission rates 12.5-30 %, a 8.25 % tax rate).

Two phases through Temporal:

1. card 4242424242424242: the payment succeeds when the workflow creates it
   (create_payment → mark_paid → fulfil → send_receipt).
2. card 4000000000003220 (3-D Secure): the bench waits until every order shows
   ``payment_status = requires_action``, then fires ``POST /checkout/confirm`` for all of
   them; the confirm update confirms at the gateway, the workflow goes on to fulfil.

What is measured (all clocks are this machine's, so they compare):

- **licensed at**: the order's license rows' ``created_at``: Postgres ``now()``, the start of
  the fulfil transaction that inserts every license of the order (and its ledger entries)
  and commits them together. The commit follows within the fulfil activity's duration,
  shown apart (started → completed in the workflow history).
- **paid_at → licensed** (the headline "confirmation → license"): ``paid_at`` is written by
  mark_paid, the first step after the gateway's success reached the workflow, in Python on
  the worker (``datetime.now(UTC)``), committed just before the activity completes.
- **gateway success → licensed**: when the gateway's success answer reached Temporal, i.e.
  the create_payment (phase 1) or confirm_payment (phase 2) activity's completion in the
  workflow history; this adds mark_paid's hop to the one above.
- **POST sent → licensed** (phase 1) and **confirm sent → licensed** (phase 2): the client's
  clock just before the request, to the licenses' ``created_at``: what the buyer waits.
- throughput: completed checkouts / wall time, first request sent → last workflow done.

Baselines, measured in the same run:

- **direct**: the same checkouts (new buyers, the same carts' shape) through the same API,
  with a Temporal client that only records the workflow input; then the workflow's own
  steps called back to back in this process (create_payment, mark_paid, fulfil,
  send_receipt: the same ``CheckoutActivities`` on the worker's engine), every checkout at
  once. Same timestamps, so the ratio is what orchestration adds to confirmation → license
  and to throughput.
- **bare Temporal**: as many no-op workflows of four no-op activities (the checkout's shape)
  at once, on a second worker of this process on the same dev server: step 2 done → step
  3 started is the floor of the paid_at → licensed hop (mark_paid → fulfil).

Alongside each burst: the CPU it cost, by whom (this process, which hosts the load
generator, the API and the worker on one event loop; the dev server; the embedded Postgres;
everything else on the machine), the Temporal core's warnings (TMPRL1104: a workflow task
over 5 s), and from the histories the activity attempts retried and workflow tasks that
timed out. The worker and the API each use the default pool (``database_pool_size``, 10
connections plus 10 overflow), as in production.

Exactness, per phase and for the baseline, from the database and the gateway's files: one
order per buyer and every order completed; exactly one license per order line, grouped by
(order_id, module_id), and none elsewhere for these buyers; exactly one ``sale`` ledger entry
per line and nothing else; the ledger's gross/commission/net sums and each line equal to a
computation here from the seeded prices and rates (half up, to the cent); each order's total
equal to its lines' prices plus tax; one gateway payment per order, succeeded, for exactly
the order's total; one receipt per order.
"""

import argparse
import asyncio
import importlib
import json
import logging
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from api.app import create_app
from bench.ingest import FailedAttempts, report_failures
from cli import embedded
from domain.access import Role
from domain.checkout import CheckoutInput, PaymentInstructions
from integrations.temporal.front_door import TemporalConnector
from integrations.wiring import build_adapters
from models.commerce import CartItem, EarningEntry, License, Order
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade
from models.module import MarketplaceModule
from models.platform import PlatformSetting
from models.publisher import Publisher
from models.user import User
from services.credentials import issue_access_token
from settings import Settings
from worker import build_activities, build_worker

CHECKOUTS = 200
PUBLISHERS = 12
MODULES_PER_PUBLISHER = 6
COMMISSION_RATES = [Decimal(r) for r in ("30.00", "25.00", "20.00", "15.00", "12.50")]
PRICES = [
    Decimal(p)
    for p in ("4.99", "9.99", "12.50", "19.00", "24.95", "39.99", "49.00", "79.99", "129.00")
]
TAX_RATE = Decimal("8.25")
GOOD, NEEDS_3DS = "4242424242424242", "4000000000003220"
CHECKOUT = "/api/v1/marketplace/checkout"
PHASE_TIMEOUT = 240.0
"""Seconds a phase may take before the bench stops waiting and reports what is stuck."""
BENCH_SECRET = "bench-only-secret-" + "x" * 32
CENT = Decimal("0.01")
NOOP_STEPS = 4


# --- the bare Temporal baseline: a no-op workflow shaped like the checkout --------------


@activity.defn(name="bench.noop_step")
async def noop_step(step: int) -> float:
    """Does nothing; answers when it ran (the worker's clock)."""
    return time.time()


@workflow.defn(name="BenchNoopCheckout")
class NoopCheckout:
    @workflow.run
    async def run(self, steps: int) -> list[float]:
        stamps = []
        for step in range(steps):
            stamps.append(
                await workflow.execute_activity(
                    noop_step, step, start_to_close_timeout=timedelta(seconds=60)
                )
            )
        return stamps


class CoreWarnings(logging.Handler):
    """The Temporal core's own warnings (forwarded from Rust), counted by their code instead
    of printed one by one: chiefly TMPRL1104, a workflow task that took over 5 s."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        code = re.search(r"\[(TMPRL\d+)\]", message)
        text = re.sub(r"\S+:\d+:\d+ ", "", message.split("]", 1)[-1]).strip()
        self.counts[f"{code.group(1) if code else record.levelname} {text[:70]}"] += 1

    def take(self) -> str:
        counts, self.counts = self.counts, Counter()
        if not counts:
            return "none"
        return "; ".join(f"{n} x {what}" for what, n in counts.most_common(3))


def temporal_runtime(handler: CoreWarnings) -> Runtime:
    core = logging.getLogger("bench.temporal_core")
    core.addHandler(handler)
    core.propagate = False
    forwarding = LogForwardingConfig(
        logger=core,
        append_target_to_name=False,
        prepend_target_on_message=False,
        append_log_fields_to_message=False,
    )
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=forwarding,
            )
        )
    )


# --- accounts, catalogue and carts ------------------------------------------------------


@dataclass
class Catalogue:
    price: dict[int, Decimal]
    """module id → price"""
    publisher: dict[int, int]
    """module id → publisher id"""
    rate: dict[int, Decimal]
    """publisher id → commission rate (percent)"""


@dataclass
class Buyer:
    user_id: int
    headers: dict[str, str]
    module_ids: list[int]


async def seed(sessions, settings: Settings, groups: list[int]) -> tuple[Catalogue, list]:
    """The publishers and their paid modules, and ``sum(groups)`` buyers (returned in
    ``groups``), each with one or two modules of different publishers in the cart."""
    rng = random.Random(20260315)
    async with sessions.begin() as session:
        session.add(PlatformSetting(key="tax_rate_percent", value=str(TAX_RATE)))
        catalogue = Catalogue({}, {}, {})
        by_publisher: dict[int, list[int]] = {}
        for p in range(PUBLISHERS):
            owner = User(email=f"pub{p}@bench.local", password_hash="x", role=Role.PUBLISHER)
            session.add(owner)
            await session.flush()
            rate = COMMISSION_RATES[p % len(COMMISSION_RATES)]
            publisher = Publisher(
                user_id=owner.id,
                display_name=f"Studio {p}",
                slug=f"studio-{p}",
                commission_rate=rate,
            )
            session.add(publisher)
            await session.flush()
            catalogue.rate[publisher.id] = rate
            rows = [
                {
                    "publisher_id": publisher.id,
                    "technical_name": f"bench_tool_{p}_{m}",
                    "slug": f"bench-tool-{p}-{m}",
                    "display_name": f"Bench Tool {p}.{m}",
                    "short_description": "Reports and exports for operations teams.",
                    "status": "published",
                    "visibility": "public",
                    "license_type": "paid",
                    "price": rng.choice(PRICES),
                    "currency": "USD",
                }
                for m in range(MODULES_PER_PUBLISHER)
            ]
            ids = (
                await session.execute(
                    insert(MarketplaceModule).returning(
                        MarketplaceModule.id, sort_by_parameter_order=True
                    ),
                    rows,
                )
            ).scalars()
            for module_id, row in zip(ids, rows, strict=True):
                catalogue.price[module_id] = row["price"]
                catalogue.publisher[module_id] = publisher.id
                by_publisher.setdefault(publisher.id, []).append(module_id)
        total = sum(groups)
        user_ids = list(
            (
                await session.execute(
                    insert(User).returning(User.id, sort_by_parameter_order=True),
                    [
                        {
                            "email": f"buyer{i}@bench.local",
                            "password_hash": "x",
                            "role": Role.CONSUMER,
                            "full_name": f"Buyer {i}",
                        }
                        for i in range(total)
                    ],
                )
            ).scalars()
        )
        buyers, cart_rows = [], []
        publisher_ids = list(by_publisher)
        for user_id in user_ids:
            chosen = rng.sample(publisher_ids, rng.choice((1, 2)))
            module_ids = [rng.choice(by_publisher[p]) for p in chosen]
            cart_rows += [{"user_id": user_id, "module_id": m} for m in module_ids]
            token, _ = issue_access_token(
                user_id,
                token_version=0,  # a fresh account's
                secret=BENCH_SECRET,
                issuer=settings.jwt_issuer,
                ttl=timedelta(hours=2),
            )
            buyers.append(Buyer(user_id, {"Authorization": f"Bearer {token}"}, module_ids))
        await session.execute(insert(CartItem), cart_rows)
    split, start = [], 0
    for size in groups:
        split.append(buyers[start : start + size])
        start += size
    return catalogue, split


# --- driving checkouts ------------------------------------------------------------------


@dataclass
class Checkout:
    buyer: Buyer
    sent: datetime | None = None
    answered: datetime | None = None
    order_id: int | None = None
    order_number: str | None = None
    workflow_id: str | None = None
    error: str | None = None
    confirm_sent: datetime | None = None
    confirm_answered: datetime | None = None
    confirm_status: str | None = None
    done: datetime | None = None
    """The workflow's (or the direct steps') completion, as the client saw it."""


class RecordingClient:
    """Stands in for the Temporal client: remembers the checkout instead of starting it."""

    def __init__(self) -> None:
        self.started: dict[str, CheckoutInput] = {}

    async def start_workflow(self, _run, request: CheckoutInput, *, id: str, **_) -> None:
        self.started[id] = request


async def post_checkout(http: httpx.AsyncClient, run: Checkout, card: str) -> None:
    run.sent = datetime.now(UTC)
    try:
        response = await http.post(
            CHECKOUT, headers=run.buyer.headers, json={"payment_method": card}
        )
    except Exception as error:
        run.error = f"{type(error).__name__}: {error}"[:120]
        return
    run.answered = datetime.now(UTC)
    if response.status_code != 202:
        run.error = f"HTTP {response.status_code}: {response.text[:100]}"
        return
    body = response.json()
    run.order_id = body["order"]["id"]
    run.order_number = body["order"]["order_number"]
    run.workflow_id = body["workflow_id"]


async def fire(http, buyers: list[Buyer], card: str, concurrency: int) -> list[Checkout]:
    gate = asyncio.Semaphore(concurrency)
    runs = [Checkout(buyer) for buyer in buyers]

    async def one(run: Checkout) -> None:
        async with gate:
            await post_checkout(http, run, card)

    await asyncio.gather(*(one(run) for run in runs))
    return runs


async def await_workflows(client, runs: list[Checkout], timeout: float) -> list[str]:
    """Wait for every started checkout workflow; returns the problems (failed, stuck)."""

    async def result(run: Checkout) -> None:
        await client.get_workflow_handle(run.workflow_id).result()
        run.done = datetime.now(UTC)

    started = [run for run in runs if run.workflow_id]
    tasks = {asyncio.ensure_future(result(run)): run for run in started}
    if not tasks:
        return []
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    problems = []
    for task in done:
        if task.exception() is not None:
            error = task.exception()
            problems.append(f"{tasks[task].order_number}: {type(error).__name__}: {error}")
    for task in pending:
        task.cancel()
        run = tasks[task]
        description = await client.get_workflow_handle(run.workflow_id).describe()
        problems.append(
            f"{run.order_number}: workflow still {description.status.name} after {timeout:.0f} s"
        )
    return problems


async def await_payment_status(sessions, runs: list[Checkout], timeout: float) -> Counter:
    """Poll the orders until none is still creating its payment; their payment statuses."""
    order_ids = [run.order_id for run in runs if run.order_id]
    deadline = time.monotonic() + timeout
    while True:
        async with sessions() as session:
            statuses = Counter(
                dict(
                    (
                        await session.execute(
                            select(Order.payment_status, func.count())
                            .where(Order.id.in_(order_ids))
                            .group_by(Order.payment_status)
                        )
                    ).all()
                )
            )
        if statuses.get("pending", 0) == 0 or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.2)


async def confirm_all(http, runs: list[Checkout], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(run: Checkout) -> None:
        async with gate:
            run.confirm_sent = datetime.now(UTC)
            try:
                response = await http.post(
                    f"{CHECKOUT}/confirm",
                    headers=run.buyer.headers,
                    json={"order_number": run.order_number},
                )
            except Exception as error:
                run.error = f"confirm: {type(error).__name__}: {error}"[:120]
                return
            run.confirm_answered = datetime.now(UTC)
        if response.status_code != 200:
            run.error = f"confirm HTTP {response.status_code}: {response.text[:100]}"
        else:
            run.confirm_status = response.json()["status"]

    await asyncio.gather(*(one(run) for run in runs if run.order_number))


async def direct_checkout(http, recorder: RecordingClient, steps: dict, run, gate) -> None:
    """The baseline: the same POST, then the workflow's steps back to back, no Temporal."""
    async with gate:
        await post_checkout(http, run, GOOD)
    if run.workflow_id is None:
        return
    request = recorder.started.pop(run.workflow_id)
    try:
        payment = await steps["create_payment"](
            PaymentInstructions(**request.model_dump(include=set(PaymentInstructions.model_fields)))
        )
        if payment.status != "succeeded":
            run.error = f"payment {payment.status}"
            return
        await steps["mark_paid"](request.order_id)
        await steps["fulfil"](request.order_id)
        await steps["send_receipt"](request.order_id)
    except Exception as error:
        run.error = f"direct steps: {type(error).__name__}: {error}"[:160]
        return
    run.done = datetime.now(UTC)


# --- timestamps -------------------------------------------------------------------------


@dataclass
class Stamps:
    status: str
    payment_status: str
    paid_at: datetime | None
    licensed_at: datetime | None
    """The order's license rows' created_at (one transaction: all equal; the latest)."""
    activities: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    """Activity name → (started, completed), from the workflow history."""
    retries: int = 0
    """Activity attempts after the first, from the workflow history."""
    task_timeouts: int = 0
    """Workflow tasks that timed out or failed (and were run again)."""


async def order_stamps(sessions, runs: list[Checkout]) -> dict[int, Stamps]:
    order_ids = [run.order_id for run in runs if run.order_id]
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    Order.id,
                    Order.status,
                    Order.payment_status,
                    Order.paid_at,
                    func.max(License.created_at),
                )
                .outerjoin(License, License.order_id == Order.id)
                .where(Order.id.in_(order_ids))
                .group_by(Order.id)
            )
        ).all()
    return {row[0]: Stamps(row[1], row[2], row[3], row[4]) for row in rows}


async def add_history(client, runs: list[Checkout], stamps: dict[int, Stamps]) -> None:
    """Each checkout activity's last started/completed time, from the workflow history."""
    gate = asyncio.Semaphore(20)

    async def one(run: Checkout) -> None:
        names: dict[int, str] = {}
        started: dict[int, datetime] = {}
        found: dict[str, tuple[datetime, datetime]] = {}
        retries = task_timeouts = 0
        async with gate:
            handle = client.get_workflow_handle(run.workflow_id)
            async for event in handle.fetch_history_events():
                at = event.event_time.ToDatetime(tzinfo=UTC)
                kind = event.event_type
                if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                    attributes = event.activity_task_scheduled_event_attributes
                    names[event.event_id] = attributes.activity_type.name
                elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                    started[event.event_id] = at
                    retries += event.activity_task_started_event_attributes.attempt - 1
                elif kind in (
                    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
                    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
                ):
                    task_timeouts += 1
                elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                    attributes = event.activity_task_completed_event_attributes
                    name = names[attributes.scheduled_event_id]
                    found[name] = (started[attributes.started_event_id], at)
        stamps[run.order_id].activities = found
        stamps[run.order_id].retries = retries
        stamps[run.order_id].task_timeouts = task_timeouts

    await asyncio.gather(*(one(run) for run in runs if run.workflow_id and run.order_id in stamps))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def spread(values: list[float]) -> str:
    if not values:
        return "   (none)"
    return (
        "".join(f"{percentile(values, share) * 1000:9.0f}" for share in (0.5, 0.95, 0.99, 1.0))
        + f"  ms  (n={len(values)})"
    )


def seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds()


def column(values) -> list[float]:
    return [value for value in values if value is not None]


HEADER = f"{'':<44}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}"


TICKS = os.sysconf("SC_CLK_TCK")


def _process_table() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, CPU seconds so far) for every process on the machine."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    return table


def _tree(table: dict[int, tuple[int, float]], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in table and pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


class Meter:
    """CPU spent while a burst runs, by whom: this process (load generator, API and worker
    share one event loop), its children (the Temporal dev server), the embedded Postgres
    (postmaster and backends), and everything else on the machine (other users of it)."""

    postmaster: int | None = None

    def __init__(self) -> None:
        self.wall = time.monotonic()
        self.machine = self._machine()
        self.cpu = self._ours()

    @staticmethod
    def _machine() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            jiffies = [int(x) for x in stat.readline().split()[1:]]
        return sum(jiffies) - jiffies[3] - jiffies[4], sum(jiffies)

    def _ours(self) -> dict[str, dict[int, float]]:
        table = _process_table()
        me = os.getpid()
        postgres = _tree(table, self.postmaster) if self.postmaster else set()
        return {
            "python": {me: table[me][1]},
            "temporal": {pid: table[pid][1] for pid in _tree(table, me) - {me} - postgres},
            "postgres": {pid: table[pid][1] for pid in postgres},
        }

    def read(self) -> str:
        wall = time.monotonic() - self.wall
        now = self._ours()
        used = {
            name: sum(cpu - self.cpu[name].get(pid, 0.0) for pid, cpu in pids.items())
            for name, pids in now.items()
        }
        busy, total = (b - a for b, a in zip(self._machine(), self.machine, strict=True))
        cores = os.cpu_count() or 1
        capacity = wall * cores
        machine = busy / max(total, 1) * capacity
        others = max(machine - sum(used.values()), 0.0)
        return (
            f"{wall:.1f} s x {cores} cores = {capacity:.0f} CPU s; this process "
            f"{used['python']:.1f}, Temporal dev server {used['temporal']:.1f}, Postgres "
            f"{used['postgres']:.1f}, other processes on the machine {others:.1f} "
            f"(machine {busy / max(total, 1):.0%} busy)"
        )


@dataclass
class Phase:
    label: str
    runs: list[Checkout]
    began: float
    """time.monotonic() when the timed burst began."""
    ended: float
    problems: list[str]
    stamps: dict[int, Stamps]
    cpu: str = ""

    @property
    def completed(self) -> int:
        return sum(1 for s in self.stamps.values() if s.status == "completed")

    @property
    def wall(self) -> float:
        return self.ended - self.began

    @property
    def throughput(self) -> float:
        return self.completed / self.wall if self.wall else 0.0

    def paid_to_licensed(self) -> list[float]:
        return column(seconds(s.licensed_at, s.paid_at) for s in self.stamps.values())


def report_phase(
    phase: Phase, core: CoreWarnings, *, confirm: bool = False, gateway_step: str | None = None
):
    runs, stamps = phase.runs, phase.stamps
    accepted = [run for run in runs if run.order_id]
    print(f"\n{phase.label}")
    answers = column(seconds(run.answered, run.sent) for run in accepted)
    print(
        f"  checkout POSTs answered 202: {len(accepted)}/{len(runs)}"
        + (f", answer p50 {statistics.median(answers) * 1000:.0f} ms" if answers else "")
        + (f", p95 {percentile(answers, 0.95) * 1000:.0f} ms" if answers else "")
    )
    refused = Counter(run.error for run in runs if run.error)
    for error, count in refused.most_common(5):
        print(f"    {count:4d} x {error}")
    if confirm:
        confirmed = [run for run in accepted if run.confirm_answered]
        waited = column(seconds(run.confirm_answered, run.confirm_sent) for run in confirmed)
        print(
            f"  confirm POSTs answered 200: {len(confirmed)}/{len(accepted)}, answered with "
            f"status {dict(Counter(run.confirm_status for run in confirmed))}"
            + (f", answer p50 {statistics.median(waited) * 1000:.0f} ms" if waited else "")
            + (f", p95 {percentile(waited, 0.95) * 1000:.0f} ms" if waited else "")
        )
    print(
        f"  orders by status: {dict(Counter(s.status for s in stamps.values()))}; "
        f"payment: {dict(Counter(s.payment_status for s in stamps.values()))}"
    )
    for problem in phase.problems[:10]:
        print(f"    {problem}")
    if len(phase.problems) > 10:
        print(f"    ... and {len(phase.problems) - 10} more")
    what = "first confirm sent" if confirm else "first POST sent"
    print(f"  wall time, {what} → last checkout done: {phase.wall:.2f} s")
    print(f"  CPU meanwhile: {phase.cpu}")
    print(f"  Temporal core warnings: {core.take()}")
    print(f"  throughput: {phase.throughput:.1f} checkouts/s ({phase.completed} completed)")
    print(f"  {HEADER}")
    by_order = {run.order_id: run for run in accepted}
    print(
        f"  {'paid_at → licensed (confirmation → license)':<44}{spread(phase.paid_to_licensed())}"
    )
    if gateway_step:
        gateway = column(
            seconds(s.licensed_at, s.activities[gateway_step][1])
            for s in stamps.values()
            if gateway_step in s.activities
        )
        print(f"  {'gateway success (history) → licensed':<44}{spread(gateway)}")
    if confirm:
        sent = column(
            seconds(s.licensed_at, by_order[order_id].confirm_sent)
            for order_id, s in stamps.items()
        )
        print(f"  {'confirm sent → licensed':<44}{spread(sent)}")
    else:
        sent = column(
            seconds(s.licensed_at, by_order[order_id].sent) for order_id, s in stamps.items()
        )
        print(f"  {'POST sent → licensed':<44}{spread(sent)}")
    fulfil = column(
        seconds(*reversed(s.activities["checkout.fulfil"]))
        for s in stamps.values()
        if "checkout.fulfil" in s.activities
    )
    if fulfil:
        print(f"  {'fulfil activity, started → completed':<44}{spread(fulfil)}")
    if gateway_step:
        retried = sum(s.retries for s in stamps.values())
        timed_out = sum(s.task_timeouts for s in stamps.values())
        print(
            f"  workflow histories: {retried} activity attempts retried, {timed_out} workflow "
            f"tasks timed out or failed (in {sum(1 for s in stamps.values() if s.task_timeouts)}"
            " runs)"
        )
    sys.stdout.flush()


# --- exactness --------------------------------------------------------------------------


def half_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


async def verify(sessions, settings: Settings, label: str, runs, catalogue: Catalogue) -> bool:
    """Every order completed, licensed once per line, booked once per line, for the right
    amounts, charged once at the gateway. Prints what it found; True when all holds."""
    buyers = {run.buyer.user_id: run.buyer for run in runs}
    problems: list[str] = []
    async with sessions() as session:
        orders = (await session.scalars(select(Order).where(Order.user_id.in_(buyers)))).all()
        licenses = (
            await session.execute(
                select(License.order_id, License.module_id, License.user_id, License.status)
                .where(License.user_id.in_(buyers))
                .order_by(License.id)
            )
        ).all()
        entries = (
            await session.execute(
                select(
                    EarningEntry.order_id,
                    EarningEntry.module_id,
                    EarningEntry.publisher_id,
                    EarningEntry.kind,
                    EarningEntry.gross,
                    EarningEntry.commission,
                    EarningEntry.net,
                ).where(EarningEntry.order_id.in_([order.id for order in orders] or [0]))
            )
        ).all()
        duplicate_groups = (
            await session.execute(
                select(License.order_id, License.module_id, func.count())
                .where(License.user_id.in_(buyers))
                .group_by(License.order_id, License.module_id)
                .having(func.count() > 1)
            )
        ).all()

    per_buyer = Counter(order.user_id for order in orders)
    no_order = [user for user in buyers if per_buyer[user] == 0]
    several = {user: n for user, n in per_buyer.items() if n > 1}
    if no_order:
        problems.append(f"{len(no_order)} buyers have no order")
    if several:
        problems.append(f"{len(several)} buyers have several orders: {list(several.items())[:5]}")
    statuses = Counter(order.status for order in orders)
    not_completed = [order for order in orders if order.status != "completed"]
    if not_completed:
        problems.append(
            f"{len(not_completed)} orders not completed, by (status, payment_status): "
            f"{dict(Counter((o.status, o.payment_status) for o in not_completed))}; e.g. "
            + ", ".join(o.order_number for o in not_completed[:5])
        )

    lines = {(order.id, item["module_id"]): order for order in orders for item in order.items}
    expected_lines = sum(len(buyers[order.user_id].module_ids) for order in orders)
    for order in orders:
        wanted = sorted(buyers[order.user_id].module_ids)
        got = sorted(item["module_id"] for item in order.items)
        if wanted != got:
            problems.append(f"order {order.order_number} has lines {got}, the cart held {wanted}")

    licensed = Counter((row.order_id, row.module_id) for row in licenses)
    duplicates = {key: n for key, n in licensed.items() if n > 1}
    missing = [key for key in lines if key not in licensed]
    stray = [key for key in licensed if key not in lines]
    per_seat = Counter((row.user_id, row.module_id) for row in licenses)
    twice = {key: n for key, n in per_seat.items() if n > 1}
    inactive = Counter(row.status for row in licenses if row.status != "active")
    if duplicates or duplicate_groups:
        problems.append(f"duplicate licenses (order, module): {list(duplicates.items())[:5]}")
    if missing:
        problems.append(f"{len(missing)} order lines without a license, e.g. {missing[:5]}")
    if stray:
        problems.append(f"{len(stray)} licenses on no order line of theirs, e.g. {stray[:5]}")
    if twice:
        problems.append(f"buyers licensed twice for a module: {list(twice.items())[:5]}")
    if inactive:
        problems.append(f"licenses not active: {dict(inactive)}")

    sales = [row for row in entries if row.kind == "sale"]
    other = Counter(row.kind for row in entries if row.kind != "sale")
    booked = Counter((row.order_id, row.module_id) for row in sales)
    double_booked = {key: n for key, n in booked.items() if n > 1}
    unbooked = [key for key in lines if key not in booked]
    if double_booked:
        problems.append(f"sale entries booked twice: {list(double_booked.items())[:5]}")
    if unbooked:
        problems.append(f"{len(unbooked)} order lines without a sale entry, e.g. {unbooked[:5]}")
    if other:
        problems.append(f"ledger entries other than sales: {dict(other)}")

    # The independent computation: from the seeded prices and commission rates.
    expected = {"gross": Decimal(0), "commission": Decimal(0), "net": Decimal(0)}
    for _, module_id in lines:
        price = catalogue.price[module_id]
        commission = half_up(price * catalogue.rate[catalogue.publisher[module_id]] / 100)
        expected["gross"] += price
        expected["commission"] += commission
        expected["net"] += price - commission
    wrong_rows = []
    for row in sales:
        price = catalogue.price[row.module_id]
        commission = half_up(price * catalogue.rate[catalogue.publisher[row.module_id]] / 100)
        if (row.gross, row.commission, row.net, row.publisher_id) != (
            price,
            commission,
            price - commission,
            catalogue.publisher[row.module_id],
        ):
            wrong_rows.append((row.order_id, row.module_id, row.gross, row.commission, row.net))
    booked_sums = {
        name: sum((getattr(row, name) for row in sales), Decimal(0))
        for name in ("gross", "commission", "net")
    }
    if wrong_rows:
        problems.append(f"{len(wrong_rows)} sale entries with wrong amounts: {wrong_rows[:3]}")
    if booked_sums != expected:
        problems.append(f"ledger sums {booked_sums} differ from the computation {expected}")

    wrong_totals = []
    charged, receipts = 0, 0
    for order in orders:
        prices = [catalogue.price[item["module_id"]] for item in order.items]
        total = sum((p + half_up(p * TAX_RATE / 100) for p in prices), Decimal(0))
        if order.total != total or order.subtotal != sum(prices, Decimal(0)):
            wrong_totals.append((order.order_number, order.total, total))
        if order.payment_intent_id:
            path = settings.payments_dir / f"{order.payment_intent_id}.json"
            state = json.loads(path.read_text()) if path.exists() else {}
            if (
                state.get("status") == "succeeded"
                and state.get("amount") == int(total * 100)
                and state.get("reference") == order.order_number
                and not state.get("refunds")
            ):
                charged += 1
        if (settings.mail_dir / f"receipt-{order.order_number}.eml").exists():
            receipts += 1
    if wrong_totals:
        problems.append(f"{len(wrong_totals)} orders with a wrong total: {wrong_totals[:3]}")
    if charged != len(orders):
        problems.append(
            f"gateway: {charged}/{len(orders)} payments succeeded once for the order's total"
        )
    if receipts != len(orders):
        problems.append(f"receipts: {receipts}/{len(orders)}")

    ok = not problems and len(orders) == len(buyers)
    print(f"  exactness ({label}): {'OK' if ok else 'FAILED'}")
    print(
        f"    orders {len(orders)} for {len(buyers)} buyers, by status {dict(statuses)}; "
        f"lines {expected_lines}; licenses {len(licenses)} (duplicates {len(duplicates)}, "
        f"missing {len(missing)}); sale entries {len(sales)} (duplicates "
        f"{len(double_booked)}, missing {len(unbooked)})"
    )
    print(
        f"    ledger gross/commission/net {booked_sums['gross']}/{booked_sums['commission']}/"
        f"{booked_sums['net']}, computed {expected['gross']}/{expected['commission']}/"
        f"{expected['net']}; gateway: {charged} payments succeeded once for the order's "
        f"total; receipts {receipts}"
    )
    for problem in problems:
        print(f"    PROBLEM: {problem}")
    sys.stdout.flush()
    return ok


# --- phases -----------------------------------------------------------------------------


async def temporal_card_phase(http, client, sessions, buyers, concurrency) -> Phase:
    began, meter = time.monotonic(), Meter()
    runs = await fire(http, buyers, GOOD, concurrency)
    problems = await await_workflows(client, runs, PHASE_TIMEOUT)
    ended, cpu = time.monotonic(), meter.read()
    stamps = await order_stamps(sessions, runs)
    await add_history(client, runs, stamps)
    return Phase(
        f"phase 1: {len(buyers)} checkouts, {concurrency} in flight at once, card {GOOD}, "
        "paid when the payment is created",
        runs,
        began,
        ended,
        problems,
        stamps,
        cpu,
    )


async def temporal_3ds_phase(http, client, sessions, buyers, concurrency) -> Phase:
    posted = time.monotonic()
    runs = await fire(http, buyers, NEEDS_3DS, concurrency)
    statuses = await await_payment_status(sessions, runs, PHASE_TIMEOUT)
    waiting = time.monotonic() - posted
    print(
        f"\n  (phase 2 set-up: {len(buyers)} checkouts with card {NEEDS_3DS} posted; "
        f"{waiting:.1f} s until none was still creating its payment: {dict(statuses)})"
    )
    began, meter = time.monotonic(), Meter()
    await confirm_all(http, runs, concurrency)
    problems = await await_workflows(client, runs, PHASE_TIMEOUT)
    ended, cpu = time.monotonic(), meter.read()
    stamps = await order_stamps(sessions, runs)
    await add_history(client, runs, stamps)
    return Phase(
        f"phase 2: {len(buyers)} 3-D Secure checkouts (card {NEEDS_3DS}) awaiting the buyer, "
        f"then {len(buyers)} POST /checkout/confirm, {concurrency} in flight at once",
        runs,
        began,
        ended,
        problems,
        stamps,
        cpu,
    )


async def direct_phase(http, recorder, steps, sessions, buyers, concurrency) -> Phase:
    gate = asyncio.Semaphore(concurrency)
    runs = [Checkout(buyer) for buyer in buyers]
    began, meter = time.monotonic(), Meter()
    await asyncio.wait_for(
        asyncio.gather(*(direct_checkout(http, recorder, steps, run, gate) for run in runs)),
        PHASE_TIMEOUT,
    )
    ended, cpu = time.monotonic(), meter.read()
    stamps = await order_stamps(sessions, runs)
    return Phase(
        f"baseline (direct): {len(buyers)} checkouts at once, card {GOOD}, same API with a "
        "recording Temporal client, then create_payment, mark_paid, fulfil, send_receipt "
        "called back to back in this process",
        runs,
        began,
        ended,
        [run.error for run in runs if run.error],
        stamps,
        cpu,
    )


@dataclass
class Bare:
    hops: list[float]
    trips: list[float]
    wall: float
    count: int
    cpu: str


async def bare_temporal(client, task_queue: str, count: int, concurrency: int) -> Bare:
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> tuple[float, list[float]]:
        async with gate:
            sent = time.time()
            handle = await client.start_workflow(
                "BenchNoopCheckout",
                NOOP_STEPS,
                id=f"bench-noop-{uuid.uuid4().hex}",
                task_queue=task_queue,
            )
        stamps = await handle.result()
        return time.time() - sent, stamps

    await one(0)  # warm-up
    began, meter = time.monotonic(), Meter()
    results = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(count))), PHASE_TIMEOUT)
    wall, cpu = time.monotonic() - began, meter.read()
    return Bare(
        hops=[stamps[2] - stamps[1] for _, stamps in results],
        trips=[trip for trip, _ in results],
        wall=wall,
        count=count,
        cpu=cpu,
    )


def report_ratios(one: Phase, two: Phase, direct: Phase, bare: Bare, core: CoreWarnings):
    print(f"\nbare Temporal: {bare.count} no-op workflows of {NOOP_STEPS} no-op activities at once")
    print(f"  {HEADER}")
    print(f"  {'step 2 done → step 3 started (the hop)':<44}{spread(bare.hops)}")
    print(f"  {'start → result':<44}{spread(bare.trips)}")
    print(f"  wall {bare.wall:.2f} s, {bare.count / bare.wall:.1f} workflows/s")
    print(f"  CPU meanwhile: {bare.cpu}")
    print(f"  Temporal core warnings: {core.take()}")

    def p(values: list[float], share: float) -> float:
        return percentile(values, share) if values else float("nan")

    direct_paid = direct.paid_to_licensed()
    print("\nratios (Temporal / direct baseline, same run, same timestamps):")
    for phase, name in ((one, "phase 1 (4242)"), (two, "phase 2 (3DS)")):
        paid = phase.paid_to_licensed()
        for share, label in ((0.5, "p50"), (0.95, "p95")):
            ours, base = p(paid, share), p(direct_paid, share)
            print(
                f"  {name} paid_at → licensed {label}: {ours * 1000:.0f} ms vs "
                f"{base * 1000:.0f} ms = {ours / base:.1f}x"
            )
    print(
        f"  phase 1 throughput: {one.throughput:.1f} vs {direct.throughput:.1f} checkouts/s "
        f"= {one.throughput / direct.throughput:.2f}x; wall {one.wall:.2f} s vs "
        f"{direct.wall:.2f} s"
    )
    hop = p(bare.hops, 0.5)
    print(
        f"  bare Temporal hop p50 {hop * 1000:.0f} ms: of phase 1's paid_at → licensed p50 "
        f"{p(one.paid_to_licensed(), 0.5) * 1000:.0f} ms, that much is the activity → "
        "activity hop itself under this load"
    )
    print(
        "  (direct runs the same steps without the workflow: its paid_at → licensed is the\n"
        "   time between mark_paid's commit and fulfil's transaction in one coroutine, so the\n"
        "   ratio is what the hop through Temporal (report, workflow task, dispatch) adds;\n"
        "   the bare hop is Temporal's floor for that hop at this concurrency)"
    )


# --- main -------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkouts", type=int, default=CHECKOUTS, help="per phase (200)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="requests in flight at once (default: all of a phase's checkouts)",
    )
    return parser.parse_args()


async def main(args: argparse.Namespace) -> bool:
    count = args.checkouts
    concurrency = args.concurrency or count
    failures = FailedAttempts()
    core = CoreWarnings()
    temporal_log = logging.getLogger("temporalio")
    temporal_log.addHandler(failures)
    temporal_log.propagate = False
    with tempfile.TemporaryDirectory() as workdir:
        server, url = embedded.start_postgres(Path(workdir))
        pid_file = Path(workdir) / "postgres" / "postmaster.pid"
        Meter.postmaster = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
        env = None
        try:
            upgrade(url)
            settings = Settings(
                data_dir=Path(workdir) / "data",
                jwt_secret=BENCH_SECRET,
                temporal_task_queue=f"bench-{uuid.uuid4().hex}",
            )
            api_engine = make_engine(url, settings.database_pool_size)
            worker_engine = make_engine(url, settings.database_pool_size)
            worker_sessions = make_sessionmaker(worker_engine)
            seeded = time.perf_counter()
            catalogue, (warm, card_buyers, secure_buyers, direct_buyers) = await seed(
                worker_sessions, settings, [2, count, count, count]
            )
            lines = sum(len(b.module_ids) for b in card_buyers)
            print(
                f"seeded {PUBLISHERS} publishers x {MODULES_PER_PUBLISHER} paid modules, "
                f"{3 * count + 2} buyers with one or two modules of different publishers "
                f"(phase 1: {lines} lines) in {time.perf_counter() - seeded:.1f} s; "
                f"tax {TAX_RATE} %"
            )
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=embedded.venv_executable("temporal"),
                ui=False,
                data_converter=pydantic_data_converter,
                dev_server_log_level="error",
                runtime=temporal_runtime(core),
            )
            recorder = RecordingClient()
            steps = {
                fn.__name__: fn
                for fn in build_activities(
                    build_adapters(settings, worker_sessions), worker_sessions
                )
            }
            real_app = create_app(settings, api_engine, TemporalConnector.of(env.client))
            bare_app = create_app(settings, api_engine, TemporalConnector.of(recorder))
            noop_queue = f"bench-noop-{uuid.uuid4().hex}"
            # Run with -m, this file is __main__; the worker takes the no-op definitions
            # from bench.checkout, the module the sandbox passes through.
            noop = importlib.import_module("bench.checkout")
            async with (
                build_worker(env.client, settings, worker_sessions),
                Worker(
                    env.client,
                    task_queue=noop_queue,
                    workflows=[noop.NoopCheckout],
                    activities=[noop.noop_step],
                    # bench is passed through: the sandbox would otherwise re-import this
                    # module, and the whole app with it, for every run
                    workflow_runner=SandboxedWorkflowRunner(
                        restrictions=SandboxRestrictions.default.with_passthrough_modules("bench")
                    ),
                ),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=real_app),
                    base_url="http://bench",
                    timeout=PHASE_TIMEOUT,
                ) as real,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=bare_app),
                    base_url="http://bench",
                    timeout=PHASE_TIMEOUT,
                ) as bare,
            ):
                # warm-up, not counted: one checkout each way
                warm_runs = await fire(real, warm[:1], GOOD, 1)
                warm_problems = await await_workflows(env.client, warm_runs, 60)
                await direct_checkout(bare, recorder, steps, Checkout(warm[1]), asyncio.Lock())
                if warm_problems or warm_runs[0].error:
                    print(f"warm-up checkout failed: {warm_problems or warm_runs[0].error}")
                report_failures(failures.take())

                direct = await direct_phase(
                    bare, recorder, steps, worker_sessions, direct_buyers, concurrency
                )
                report_phase(direct, core)
                ok_direct = await verify(
                    worker_sessions, settings, "baseline", direct.runs, catalogue
                )

                one = await temporal_card_phase(
                    real, env.client, worker_sessions, card_buyers, concurrency
                )
                report_phase(one, core, gateway_step="checkout.create_payment")
                ok_one = await verify(worker_sessions, settings, "phase 1", one.runs, catalogue)
                report_failures(failures.take())

                two = await temporal_3ds_phase(
                    real, env.client, worker_sessions, secure_buyers, concurrency
                )
                report_phase(two, core, confirm=True, gateway_step="checkout.confirm_payment")
                ok_two = await verify(worker_sessions, settings, "phase 2", two.runs, catalogue)
                report_failures(failures.take())

                floor = await bare_temporal(env.client, noop_queue, count, concurrency)
                report_ratios(one, two, direct, floor, core)
            await api_engine.dispose()
            await worker_engine.dispose()
        finally:
            if env is not None:
                await env.shutdown()
            server.cleanup()
    ok = ok_direct and ok_one and ok_two
    print(
        f"\nall licensed exactly once: {'yes' if ok else 'NO'} "
        f"(baseline {ok_direct}, phase 1 {ok_one}, phase 2 {ok_two})"
    )
    return ok


if __name__ == "__main__":
    passed = asyncio.run(main(parse_args()))
    sys.stdout.flush()
    os._exit(0 if passed else 1)  # the temporalio bridge can abort at exit (sdk-python #300)
