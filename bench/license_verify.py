"""License verify under sustained load: ``POST /api/v1/marketplace/licenses/{key}/verify``.

What installed FastVue instances call: with 10,000 licenses seeded, 500 of them activated
for their instance, concurrent connections verify the activated keys one after another, so
every request takes the real VALID path (three lookups, the Ed25519-signed answer, the
activation's ``last_check`` written and committed).

The API runs with uvicorn (uvloop, httptools, one process, as ``marketplace api`` runs it
but without the access log) in a child process; the load comes from this process, over
keep-alive HTTP/1.1 connections with a minimal asyncio client, so the load generator costs
little CPU and is never the server's own event loop.

Baseline: a bare endpoint mounted on the same app instance, ``GET /bench/baseline/{hash}``,
doing one indexed lookup (``SELECT id FROM marketplace_licenses WHERE license_key = :h``)
in a session from the same dependency (``SessionDep``, one committed transaction) and
answering a small JSON; the same connections, concurrency and keys. The two are measured in
alternating slices (verify, baseline, baseline, verify) so drift hits both alike. The ratio
of throughputs is what the verify path costs over the framework, the pool and one query.

The rate limits are raised through settings (per second, so the limiter's moving windows
stay as short as in production) and the limiter still runs on every verify.
"""

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import random
import socket
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import psycopg
import uvloop
from sqlalchemy import func, insert, select, text

from cli import embedded
from domain.access import Role
from domain.licensing import license_key_hash, new_license_key
from integrations.license_vault import LicenseVault
from integrations.wiring import license_key_secret
from models.commerce import License, LicenseActivation
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade
from models.module import MarketplaceModule
from models.publisher import Publisher
from models.user import User
from settings import Settings

LICENSES = 10_000
ACTIVATED = 500
BUYERS = 200
MODULES = 50
BATCH = 2_000
WARM_UP = 1.0
"""Seconds of load before each measured slice, not counted."""
SLICES = ("verify", "baseline", "baseline", "verify")
TARGET = 0.8
BENCH_SECRET = "bench-only-secret-" + "x" * 32
UNLIMITED = "1000000/second"
BASE = "/api/v1/marketplace/licenses"
BASELINE = "/bench/baseline"


def bench_settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        jwt_secret=BENCH_SECRET,
        verify_rate_per_key=UNLIMITED,
        verify_rate_per_client=UNLIMITED,
    )


# --- seeding ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    key: str
    key_hash: str
    instance_id: str
    domain: str


