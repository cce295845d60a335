"""Real services for the test session: a Postgres database and Temporal servers."""

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from cli import embedded


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_database(admin_url: str, name: str):
    """Create an empty database on the server of ``admin_url``; dropped afterwards."""
    with psycopg.connect(_plain(admin_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_plain(admin_url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def traversable_tmpdir(prefix: str):
    """A scratch folder outside pytest's private tmp tree.

    As root, pgserver runs Postgres as its own system user, which must be able to reach
    the data folder; pytest keeps /tmp/pytest-of-<user> at 0700 and may reset it at any
    time, which then cuts a running server off from its files."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def postgres_server():
    """The server named by MARKETPLACE_TEST_DATABASE_URL / DATABASE_URL, else pgserver's."""
    given = os.environ.get("MARKETPLACE_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    with traversable_tmpdir("marketplace-test-pg-") as workdir:
        server, url = embedded.start_postgres(workdir, database="postgres")
        try:
            yield url
        finally:
            server.cleanup()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
