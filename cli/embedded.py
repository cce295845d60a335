"""The embedded services `marketplace dev` runs when no external one is configured."""

import os
import re
import shutil
import socket
import subprocess  # nosec B404  # our own console scripts, argument lists, no shell
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from integrations.private_files import open_private, private_directory

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

DATABASE_NAME = "marketplace"
SEARCH_ATTRIBUTES = ("ModuleSlug=Keyword",)
PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
"""A database name that needs no quoting in SQL (psql takes no bound parameters)."""


def venv_executable(name: str) -> str:
    """A console script of this environment (temporal, temporal-test-server, ...)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed; run `make install`")
    return found


def start_postgres(data_dir: Path, database: str = DATABASE_NAME) -> tuple["PostgresServer", str]:
    """Start (or attach to) Postgres from the pgserver wheel; returns (server, url)."""
    if not PLAIN_IDENTIFIER.fullmatch(database):
        raise ValueError(f"{database!r} is not a plain lower-case Postgres identifier")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from pgserver.postgres_server import get_server

    pgdata = (data_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    # Matched here rather than in SQL: no name is spliced into a query. The marker keeps the
    # table's header and row count from passing for a database.
    listing = server.psql("SELECT 'database:' || datname FROM pg_database;")
    if f"database:{database}" not in {line.strip() for line in listing.splitlines()}:
        server.psql(f'CREATE DATABASE "{database}";')
    uri = server.get_uri(database)
    return server, uri


def start_temporal(data_dir: Path, port: int, ui_port: int) -> subprocess.Popen[bytes]:
    """Run the Temporal dev server with SQLite under the data dir and the web UI.

    The database and log live in ``data_dir/temporal`` (0700): workflow histories hold
    order and account data, and the server creates its files with the default umask.
    """
    folder = private_directory(data_dir / "temporal")
    _adopt_legacy_database(data_dir, folder)
    command = [
        venv_executable("temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str((folder / "temporal.db").resolve()),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--log-level",
        "warn",
    ]
    for attribute in SEARCH_ATTRIBUTES:
        command += ["--search-attribute", attribute]
    log_file = open_private(folder / "temporal.log", os.O_WRONLY | os.O_APPEND)
    with os.fdopen(log_file, "ab") as log:
        # Not a finding (B603): the temporal script of this environment, every argument ours
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # nosec B603
    wait_for_port("127.0.0.1", port, process, timeout=60)
    for database in folder.glob("temporal.db*"):  # the server made them with its umask
        database.chmod(0o600)
    return process


def _adopt_legacy_database(data_dir: Path, folder: Path) -> None:
    """Move a database an older version kept at the data dir root into ``folder``."""
    if (folder / "temporal.db").exists():
        return
    for name in ("temporal.db", "temporal.db-wal", "temporal.db-shm", "temporal.db-journal"):
        if (data_dir / name).exists():
            os.replace(data_dir / name, folder / name)
            (folder / name).chmod(0o600)


def wait_for_port(host: str, port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0
