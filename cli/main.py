"""The `marketplace` command: run the system, migrate it, administer it."""

import asyncio
import logging
import os
import signal
import subprocess  # nosec B404  # re-runs this CLI (sys.executable), argument lists, no shell
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer

from cli import embedded
from settings import Settings, get_settings

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

app = typer.Typer(help="FastVue Marketplace back office.", no_args_is_help=True)
admin_app = typer.Typer(help="Administer accounts.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
license_app = typer.Typer(
    help="Check a license as an installed instance does; endorse a new signing key.",
    no_args_is_help=True,
)
app.add_typer(license_app, name="license")


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _exit_now(code: int = 0) -> None:
    """Leave without interpreter teardown, where the temporalio native bridge can abort
    the process (sdk-python issue 300) after a clean shutdown."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def database_url(settings: Settings) -> tuple[str, "PostgresServer | None"]:
    """The configured database, or the embedded one (kept running while the handle lives)."""
    if settings.database_url:
        return settings.database_url, None
    server, url = embedded.start_postgres(settings.data_dir)
    return url, server


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Upgrade the database schema to REVISION (default: the newest)."""
    from models.migrate import upgrade

    url, _server = database_url(get_settings())
    upgrade(url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    from api.app import create_app
    from integrations.temporal import connect_temporal
    from integrations.temporal.front_door import TemporalConnector
    from models.db import make_engine

    _logging()
    settings = get_settings()
    url, server = database_url(settings)
    application = create_app(
        settings,
        make_engine(url, settings.database_pool_size),
        TemporalConnector(lambda: connect_temporal(settings)),
    )
    uvicorn.run(
        application,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
        # X-Forwarded-* only from the configured proxies (uvicorn would otherwise trust
        # FORWARDED_ALLOW_IPS or 127.0.0.1), the same ones ``client_address`` believes
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
    if server is not None:
        server.cleanup()
    _exit_now()


@app.command()
def worker() -> None:
    """Run the Temporal worker (all workflows and activities); SIGTERM stops it gracefully."""
    import worker as worker_process

    _logging()
    settings = get_settings()
    url, server = database_url(settings)
    asyncio.run(worker_process.run(settings, url))
    if server is not None:
        server.cleanup()
    _exit_now()


@app.command()
def dev() -> None:
    """Run everything locally: Postgres, Temporal, the worker and the API. Ctrl-C stops all."""
    from integrations.wiring import download_secret, jwt_secret, license_key_secret
    from models.migrate import upgrade

    signal.signal(signal.SIGINT, signal.default_int_handler)
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for generate_once in (jwt_secret, download_secret, license_key_secret):
        generate_once(settings)
    url, _server = database_url(settings)
    upgrade(url)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    env = {**os.environ, "MARKETPLACE_DATABASE_URL": url}
    try:
        if not settings.temporal_address:
            if embedded.port_in_use("127.0.0.1", settings.temporal_dev_port):
                raise typer.BadParameter(
                    f"port {settings.temporal_dev_port} is taken; set MARKETPLACE_TEMPORAL_ADDRESS"
                    " to use that server or MARKETPLACE_TEMPORAL_DEV_PORT to move ours"
                )
            children.append(
                (
                    "temporal",
                    embedded.start_temporal(
                        settings.data_dir, settings.temporal_dev_port, settings.temporal_ui_port
                    ),
                )
            )
            env["MARKETPLACE_TEMPORAL_ADDRESS"] = settings.temporal_target
        # Not a finding (B603): this interpreter re-running this CLI, constant arguments
        me = [sys.executable, "-m", "cli.main"]
        worker_process = subprocess.Popen([*me, "worker"], env=env)  # nosec B603
        children.append(("worker", worker_process))
        api_process = subprocess.Popen([*me, "api"], env=env)  # nosec B603
        children.append(("api", api_process))
        embedded.wait_for_port(settings.api_host, settings.api_port, children[-1][1], timeout=60)
        base = f"http://{settings.api_host}:{settings.api_port}"
        typer.echo(
            f"\nFastVue Marketplace is running\n"
            f"  Storefront    {base}/marketplace"
            + (
                ""
                if (settings.web_dist_dir / "index.html").is_file()
                else "  (not built: make run)"
            )
            + f"\n  API           {base}\n"
            f"  OpenAPI docs  {base}/docs\n"
            f"  Temporal UI   "
            + (
                f"http://127.0.0.1:{settings.temporal_ui_port}"
                if not settings.temporal_address
                else f"(external server {settings.temporal_address})"
            )
            + f"\n  Data          {settings.data_dir.resolve()}\nCtrl-C stops everything.\n"
        )
        _supervise(children)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(children)


def _supervise(children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    while not stop:
        for name, process in children:
            if process.poll() is not None:
                typer.echo(f"{name} exited with {process.returncode}; stopping", err=True)
                raise typer.Exit(1)
        time.sleep(0.5)


def _stop(children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _, process in reversed(children):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for name, process in reversed(children):
        try:
            code = process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            typer.echo(f"{name} did not stop in time; killing it", err=True)
            process.kill()
            continue
        if code not in (0, -signal.SIGTERM, -signal.SIGINT):
            typer.echo(f"{name} exited with {code} while stopping", err=True)


@app.command()
def publish(
    package: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="module .zip")],
    token: Annotated[str, typer.Option(envvar="MARKETPLACE_TOKEN", help="API token (publish)")],
    api: Annotated[str, typer.Option(envvar="MARKETPLACE_API", help="API base URL")] = (
        "http://127.0.0.1:8000"
    ),
    module: Annotated[int | None, typer.Option(help="module id (looked up when omitted)")] = None,
    notes: Annotated[str | None, typer.Option(help="release notes")] = None,
) -> None:
    """Upload a version and follow its pipeline until it is published or rejected."""
    from rich.console import Console

    from cli.publish import PublishError
    from cli.publish import publish as run_publish

    console = Console()
    try:
        version = run_publish(
            package, api=api, token=token, module_id=module, release_notes=notes, console=console
        )
    except (PublishError, httpx.HTTPError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    if version["status"] != "published":
        for reason in version.get("rejection_reasons") or []:
            console.print(f"  [red]{reason['code']}[/red]: {reason['detail']}")
        raise typer.Exit(1)
    console.print(f"[green]published[/green] {version['version']} sha256 {version['sha256']}")


@app.command()
def verify(
    package: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="module .zip")],
    module: Annotated[str, typer.Option(help="the module's slug in the marketplace")],
    version: Annotated[
        str | None,
        typer.Option(help="the version it must be; default: the one its manifest declares"),
    ] = None,
    signature: Annotated[
        str | None,
        typer.Option(
            help="a signature to check (base64, e.g. an X-Signature header) "
            "instead of the marketplace's record"
        ),
    ] = None,
    key_id: Annotated[
        str | None, typer.Option(help="the key that made --signature (X-Signature-Key-Id)")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="a PEM public key for --signature (no API call)"
        ),
    ] = None,
    api: Annotated[str, typer.Option(envvar="MARKETPLACE_API", help="API base URL")] = (
        "http://127.0.0.1:8000"
    ),
) -> None:
    """Check that a downloaded archive is MODULE (at VERSION) as the marketplace signed it:
    the signature must cover the statement naming this module, version and file hash."""
    from cli.publish import PublishError
    from cli.verify import verify as run_verify

    try:
        typer.echo(
            run_verify(
                package,
                api=api,
                module_slug=module,
                version=version,
                signature=signature,
                key_id=key_id,
                public_key_pem=public_key.read_text() if public_key else None,
            )
        )
    except (PublishError, httpx.HTTPError, ValueError) as error:
        typer.echo(f"NOT VERIFIED: {error}", err=True)
        raise typer.Exit(1) from None


@admin_app.command("create")
def admin_create(
    email: str,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="MARKETPLACE_ADMIN_PASSWORD",
            help="password; prompted for when not given",
        ),
    ] = None,
    full_name: Annotated[str | None, typer.Option(help="display name")] = None,
    promote: Annotated[
        bool,
        typer.Option(
            "--promote",
            help="make an existing account with this email an admin: its password is "
            "replaced by this one and its API tokens and sessions are revoked",
        ),
    ] = False,
) -> None:
    """Create an admin account. An account that already has this email is refused unless
    --promote is given: whoever registered it must not become an admin on their own
    password."""
    from cli.admin import create_admin

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = get_settings()
    url, _server = database_url(settings)
    try:
        message, promoted = asyncio.run(
            create_admin(url, email, password, full_name, promote=promote)
        )
    except ValueError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    if promoted:
        typer.secho(f"WARNING: {message}", fg=typer.colors.YELLOW, bold=True, err=True)
    typer.echo(message)