async def seed(url: str, settings: Settings, licenses: int, activated: int) -> list[Seat]:
    """Licenses as checkout issues them (hash and vault ciphertext); the first ``activated``
    hold one seat each, activated a day ago for their instance."""
    rng = random.Random(20260101)
    vault = LicenseVault(license_key_secret(settings))
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    seats: list[Seat] = []
    async with sessions.begin() as session:
        owner = User(email="pub@bench.local", password_hash="x", role=Role.PUBLISHER)
        session.add(owner)
        await session.flush()
        publisher = Publisher(user_id=owner.id, display_name="Bench", slug="bench")
        session.add(publisher)
        await session.flush()
        module_ids = list(
            await session.scalars(
                insert(MarketplaceModule).returning(
                    MarketplaceModule.id, sort_by_parameter_order=True
                ),
                [
                    {
                        "publisher_id": publisher.id,
                        "technical_name": f"bench_module_{m}",
                        "slug": f"bench-module-{m}",
                        "display_name": f"Bench Module {m}",
                        "short_description": "bench",
                        "status": "published",
                        "license_type": "paid",
                    }
                    for m in range(MODULES)
                ],
            )
        )
        buyer_ids = list(
            await session.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [
                    {"email": f"buyer{b}@bench.local", "password_hash": "x", "role": Role.CONSUMER}
                    for b in range(BUYERS)
                ],
            )
        )
        for start in range(0, licenses, BATCH):
            keys = [new_license_key() for _ in range(start, min(start + BATCH, licenses))]
            rows = []
            for i, key in enumerate(keys, start):
                digest = license_key_hash(key)
                rows.append(
                    {
                        "license_key": digest,
                        "key_ciphertext": vault.seal(key, bound_to=digest),
                        "key_last": key[-5:],
                        "user_id": rng.choice(buyer_ids),
                        "module_id": rng.choice(module_ids),
                        "license_type": "subscription" if i % 4 == 0 else "purchase",
                        "status": "active",
                        "purchased_at": now - timedelta(days=30),
                        "activated_at": now - timedelta(days=1) if i < activated else None,
                        "expires_at": now + timedelta(days=365) if i % 4 == 0 else None,
                        "max_instances": 1,
                        "instance_domains": [],
                    }
                )
            ids = list(
                await session.scalars(
                    insert(License).returning(License.id, sort_by_parameter_order=True), rows
                )
            )
            activations = []
            for i, (license_id, key) in enumerate(zip(ids, keys, strict=True), start):
                if i >= activated:
                    break
                seat = Seat(key, license_key_hash(key), f"inst-{i:05d}", f"shop{i}.bench.test")
                seats.append(seat)
                activations.append(
                    {
                        "license_id": license_id,
                        "instance_id": seat.instance_id,
                        "domain": seat.domain,
                        "ip_address": "127.0.0.1",
                        "activated_at": now - timedelta(days=1),
                        "last_check": now - timedelta(days=1),
                        "status": "active",
                    }
                )
            if activations:
                await session.execute(insert(LicenseActivation), activations)
    async with engine.connect() as connection:  # what autovacuum would have done by now
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("ANALYZE"))
    await engine.dispose()
    return seats


async def checked_since(url: str, since: datetime) -> int:
    """Activations whose ``last_check`` the verify requests wrote."""
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session:
        count = await session.scalar(
            select(func.count()).where(LicenseActivation.last_check >= since)
        )
    await engine.dispose()
    return count or 0


# --- the server (a child process) -------------------------------------------------------


