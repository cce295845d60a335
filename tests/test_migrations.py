"""The models and the Alembic migrations describe the same schema, both ways."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

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


def test_versions_signed_before_statements_are_marked_hash_only(postgres):
    """Already-published versions keep their hash-only signature, marked as such, so they
    still verify (``archive-sha256/v1``); nothing is re-signed or dropped."""
    with fresh_database(postgres, unique_name("migrations")) as url:
        upgrade(url, "0010")
        engine = create_engine(async_url(url))
        try:
            with engine.begin() as connection:
                connection.execute(text("SET LOCAL session_replication_role = replica"))
                connection.execute(
                    text(
                        "INSERT INTO marketplace_module_versions "
                        "(module_id, version, zip_file_url, zip_file_hash, signature, "
                        "signature_key_id) VALUES "
                        "(1, '1.0.0', 'modules/m/1.0.0/m-1.0.0.zip', :sha, 'c2ln', 'k1'), "
                        "(1, '1.1.0', 'staging/1/x.zip', NULL, NULL, NULL)"
                    ),
                    {"sha": "ab" * 32},
                )
            upgrade(url)
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT version, signature, signature_format, signed_statement "
                        "FROM marketplace_module_versions ORDER BY version"
                    )
                ).all()
        finally:
            engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("1.0.0", "c2ln", "archive-sha256/v1", None),
        ("1.1.0", None, "archive-sha256/v1", None),
    ]
