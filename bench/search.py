"""Catalogue search over 10,000 listed modules: ``GET /api/v1/marketplace/search``.

Baseline: the search itself (``models.repositories.search.search_modules``, what the
Postgres backend runs: a facet count and a ranked page) on a session from the same
sessionmaker, so the ratio shows what the endpoint adds around the query (loading and
serialising the page of modules, the framework, resolving a category's subtree).
"""

import asyncio
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import insert, text

from api.app import create_app
from cli import embedded
from domain.access import Role
from integrations.temporal.front_door import TemporalConnector
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade
from models.module import MarketplaceCategory, MarketplaceModule
from models.publisher import Publisher
from models.repositories import discovery
from models.repositories.search import search_modules
from models.user import User
from settings import Settings

MODULES = 10_000
PUBLISHERS = 200
BATCH = 1_000
ROUNDS = 20
PAGE = 20
BENCH_SECRET = "bench-only-secret-" + "x" * 32

# --- a catalogue that reads like one ----------------------------------------------------

CATEGORIES: dict[str, dict[str, list[str]]] = {
    "sales": {
        "crm": ["crm", "lead", "contact", "deal", "pipeline", "customer", "opportunity"],
        "ecommerce": ["shop", "cart", "checkout", "product", "catalog", "order", "coupon"],
    },
    "finance": {
        "accounting": ["invoice", "ledger", "tax", "expense", "budget", "accounting", "vat"],
        "payments": ["payment", "subscription", "refund", "billing", "wallet", "payout"],
    },
    "operations": {
        "inventory": ["inventory", "stock", "warehouse", "barcode", "supplier", "purchase"],
        "shipping": ["shipping", "parcel", "label", "carrier", "delivery", "tracking"],
    },
    "human-resources": {
        "payroll": ["payroll", "salary", "payslip", "timesheet", "overtime", "bonus"],
        "recruiting": ["candidate", "interview", "applicant", "job", "onboarding", "offer"],
    },
    "marketing": {
        "email-marketing": ["newsletter", "campaign", "email", "audience", "template"],
        "seo": ["seo", "sitemap", "keyword", "ranking", "backlink", "metadata"],
    },
    "productivity": {
        "calendar": ["calendar", "booking", "appointment", "schedule", "reminder", "meeting"],
        "documents": ["document", "pdf", "signature", "spreadsheet", "note", "wiki"],
    },
    "analytics": {
        "reporting": ["report", "export", "chart", "kpi", "metric", "forecast"],
        "dashboards": ["dashboard", "widget", "gauge", "scorecard", "monitor", "insight"],
    },
    "support": {
        "helpdesk": ["ticket", "helpdesk", "sla", "support", "chat", "feedback"],
    },
    "developer-tools": {
        "integrations": ["webhook", "api", "connector", "sync", "import", "etl"],
        "security": ["auth", "sso", "audit", "permission", "encryption", "backup"],
    },
}
BRANDS = [
    "Stripe", "PayPal", "Shopify", "Slack", "Google Calendar", "Mailchimp", "QuickBooks",
    "Xero", "DHL", "FedEx", "Zendesk", "Twilio", "GitHub", "Jira", "HubSpot", "Salesforce",
    "OpenAI", "WooCommerce", "Outlook", "Dropbox", "Notion", "Trello", "Zoom", "Amazon S3",
]  # fmt: skip
PREFIXES = [
    "Smart", "Quick", "Advanced", "Simple", "Pro", "Auto", "Cloud", "Easy", "Ultimate",
    "Open", "Rapid", "Flex", "Prime", "Bright", "Clear", "Total",
]  # fmt: skip
SUFFIXES = [
    "Manager", "Sync", "Tracker", "Toolkit", "Connector", "Dashboard", "Suite", "Assistant",
    "Builder", "Reports", "Hub", "Importer", "Exporter", "Automation", "Center", "Studio",
]  # fmt: skip
GENERIC_TAGS = [
    "automation", "reports", "sync", "export", "import", "pdf", "csv", "multi-currency",
    "ai", "mobile", "api", "widget", "dashboard", "notifications", "multi-company",
]  # fmt: skip
VERBS = ["Track", "Automate", "Manage", "Sync", "Export", "Analyse", "Organise", "Streamline"]
BENEFITS = [
    "in real time", "without spreadsheets", "across every company", "with one click",
    "for growing teams", "with audit trails", "on any device", "with AI suggestions",
]  # fmt: skip
SENTENCES = [
    "Keeps every {a} linked to its {b} so nothing is entered twice.",
    "Teams can {verb} {a}s from a single screen and share the results with managers.",
    "Ships with ready-made {b} templates, role-based permissions and a REST API.",
    "Connects to {brand} and brings each {a} into FastVue within seconds.",
    "Scheduled jobs {verb} {b}s overnight and email a summary every morning.",
    "Includes filters, saved views and CSV or PDF export for every {a} list.",
    "Built for accountants, operations leads and administrators who need clean {b} data.",
    "Multi-company and multi-currency aware; translated into twelve languages.",
    "A dashboard widget shows open {a}s, overdue {b}s and trends at a glance.",
    "Webhooks notify other systems whenever a {a} changes state.",
]
LICENSES = [("free", 50), ("paid", 25), ("subscription", 15), ("trial", 10)]

