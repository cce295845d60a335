"""The `marketplace` command as an operator uses it, in real subprocesses."""

import asyncio
import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from cli.main import app
from domain.access import Role
from models.db import async_url, make_engine, make_sessionmaker
from models.migrate import upgrade
from models.repositories import users
from models.user import ApiToken
from services import accounts, credentials
from settings import get_settings
from tests import archives
from tests.osv_fake import osv_fake
from tests.services import fresh_database, unique_name

ROOT = Path(__file__).resolve().parents[1]
JWT = "j" * 32
HTTP_TIMEOUT = 60.0
"""For one request to a system started here: on a loaded machine its first answers (the
OpenAPI document is built on first request) can take many seconds."""


def marketplace(*args: str, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


@pytest.fixture
def fresh_db(postgres):
    with fresh_database(postgres, unique_name("cli")) as url:
        yield url


def test_migrate_then_admin_create_makes_a_usable_admin(fresh_db):
    env = {"MARKETPLACE_DATABASE_URL": fresh_db}
    migrated = marketplace("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr

    created = marketplace(
        "admin", "create", "root@example.com", env={**env, "MARKETPLACE_ADMIN_PASSWORD": "x" * 12}
    )
    assert created.returncode == 0, created.stderr
    assert "admin root@example.com created" in created.stdout
    assert "x" * 12 not in created.stdout + created.stderr

    again = marketplace(
        "admin", "create", "ROOT@example.com", env={**env, "MARKETPLACE_ADMIN_PASSWORD": "y" * 12}
    )
    assert again.returncode != 0 and "--promote" in again.stderr
    engine = create_engine(async_url(fresh_db))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT email, role FROM users")).all()
    engine.dispose()
    assert rows == [("root@example.com", "admin")]


def test_admin_create_refuses_a_bad_email_or_short_password(fresh_db):
    env = {"MARKETPLACE_DATABASE_URL": fresh_db}
    assert marketplace("migrate", env=env).returncode == 0
    bad_email = marketplace(
        "admin", "create", "nope", env={**env, "MARKETPLACE_ADMIN_PASSWORD": "x" * 12}
    )
    assert bad_email.returncode != 0 and "not an email" in bad_email.stderr
    short = marketplace(
        "admin", "create", "a@example.com", env={**env, "MARKETPLACE_ADMIN_PASSWORD": "short"}
    )
    assert short.returncode != 0 and "password" in short.stderr


ATTACKER_PASSWORD = "the attacker's own password"
OPERATOR_PASSWORD = "the operator's new password"


@pytest.fixture
def migrated_db(fresh_db, monkeypatch):
    """A migrated database the in-process `marketplace` (CliRunner) is pointed at."""
    upgrade(fresh_db)
    monkeypatch.setenv("MARKETPLACE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()


def _registered_by_someone_else(url: str) -> tuple[int, str]:
    """An account registered (with an API token and a session) before the operator made
    the admin: (its id, its session's access token)."""

    async def go() -> tuple[int, str]:
        engine = make_engine(url, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session:
                user = await users.create_user(
                    session,
                    email="boss@example.com",
                    password_hash=credentials.hash_password(ATTACKER_PASSWORD),
                    full_name=None,
                    role=Role.CONSUMER,
                )
                _secret, prefix, digest = credentials.new_api_token()
                await users.add_token(
                    session,
                    ApiToken(
                        user_id=user.id, name="t", token_prefix=prefix, token_hash=digest, scopes=[]
                    ),
                )
                await session.commit()
                session_token, _ = credentials.issue_access_token(
                    user.id,
                    token_version=user.token_version,
                    secret=JWT,
                    issuer="i",
                    ttl=timedelta(minutes=5),
                )
                return user.id, session_token
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _account(url: str, session_token: str) -> tuple[str, str, int, bool]:
    """(role, password hash, API tokens not revoked, whether the session still works)."""

    async def go() -> tuple[str, str, int, bool]:
        engine = make_engine(url, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session:
                user = await users.get_user_by_email(session, "boss@example.com")
                assert user is not None
                live = [t for t in await users.list_tokens(session, user.id) if not t.revoked_at]
                principal = await accounts.resolve_principal(
                    session, session_token, jwt_secret=JWT, issuer="i"
                )
                return user.role, user.password_hash, len(live), principal is not None
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_admin_create_refuses_an_existing_account_and_changes_nothing(migrated_db):
    """The attack: register the email the operator is about to make an admin, so that
    `admin create` promotes the attacker's account on the attacker's password."""
    _registered_by_someone_else(migrated_db)
    result = CliRunner().invoke(
        app,
        ["admin", "create", "Boss@example.com"],
        env={"MARKETPLACE_ADMIN_PASSWORD": OPERATOR_PASSWORD},
    )
    assert result.exit_code != 0
    assert "already exists" in result.stderr and "--promote" in result.stderr
    role, password_hash, _live, _session = _account(migrated_db, "")
    assert role == "consumer"
    assert credentials.verify_password(ATTACKER_PASSWORD, password_hash)


def test_admin_create_promote_takes_the_operators_password_and_ends_the_old_access(
    migrated_db,
):
    _user_id, session_token = _registered_by_someone_else(migrated_db)
    assert _account(migrated_db, session_token)[2:] == (1, True)
    result = CliRunner().invoke(
        app,
        ["admin", "create", "boss@example.com", "--promote"],
        env={"MARKETPLACE_ADMIN_PASSWORD": OPERATOR_PASSWORD},
    )
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.stderr and "password was replaced" in result.stderr
    assert "1 API token(s)" in result.stderr
    role, password_hash, live, session_works = _account(migrated_db, session_token)
    assert role == "admin"
    assert credentials.verify_password(OPERATOR_PASSWORD, password_hash)
    assert not credentials.verify_password(ATTACKER_PASSWORD, password_hash)
    assert live == 0, "the account's API tokens are revoked"
    assert not session_works, "a session signed in before the promotion is over"
    assert "IS UNVERIFIED" in result.stderr, "the operator hears nobody proved the address"


def test_admin_create_promote_of_a_verified_address_says_nothing_of_verification(
    migrated_db,
):
    user_id, _session = _registered_by_someone_else(migrated_db)

    async def verified() -> None:
        engine = make_engine(migrated_db, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session:
                user = await users.get_user(session, user_id)
                user.email_verified_at = datetime.now(UTC)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(verified())
    result = CliRunner().invoke(
        app,
        ["admin", "create", "boss@example.com", "--promote"],
        env={"MARKETPLACE_ADMIN_PASSWORD": OPERATOR_PASSWORD},
    )
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.stderr and "UNVERIFIED" not in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(base: str, process: subprocess.Popen, timeout: float = 240) -> httpx.Response:
    """Poll readiness until the deadline: `dev` starts Postgres and Temporal first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"marketplace dev exited with {process.returncode}"
        try:
            response = httpx.get(f"{base}/ready", timeout=2)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("marketplace dev never became ready")


def _run_dev_once(env: dict, api_port: int, use) -> str:
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "dev"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{api_port}"
    try:
        ready = _wait_ready(base, process)
        assert ready.json()["checks"] == {"database": "ok", "temporal": "ok"}
        docs = httpx.get(f"{base}/openapi.json", timeout=HTTP_TIMEOUT)
        assert docs.status_code == 200
        use(base)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=90)
    assert process.returncode == 0, output
    assert "while stopping" not in output and "did not stop" not in output, output
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", api_port)) != 0, "the API outlived `dev`"
    return output


ACCOUNT = {"email": "first@example.com", "password": "a long enough password"}


def _register(base: str) -> None:
    response = httpx.post(f"{base}/api/v1/auth/register", json=ACCOUNT, timeout=HTTP_TIMEOUT)
    assert response.status_code == 201, response.text


def _sign_in(base: str) -> None:
    form = {"username": ACCOUNT["email"], "password": ACCOUNT["password"]}
    response = httpx.post(f"{base}/api/v1/auth/token", data=form, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, "the account made in the first run is gone"


def test_dev_runs_everything_embedded_stops_on_ctrl_c_and_reuses_its_data(outside_tmp, monkeypatch):
    api_port = _free_port()
    env = {
        "MARKETPLACE_DATA_DIR": str(outside_tmp / "data"),
        "MARKETPLACE_API_PORT": str(api_port),
        "MARKETPLACE_TEMPORAL_DEV_PORT": str(_free_port()),
        "MARKETPLACE_TEMPORAL_UI_PORT": str(_free_port()),
    }
    for name in ("MARKETPLACE_DATABASE_URL", "MARKETPLACE_TEMPORAL_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    first = _run_dev_once(env, api_port, _register)
    assert f"http://127.0.0.1:{api_port}/docs" in first
    assert f"Storefront    http://127.0.0.1:{api_port}/marketplace" in first
    assert f"http://127.0.0.1:{env['MARKETPLACE_TEMPORAL_UI_PORT']}" in first
    data = outside_tmp / "data"
    assert (data / "postgres").is_dir() and (data / "temporal" / "temporal.db").is_file()

    second = _run_dev_once(env, api_port, _sign_in)
    assert "FastVue Marketplace is running" in second


def test_worker_drains_and_exits_cleanly_on_sigterm(database_url, temporal_dev, tmp_path):
    env = {
        **os.environ,
        "MARKETPLACE_DATABASE_URL": database_url,
        "MARKETPLACE_TEMPORAL_ADDRESS": temporal_dev.client.service_client.config.target_host,
        "MARKETPLACE_DATA_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if "worker polling task queue" in line:
            break
    assert process.poll() is None, "".join(lines)
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, "".join(lines) + rest
    assert "worker stopped" in rest


def _bearer(base: str, email: str, password: str) -> dict[str, str]:
    form = {"username": email, "password": password}
    response = httpx.post(f"{base}/api/v1/auth/token", data=form, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _mailed_code(mail_dir: Path, to: str) -> str:
    """The verification code the running system mailed to ``to`` (the file mail backend),
    once the worker has delivered it."""
    deadline = time.monotonic() + HTTP_TIMEOUT
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == to and message["Subject"] == "Confirm your email address":
                [code] = re.findall(r"^    (\S{20,})\r?$", message.get_content(), re.MULTILINE)
                return code
        time.sleep(0.5)
    raise AssertionError(f"no verification mail to {to} in {mail_dir}")


def test_publish_and_verify_from_the_terminal_against_the_running_system(
    outside_tmp, tmp_path, monkeypatch
):
    """`make run`, then what a publisher and a buyer do from a terminal: publish the sample
    with a CI token (progress and pipeline steps shown), an admin approves the listing,
    and `marketplace verify` checks the download against the published key."""
    for name in ("MARKETPLACE_DATABASE_URL", "MARKETPLACE_TEMPORAL_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    package = archives.zip_sample_folder(tmp_path / "hello_fastvue.zip")
    api_port = _free_port()
    with osv_fake() as osv:
        env = {
            "MARKETPLACE_DATA_DIR": str(outside_tmp / "data"),
            "MARKETPLACE_API_PORT": str(api_port),
            "MARKETPLACE_PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
            "MARKETPLACE_TEMPORAL_DEV_PORT": str(_free_port()),
            "MARKETPLACE_TEMPORAL_UI_PORT": str(_free_port()),
            "MARKETPLACE_OSV_URL": osv.url,
        }

        def publish_and_verify(base: str) -> None:
            password = "a long enough password"
            httpx.post(
                f"{base}/api/v1/auth/register",
                json={"email": "pub@example.com", "password": password},
                timeout=HTTP_TIMEOUT,
            ).raise_for_status()
            owner = _bearer(base, "pub@example.com", password)
            httpx.post(
                f"{base}/api/v1/auth/verify-email",
                json={"token": _mailed_code(outside_tmp / "data" / "mail", "pub@example.com")},
                timeout=HTTP_TIMEOUT,
            ).raise_for_status()
            httpx.post(
                f"{base}/api/v1/publisher/register",
                headers=owner,
                json={"display_name": "Acme"},
                timeout=HTTP_TIMEOUT,
            ).raise_for_status()
            module = httpx.post(
                f"{base}/api/v1/publisher/modules",
                headers=owner,
                json={
                    "technical_name": "hello_fastvue",
                    "display_name": "Hello FastVue",
                    "short_description": "A greeting widget.",
                },
                timeout=HTTP_TIMEOUT,
            ).json()
            token = httpx.post(
                f"{base}/api/v1/auth/tokens",
                headers=owner,
                json={"name": "ci", "scopes": ["publish"]},
                timeout=HTTP_TIMEOUT,
            ).json()["token"]

            published = marketplace(
                "publish",
                str(package),
                "--token",
                token,
                "--api",
                base,
                "--module",
                str(module["id"]),
                env=env,
            )
            assert published.returncode == 0, published.stdout + published.stderr
            assert "published 1.0.0" in published.stdout
            assert "processing: " in published.stdout, "the pipeline's steps are shown"
            assert "published: done" in published.stdout
            assert token not in published.stdout + published.stderr

            made = marketplace(
                "admin",
                "create",
                "root@example.com",
                env={**env, "MARKETPLACE_ADMIN_PASSWORD": password},
            )
            assert made.returncode == 0, made.stderr
            admin = _bearer(base, "root@example.com", password)
            httpx.post(
                f"{base}/api/v1/admin/marketplace/modules/{module['id']}/approve",
                headers=admin,
                timeout=HTTP_TIMEOUT,
            ).raise_for_status()

            verified = marketplace(
                "verify", str(package), "--module", module["slug"], "--api", base, env=env
            )
            assert verified.returncode == 0, verified.stdout + verified.stderr
            assert verified.stdout.startswith("OK hello_fastvue 1.0.0")

            tampered = tmp_path / "tampered.zip"
            tampered.write_bytes(package.read_bytes() + b"\0")
            refused = marketplace(
                "verify", str(tampered), "--module", module["slug"], "--api", base, env=env
            )
            assert refused.returncode == 1 and "NOT VERIFIED" in refused.stderr

        _run_dev_once(env, api_port, publish_and_verify)
