"""The admin review queue with many modules: one page of the oldest pending modules.

Baseline: `/health` through the same ASGI stack, so the ratio shows what the query and
serialisation cost over the framework's own overhead.
"""

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

from api.app import create_app
from cli import embedded
from domain.access import Role
from integrations.temporal.front_door import TemporalConnector
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade
from models.module import MarketplaceModule
from models.publisher import Publisher
from models.user import User
from services.credentials import issue_access_token
from settings import Settings

MODULES = 20_000
PENDING_SHARE = 4
ROUNDS = 200
BENCH_SECRET = "bench-only-secret-" + "x" * 32


async def seed(sessions) -> int:
    async with sessions.begin() as session:
        admin = User(email="admin@bench.local", password_hash="x", role=Role.ADMIN)
        owner = User(email="pub@bench.local", password_hash="x", role=Role.PUBLISHER)
        session.add_all([admin, owner])
        await session.flush()
        publisher = Publisher(user_id=owner.id, display_name="Bench", slug="bench")
        session.add(publisher)
        await session.flush()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        rows = [
            {
                "publisher_id": publisher.id,
                "technical_name": f"mod_{i}",
                "slug": f"mod-{i}",
                "display_name": f"Module {i}",
                "short_description": "bench",
                "status": "pending" if i % PENDING_SHARE == 0 else "published",
                "submitted_at": start + timedelta(minutes=i),
            }
            for i in range(MODULES)
        ]
        await session.execute(insert(MarketplaceModule), rows)
        return admin.id


async def timed(http: httpx.AsyncClient, url: str, headers: dict) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        response = await http.get(url, headers=headers)
        samples.append(time.perf_counter() - began)
        response.raise_for_status()
    return samples


async def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        server, url = embedded.start_postgres(Path(workdir))
        upgrade(url)
        settings = Settings(data_dir=Path(workdir), jwt_secret=BENCH_SECRET)
        engine = make_engine(url)
        admin_id = await seed(make_sessionmaker(engine))
        token, _ = issue_access_token(
            admin_id,
            token_version=0,  # a fresh account's
            secret=BENCH_SECRET,
            issuer=settings.jwt_issuer,
            ttl=timedelta(hours=1),
        )
        headers = {"Authorization": f"Bearer {token}"}
        app = create_app(settings, engine, TemporalConnector(lambda: asyncio.sleep(0)))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            await timed(http, "/health", {})
            baseline = statistics.median(await timed(http, "/health", {}))
            queue = statistics.median(
                await timed(http, "/api/v1/admin/marketplace/pending?limit=50", headers)
            )
        await engine.dispose()
        server.cleanup()
    print(f"modules: {MODULES}, pending: {MODULES // PENDING_SHARE}, rounds: {ROUNDS}")
    print(f"baseline /health median: {baseline * 1000:.2f} ms")
    print(f"pending queue page median: {queue * 1000:.2f} ms")
    print(f"ratio to baseline: {queue / baseline:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