def serve(url: str, data_dir: str, port: int) -> None:
    """Runs in the child process: the app of ``marketplace api`` plus the baseline route."""
    import uvicorn
    from fastapi import Path as PathParam

    from api.app import create_app
    from api.deps import SessionDep
    from integrations.temporal.front_door import TemporalConnector

    settings = bench_settings(Path(data_dir))
    app = create_app(
        settings,
        make_engine(url, settings.database_pool_size),
        TemporalConnector(lambda: asyncio.sleep(0)),
    )
    lookup = text("SELECT id FROM marketplace_licenses WHERE license_key = :h")

    @app.get(BASELINE + "/{key_hash}", include_in_schema=False)
    async def baseline(
        key_hash: Annotated[str, PathParam(min_length=64, max_length=64)], session: SessionDep
    ) -> dict:
        found = (await session.execute(lookup, {"h": key_hash})).scalar_one_or_none()
        return {"id": found}

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(process: multiprocessing.Process, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise RuntimeError(f"the API process exited with {process.exitcode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"the API does not listen on {port} after {timeout:.0f} s")


# --- the load (this process) ------------------------------------------------------------


class Target:
    """Builds the raw HTTP/1.1 requests of one endpoint, key after key, and checks its
    answers."""

    def __init__(self, seats: list[Seat]) -> None:
        self.order = itertools.cycle(random.Random(7).sample(seats, len(seats)))
        self.counter = itertools.count()

    def request(self) -> bytes:
        raise NotImplementedError

    def accept(self, status: int, body: bytes) -> bool:
        raise NotImplementedError


class Verify(Target):
    def request(self) -> bytes:
        seat = next(self.order)
        body = json.dumps(
            {
                "instance_id": seat.instance_id,
                "domain": seat.domain,
                "nonce": f"bench-nonce-{next(self.counter):016d}",
            }
        ).encode()
        return (
            f"POST {BASE}/{seat.key}/verify HTTP/1.1\r\nHost: bench\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    def accept(self, status: int, body: bytes) -> bool:
        return status == 200 and json.loads(body)["answer"]["code"] == "VALID"


class Baseline(Target):
    def request(self) -> bytes:
        seat = next(self.order)
        return f"GET {BASELINE}/{seat.key_hash} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()

    def accept(self, status: int, body: bytes) -> bool:
        return status == 200 and json.loads(body)["id"] is not None


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    first_error: str | None = None
    cpu: Counter[str] = field(default_factory=Counter)
    """CPU seconds in the measured windows: api, postgres, load, machine (all cores); and
    how many Postgres sessions were opened meanwhile (new pool connections)."""

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, share: float) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[
            round(share * 100) - 1
        ]


async def exchange(reader, writer, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line[15:])
            break
    return status, await reader.readexactly(length)


async def connection(port: int, target: Target, stop: list[float], sink: Figures) -> None:
    """One keep-alive connection sending requests back to back until ``stop[0]``; records
    the requests answered after ``stop[1]`` (the end of the warm-up)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (began := time.perf_counter()) < stop[0]:
            status, body = await exchange(reader, writer, target.request())
            ended = time.perf_counter()
            if ended < stop[1]:
                continue
            elapsed = ended - began
            if target.accept(status, body):
                sink.latencies.append(elapsed)
            else:
                sink.errors += 1
                sink.first_error = sink.first_error or f"{status} {body[:200]!r}"
    finally:
        writer.close()


def stat_fields(pid: int | str) -> list[str]:
    """``/proc/<pid>/stat`` after the command name: state, ppid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds so far of ``root`` and of each of its children (the postmaster and its
    backends), by pid."""
    found = {root: process_cpu(root)}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = stat_fields(entry.name)
            if int(fields[1]) == root:
                found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf(
                    "SC_CLK_TCK"
                )
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # gone meanwhile
    return found


def machine_busy() -> float:
    """CPU seconds all cores spent busy (not idle, not waiting for I/O) so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Meters:
    api: int
    postmaster: int
    stats: psycopg.Connection
    """Autocommit, to read ``pg_stat_database``."""

    def read(self) -> tuple[Counter[str], dict[int, float]]:
        counters = Counter(api=process_cpu(self.api), load=time.process_time())
        counters["machine"] = machine_busy()
        counters["sessions"] = self.stats.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]
        return counters, tree_cpu(self.postmaster)

    def since(self, before: tuple[Counter[str], dict[int, float]]) -> Counter[str]:
        """CPU seconds and sessions opened since ``before``. A Postgres process that exited
        meanwhile is missed (the pool keeps most connections); sessions are counted as
        Postgres reports them, within about a second."""
        spent, backends = self.read()
        spent.subtract(before[0])
        spent["postgres"] = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in backends.items())
        return spent


async def run_slice(
    port: int, meters: Meters, target: Target, concurrency: int, seconds: float, sink: Figures
) -> None:
    start = time.perf_counter()
    stop = [start + WARM_UP + seconds, start + WARM_UP]
    workers = [
        asyncio.create_task(connection(port, target, stop, sink)) for _ in range(concurrency)
    ]
    await asyncio.sleep(max(0.0, stop[1] - time.perf_counter()))
    before, began = meters.read(), time.perf_counter()
    await asyncio.gather(*workers)
    # the window: from the end of the warm-up until the last request was answered
    sink.seconds += time.perf_counter() - began
    sink.cpu.update(meters.since(before))


async def load(port: int, meters: Meters, seats: list[Seat], args) -> dict[str, Figures]:
    targets = {"verify": Verify(seats), "baseline": Baseline(seats)}
    figures = {name: Figures() for name in targets}
    for name in SLICES:
        await run_slice(
            port,
            meters,
            targets[name],
            args.concurrency,
            args.duration / SLICES.count(name),
            figures[name],
        )
    return figures


