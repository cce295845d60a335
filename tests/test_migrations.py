"""The models and the Alembic migrations describe the same schema, both ways."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from models import Base
from models.db import async_url
from models.migrate import downgrade, upgrade
from tests.services import fresh_database, unique_name


def _diff(url: str) -> list:
    engine = create_engine(async_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(async_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_match_models_and_downgrade_to_base(postgres):
    with fresh_database(postgres, unique_name("migrations")) as url:
        upgrade(url)
        assert _diff(url) == [], "models and migrations drifted: write a migration"
        assert set(Base.metadata.tables) <= _tables(url)

        downgrade(url, "base")
        assert _tables(url) <= {"alembic_version"}

        upgrade(url)
        assert _diff(url) == []