# Twenty-odd searches buyers type: whole words, several words, brands, and prefixes of
# words being typed (each word also matches as a prefix). (q, category, license_type).
QUERIES: list[tuple[str, str | None, str | None]] = [
    ("invoice", None, None),
    ("inventory management", None, None),
    ("stripe payments", None, None),
    ("email marketing automation", None, None),
    ("dashboard", None, None),
    ("crm", None, None),
    ("shopify sync", None, None),
    ("payroll timesheet", None, None),
    ("pdf export", None, None),
    ("calendar booking", None, None),
    ("barcode scanner", None, None),
    ("multi currency accounting", None, None),
    ("helpdesk ticket", None, None),
    ("quickbooks", None, None),
    ("inv", None, None),
    ("pay", None, None),
    ("dash", None, None),
    ("ship lab", None, None),
    ("auto", None, None),
    ("a", None, None),
    ("invoice", None, "free"),
    ("lead", "sales", None),
]


def words(rng: random.Random, pool: list[str], low: int, high: int) -> list[str]:
    return rng.sample(pool, rng.randint(low, high))


def slug_of(text_: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text_.lower()).strip("-")


def module_row(rng: random.Random, i: int, publisher_id: int, leaf: tuple[str, int, list[str]]):
    category_slug, category_id, topics = leaf
    noun = rng.choice(topics)
    brand = rng.choice(BRANDS) if rng.random() < 0.3 else None
    parts = [rng.choice(PREFIXES), noun.capitalize(), rng.choice(SUFFIXES)]
    if brand:
        parts.insert(1, brand)
    name = " ".join(parts)
    other = rng.choice(topics)
    summary = (
        f"{rng.choice(VERBS)} {noun}s and {other}s"
        f"{f' with {brand}' if brand else ''} {rng.choice(BENEFITS)}."
    )
    description = " ".join(
        sentence.format(
            a=rng.choice(topics),
            b=rng.choice(topics),
            verb=rng.choice(VERBS).lower(),
            brand=brand or rng.choice(BRANDS),
        )
        for sentence in rng.sample(SENTENCES, rng.randint(3, 8))
    )
    license_type = rng.choices([n for n, _ in LICENSES], [w for _, w in LICENSES])[0]
    price = None if license_type == "free" else Decimal(rng.randint(5, 299))
    return {
        "publisher_id": publisher_id,
        "technical_name": f"{slug_of(name).replace('-', '_')}_{i}"[:100],
        "slug": f"{slug_of(name)}-{i}",
        "display_name": name,
        "short_description": summary,
        "description": description,
        "category_id": category_id,
        "license_type": license_type,
        "price": price,
        "subscription_period": (
            rng.choice(["monthly", "yearly"]) if license_type == "subscription" else None
        ),
        "trial_days": rng.choice([7, 14, 30]) if license_type == "trial" else None,
        "tags": words(rng, [*topics, *GENERIC_TAGS], 2, 5),
        "keywords": words(rng, [*topics, category_slug, *(b.lower() for b in BRANDS)], 2, 6),
        "status": "published",
        "visibility": "public",
        "reviewed_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
        "download_count": int(rng.paretovariate(1.2) * 10),
        "rating_average": Decimal(rng.randint(250, 500)) / 100 if rng.random() < 0.6 else None,
        "rating_count": rng.randint(0, 400),
    }