@license_app.command("check")
def license_check(
    key: Annotated[str, typer.Option(envvar="FASTVUE_LICENSE_KEY", help="the license key")],
    instance_id: Annotated[
        str, typer.Option(envvar="FASTVUE_INSTANCE_ID", help="this installation's id")
    ],
    domain: Annotated[str, typer.Option(envvar="FASTVUE_DOMAIN", help="this instance's host")],
    module: Annotated[str, typer.Option(help="the module's technical name")],
    pinned_keys: Annotated[
        Path,
        typer.Option(
            envvar="FASTVUE_LICENSE_PINNED_KEYS",
            dir_okay=False,
            help="the marketplace's license public keys: PEM blocks, or the JSON of "
            "GET /licenses/public-key",
        ),
    ],
    api: Annotated[str, typer.Option(envvar="MARKETPLACE_API", help="API base URL")] = (
        "http://127.0.0.1:8000"
    ),
    cache: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="where the last granted answer is kept (0600)"),
    ] = None,
    learned_keys: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="endorsed keys learnt (default: beside the cache)"),
    ] = None,
    activate: Annotated[bool, typer.Option("--activate", help="take a seat first")] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="only the cached answer, no network")
    ] = False,
    offline_file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="check this offline license file"),
    ] = None,
) -> None:
    """Check a license with the reference client: exit 0 when it is valid, 1 when not,
    2 when the arguments are unusable."""
    from cli.license import CheckRequest, describe
    from cli.license import check as run_check
    from fastvue_license import Instance

    try:
        request = CheckRequest(
            api=api,
            instance=Instance(key, instance_id=instance_id, domain=domain, module=module),
            pinned_keys=pinned_keys,
            cache=cache,
            learned_keys=learned_keys,
            activate=activate,
            offline_only=offline,
            offline_file=offline_file,
        )
        result = run_check(request)
    except ValueError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(describe(result))
    if not result.valid:
        raise typer.Exit(1)


@license_app.command("endorse-key")
def license_endorse_key(
    new_public_key: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="the new key's public PEM")
    ],
) -> None:
    """Sign, with the license key configured now, an endorsement of the key that will
    replace it: add the printed JSON to MARKETPLACE_LICENSE_KEY_ENDORSEMENTS and keep it
    there through and after the switch (README, "Rotating the license key")."""
    from cli.license import endorsement

    try:
        typer.echo(endorsement(get_settings(), new_public_key.read_text(encoding="utf-8")))
    except ValueError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None


if __name__ == "__main__":
    app()