# --- report -----------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def report(figures: dict[str, Figures], args, seeded: float, touched: int) -> None:
    print(
        f"licenses: {args.licenses} ({args.activated} activated, one seat each), "
        f"seeded in {seeded:.1f} s; {os.cpu_count()} cores"
    )
    print(
        f"load: {args.concurrency} keep-alive connections from a separate process, "
        f"{args.duration:g} s measured per endpoint in slices {'/'.join(SLICES)} "
        f"(each after {WARM_UP:g} s warm-up)"
    )
    print()
    print(
        f"{'':<10}{'requests':>9}{'req/s':>8}{'p50':>11}{'p99':>11}{'errors':>7}"
        f"{'API cpu/req':>12}{'new conns':>10}   cores: API Postgres load other"
    )
    other = 0.0
    for name in ("verify", "baseline"):
        f = figures[name]
        cpu = f.cpu
        rest = cpu["machine"] - cpu["api"] - cpu["postgres"] - cpu["load"]
        other = max(other, rest / f.seconds)
        print(
            f"{name:<10}{len(f.latencies):>9}{f.throughput:>8.0f}{ms(f.percentile(0.5)):>11}"
            f"{ms(f.percentile(0.99)):>11}{f.errors:>7}{ms(cpu['api'] / len(f.latencies)):>12}"
            f"{cpu['sessions']:>10}{'':>10}{cpu['api'] / f.seconds:>4.2f}"
            f"{cpu['postgres'] / f.seconds:>9.2f}{cpu['load'] / f.seconds:>5.2f}"
            f"{rest / f.seconds:>6.2f}"
        )
    print(
        "(API cpu/req: CPU time of the API process per answer; new conns: Postgres sessions"
        " opened,\n i.e. pool connections (re)opened; cores: CPU used per second of load by the"
        " API process,\n Postgres, the load generator and everything else on the machine)"
    )
    if other > 0.25:
        print(
            f"note: other processes kept up to {other:.2f} cores busy meanwhile: the machine"
            " was not quiet,\n so throughput and latency are noisy (API cpu/req less so)"
        )
    for name, f in figures.items():
        if f.first_error:
            print(f"  {name}: first unexpected answer: {f.first_error}")
    print(f"activations whose last_check the run wrote: {touched}/{args.activated}")
    verify, baseline = figures["verify"], figures["baseline"]
    ratio = verify.throughput / baseline.throughput
    per_request = (baseline.cpu["api"] / len(baseline.latencies)) / (
        verify.cpu["api"] / len(verify.latencies)
    )
    print()
    print(
        f"API CPU per request, baseline / verify: {per_request:.2f} "
        "(the throughput ratio if the API process alone limited both)"
    )
    verdict = "PASS" if ratio >= TARGET else "BELOW TARGET"
    print(f"ratio verify / baseline throughput: {ratio:.2f} (target at least {TARGET}): {verdict}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds measured per endpoint"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="connections at once")
    parser.add_argument("--licenses", type=int, default=LICENSES, help="licenses seeded")
    parser.add_argument(
        "--activated", type=int, default=ACTIVATED, help="licenses activated and verified"
    )
    args = parser.parse_args()
    args.activated = min(args.activated, args.licenses)
    if args.activated < 1:
        parser.error("at least one license must be activated")
    return args


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        server, url = embedded.start_postgres(Path(workdir))
        api = None
        try:
            upgrade(url)
            settings = bench_settings(Path(workdir))
            began = time.perf_counter()
            seats = asyncio.run(seed(url, settings, args.licenses, args.activated))
            seeded = time.perf_counter() - began
            port = free_port()
            api = multiprocessing.get_context("spawn").Process(
                target=serve, args=(url, workdir, port), name="bench-api"
            )
            api.start()
            wait_until_listening(api, port, timeout=60)
            load_began = datetime.now(UTC)
            postmaster = int((Path(workdir) / "postgres" / "postmaster.pid").read_text().split()[0])
            with (
                psycopg.connect(url, autocommit=True) as stats,
                asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
            ):
                figures = runner.run(load(port, Meters(api.pid, postmaster, stats), seats, args))
            touched = asyncio.run(checked_since(url, load_began))
        finally:
            if api is not None and api.is_alive():
                api.terminate()
                api.join(timeout=10)
            server.cleanup()
    report(figures, args, seeded, touched)


if __name__ == "__main__":
    main()