async def seed(engine) -> None:
    rng = random.Random(20260101)
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        leaves: list[tuple[str, int, list[str]]] = []
        for order, (parent_slug, children) in enumerate(CATEGORIES.items()):
            parent = MarketplaceCategory(
                name=parent_slug.replace("-", " ").title(), slug=parent_slug, order=order
            )
            session.add(parent)
            await session.flush()
            for child_slug, topics in children.items():
                child = MarketplaceCategory(
                    name=child_slug.replace("-", " ").title(), slug=child_slug, parent_id=parent.id
                )
                session.add(child)
                await session.flush()
                leaves.append((child_slug, child.id, topics))
        publisher_ids = []
        for p in range(PUBLISHERS):
            owner = User(email=f"pub{p}@bench.local", password_hash="x", role=Role.PUBLISHER)
            session.add(owner)
            await session.flush()
            publisher = Publisher(
                user_id=owner.id,
                display_name=f"Studio {p}",
                slug=f"studio-{p}",
                verified=p % 3 == 0,
            )
            session.add(publisher)
            await session.flush()
            publisher_ids.append(publisher.id)
        for start in range(0, MODULES, BATCH):
            rows = [
                module_row(rng, i, rng.choice(publisher_ids), rng.choice(leaves))
                for i in range(start, min(start + BATCH, MODULES))
            ]
            await session.execute(insert(MarketplaceModule), rows)
    async with engine.connect() as connection:  # what autovacuum would have done by now
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("ANALYZE"))


# --- measuring --------------------------------------------------------------------------


@dataclass
class Case:
    q: str
    category: str | None
    license_type: str | None
    category_slugs: list[str] | None = None
    total: int = 0

    @property
    def label(self) -> str:
        extra = [
            f"{k}={v}"
            for k, v in (("category", self.category), ("license", self.license_type))
            if v
        ]
        return " ".join([repr(self.q), *extra])

    @property
    def params(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {"q": self.q, "limit": PAGE}
        if self.category:
            params["category"] = self.category
        if self.license_type:
            params["license_type"] = self.license_type
        return params


async def through_api(http: httpx.AsyncClient, case: Case) -> float:
    began = time.perf_counter()
    response = await http.get("/api/v1/marketplace/search", params=case.params)
    elapsed = time.perf_counter() - began
    response.raise_for_status()
    case.total = response.json()["total"]
    return elapsed


async def directly(sessions, case: Case) -> float:
    began = time.perf_counter()
    async with sessions() as session:
        found = await search_modules(
            session,
            case.q,
            category_slugs=case.category_slugs,
            license_type=case.license_type,
            limit=PAGE,
            offset=0,
        )
    elapsed = time.perf_counter() - began
    assert found.total == case.total, (case.label, found.total, case.total)
    return elapsed


def percentile(samples: list[float], share: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[round(share * 100) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


async def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        server, url = embedded.start_postgres(Path(workdir))
        try:
            upgrade(url)
            settings = Settings(data_dir=Path(workdir), jwt_secret=BENCH_SECRET)
            engine = make_engine(url)
            began = time.perf_counter()
            await seed(engine)
            seeded = time.perf_counter() - began
            sessions = make_sessionmaker(engine)
            cases = [Case(q, category, license_type) for q, category, license_type in QUERIES]
            async with sessions() as session:
                for case in cases:
                    if case.category is not None:
                        case.category_slugs = await discovery.category_subtree_slugs(
                            session, case.category
                        )
            app = create_app(settings, engine, TemporalConnector(lambda: asyncio.sleep(0)))
            transport = httpx.ASGITransport(app=app)
            api: dict[str, list[float]] = {case.label: [] for case in cases}
            sql: dict[str, list[float]] = {case.label: [] for case in cases}
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                for case in cases:  # warm-up: first-request setup, caches, plans
                    await through_api(http, case)
                    await directly(sessions, case)
                for _ in range(ROUNDS):  # interleaved, so drift hits both alike
                    for case in cases:
                        api[case.label].append(await through_api(http, case))
                        sql[case.label].append(await directly(sessions, case))
            await engine.dispose()
        finally:
            server.cleanup()

    print(
        f"modules: {MODULES} (published, public), publishers: {PUBLISHERS}, "
        f"queries: {len(cases)}, rounds: {ROUNDS}, page: {PAGE}, seeded in {seeded:.1f} s"
    )
    print()
    width = max(len(case.label) for case in cases)
    print(f"{'query':<{width}}  {'matches':>7}  {'API p50':>10}  {'SQL p50':>10}  ratio")
    for case in cases:
        a, s = statistics.median(api[case.label]), statistics.median(sql[case.label])
        print(f"{case.label:<{width}}  {case.total:>7}  {ms(a)}  {ms(s)}  {a / s:4.1f}x")
    every_api = [t for samples in api.values() for t in samples]
    every_sql = [t for samples in sql.values() for t in samples]
    print()
    print(f"all queries ({len(every_api)} samples each)")
    for name, share in (("p50", 0.50), ("p95", 0.95)):
        a, s = percentile(every_api, share), percentile(every_sql, share)
        print(f"  {name}: API {ms(a)}   SQL (search_modules) {ms(s)}   ratio {a / s:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
