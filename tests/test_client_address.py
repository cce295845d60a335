"""Which address rate limits are keyed on: X-Forwarded-For is believed only from the
configured proxies (``trusted_proxies``), by the app and by uvicorn alike."""

import pytest
import uvicorn
from pydantic import ValidationError

import api.app
import cli.main
import models.db
from api import deps
from settings import Settings

PROXIES = ("10.0.0.0/8", "fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        # no trusted proxies: the header is whatever the client wrote
        ("203.0.113.5", ["198.51.100.1"], (), "203.0.113.5"),
        ("127.0.0.1", ["198.51.100.1"], (), "127.0.0.1"),
        # a peer that is not a proxy cannot speak for anyone else
        ("203.0.113.5", ["198.51.100.1"], PROXIES, "203.0.113.5"),
        # from a proxy: the right-most hop it did not add itself
        ("10.0.0.5", ["198.51.100.1"], PROXIES, "198.51.100.1"),
        ("10.0.0.5", ["6.6.6.6, 198.51.100.1"], PROXIES, "198.51.100.1"),
        ("10.0.0.5", ["6.6.6.6", "198.51.100.1, 10.0.0.9"], PROXIES, "198.51.100.1"),
        ("fd00::1", ["2001:db8::7, fd00::2"], PROXIES, "2001:db8::7"),
        # every hop a proxy: the left-most; no header: the proxy itself
        ("10.0.0.5", ["10.0.0.8, 10.0.0.9"], PROXIES, "10.0.0.8"),
        ("10.0.0.5", [], PROXIES, "10.0.0.5"),
    ],
)
def test_only_a_trusted_proxy_names_the_client(peer, forwarded_for, trusted, expected):
    assert deps.forwarded_client(peer, forwarded_for, trusted) == expected


async def test_the_app_takes_the_client_from_a_configured_proxy_only(api):
    """Through the sign-in limiter: behind a trusted proxy, clients have their own
    buckets; a client that is not a proxy cannot claim another's."""
    from tests.test_auth_api import from_address, stopped_limiter

    stopped_limiter(api, sign_in_failures_per_client="2/minute", trusted_proxies=["10.0.0.0/8"])

    async def attempt(forwarded_for: str) -> int:
        answer = await api.request(
            "POST",
            "/api/v1/auth/token",
            data={"username": "nobody@example.com", "password": "wrong password"},
            headers={"X-Forwarded-For": forwarded_for},
        )
        return answer.status_code

    from_address(api, "10.0.0.5")  # the proxy, relaying two clients
    assert [await attempt("198.51.100.1") for _ in range(3)] == [401, 401, 429]
    assert [await attempt("6.6.6.6, 198.51.100.2") for _ in range(2)] == [401, 401]
    from_address(api, "198.51.100.3")  # straight in, claiming a fresh address
    assert [await attempt(f"192.0.2.{n}") for n in range(3)] == [401, 401, 429]


def test_trusted_proxies_are_networks():
    assert Settings(trusted_proxies=["10.0.0.1/8", "192.0.2.7"]).trusted_proxies == [
        "10.0.0.0/8",
        "192.0.2.7/32",
    ]
    with pytest.raises(ValidationError):
        Settings(trusted_proxies=["proxy.example.com"])


def _served_app(monkeypatch, settings: Settings):
    """What ``marketplace api`` hands uvicorn, loaded as uvicorn would serve it, around an
    app that answers with the client address it was given."""
    seen: dict = {}

    async def inner(scope, receive, send):
        seen["client"] = scope["client"]

    monkeypatch.setattr(cli.main, "get_settings", lambda: settings)
    monkeypatch.setattr(cli.main, "database_url", lambda _: ("postgresql://unused", None))
    monkeypatch.setattr(cli.main, "_exit_now", lambda code=0: None)
    monkeypatch.setattr(models.db, "make_engine", lambda *_: None)
    monkeypatch.setattr(api.app, "create_app", lambda *_: inner)
    captured: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: captured.update(options, app=app))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # must not matter either
    cli.main.api(host=None, port=None)
    options = {k: v for k, v in captured.items() if k not in ("app", "host", "port")}
    config = uvicorn.Config(captured["app"], **options)
    config.load()
    return config.loaded_app, seen


async def _client_seen(loaded_app, seen, peer: str, forwarded_for: str) -> str:
    scope = {
        "type": "http",
        "client": (peer, 5555),
        "headers": [(b"x-forwarded-for", forwarded_for.encode())],
    }
    await loaded_app(scope, None, None)
    return seen["client"][0]


async def test_uvicorn_believes_forwarded_for_from_configured_proxies_only(monkeypatch, tmp_path):
    settings = Settings(data_dir=tmp_path)
    loaded, seen = _served_app(monkeypatch, settings)
    assert await _client_seen(loaded, seen, "127.0.0.1", "6.6.6.6") == "127.0.0.1"
    assert await _client_seen(loaded, seen, "203.0.113.5", "6.6.6.6") == "203.0.113.5"

    settings = Settings(data_dir=tmp_path, trusted_proxies=["10.0.0.0/8"])
    loaded, seen = _served_app(monkeypatch, settings)
    assert await _client_seen(loaded, seen, "10.0.0.5", "6.6.6.6, 198.51.100.1") == ("198.51.100.1")
    assert await _client_seen(loaded, seen, "127.0.0.1", "6.6.6.6") == "127.0.0.1"
