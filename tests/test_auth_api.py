"""Registering, signing in, and personal API tokens, through the HTTP API."""

import asyncio
import threading
import time

from domain.access import Role
from integrations.rate_limit import RateLimiter
from models.repositories import users
from services import credentials
from tests.factories import PASSWORD


async def register(api, email="ada@example.com", password=PASSWORD):
    return await api.request(
        "POST", "/api/v1/auth/register", json={"email": email, "password": password}
    )


async def sign_in(api, email, password=PASSWORD):
    return await api.request(
        "POST", "/api/v1/auth/token", data={"username": email, "password": password}
    )


async def test_register_then_sign_in_gives_a_consumer_token(api):
    created = await register(api)
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "consumer"
    assert "password" not in created.text

    token = await sign_in(api, "ADA@example.com")
    assert token.status_code == 200, token.text
    me = await api.request(
        "GET",
        "/api/v1/auth/me",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    assert me.json()["scopes"] == ["account"]


async def test_email_is_unique_whatever_its_case(api):
    assert (await register(api)).status_code == 201
    again = await register(api, email="Ada@Example.com")
    assert again.status_code == 409
    assert again.json()["error"] == "email_taken"


async def test_wrong_password_and_unknown_email_look_the_same(api):
    await register(api)
    wrong = await sign_in(api, "ada@example.com", "not the password at all")
    unknown = await sign_in(api, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": "invalid_credentials",
            "detail": "wrong email or password",
        }
    )


async def test_weak_or_malformed_registration_is_refused(api):
    short = await register(api, password="short")
    assert short.status_code == 422
    assert short.json()["error"] == "validation_error"
    bad_email = await register(api, email="not-an-email")
    assert bad_email.status_code == 422
    extra = await api.request(
        "POST",
        "/api/v1/auth/register",
        json={"email": "eve@example.com", "password": PASSWORD, "role": "admin"},
    )
    assert extra.status_code == 422, "a client cannot choose its own role"


async def test_missing_and_forged_tokens_are_401(api):
    missing = await api.request("GET", "/api/v1/auth/me")
    assert missing.status_code == 401
    assert missing.json()["error"] == "not_authenticated"
    assert missing.headers["www-authenticate"] == "Bearer"
    forged = await api.request(
        "GET", "/api/v1/auth/me", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}
    )
    assert forged.status_code == 401
    assert forged.json()["error"] == "invalid_token"


async def test_api_token_is_shown_once_works_and_can_be_revoked(api, make):
    user, _ = await make.publisher()
    created = await api.request(
        "POST",
        "/api/v1/auth/tokens",
        as_user=user,
        json={"name": "ci", "scopes": ["publish", "account"]},
    )
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert secret.startswith("fvm_")
    bearer = {"Authorization": f"Bearer {secret}"}

    listed = await api.request("GET", "/api/v1/auth/tokens", as_user=user)
    assert secret not in listed.text
    assert listed.json()[0]["token_prefix"] == secret[:12]

    me = await api.request("GET", "/api/v1/auth/me", headers=bearer)
    assert me.status_code == 200
    assert sorted(me.json()["scopes"]) == ["account", "publish"]
    narrowed = await api.request("GET", "/api/v1/publisher/modules", headers=bearer)
    assert narrowed.status_code == 403, "a publish-only token cannot edit listings"
    assert narrowed.json()["error"] == "insufficient_scope"

    revoked = await api.request(
        "DELETE", f"/api/v1/auth/tokens/{created.json()['id']}", as_user=user
    )
    assert revoked.status_code == 204
    after = await api.request("GET", "/api/v1/auth/me", headers=bearer)
    assert after.status_code == 401


async def test_a_token_cannot_carry_more_than_its_role(api, make):
    consumer = await make.user(Role.CONSUMER)
    response = await api.request(
        "POST", "/api/v1/auth/tokens", as_user=consumer, json={"name": "x", "scopes": ["admin"]}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "scope_not_allowed"


async def test_another_users_token_cannot_be_revoked(api, make):
    owner, _ = await make.publisher()
    other = await make.user()
    created = await api.request(
        "POST", "/api/v1/auth/tokens", as_user=owner, json={"name": "ci", "scopes": ["publish"]}
    )
    response = await api.request(
        "DELETE", f"/api/v1/auth/tokens/{created.json()['id']}", as_user=other
    )
    assert response.status_code == 404


def from_address(api, address: str) -> None:
    """Later requests arrive from ``address`` (the peer the server sees)."""
    api.http._transport.client = (address, 40000)


def stopped_limiter(api, **rates: str):
    """Sign-in limits ``rates`` on a clock that stands still mid-window: on the real one,
    attempts either side of a minute's boundary count the earlier minute in part only."""
    app = api.http._transport.app
    app.state.settings = api.settings.model_copy(update=rates)
    app.state.rate_limiter = RateLimiter(clock=lambda: 30.0)


async def test_password_guessing_backs_off_per_account_and_client(api):
    await register(api)
    stopped_limiter(api, sign_in_failures_per_account_client="3/minute")
    from_address(api, "203.0.113.7")
    codes = [
        (await sign_in(api, "ada@example.com", f"wrong password {n}")).status_code for n in range(3)
    ]
    assert codes == [401, 401, 401]
    blocked = await sign_in(api, "ADA@example.com")
    assert blocked.status_code == 429, "even the right password waits on this pair"
    assert blocked.json()["error"] == "rate_limited"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60, "seconds until a try is admitted"
    other = await sign_in(api, "someone-else@example.com", "whatever password")
    assert other.status_code == 401, "another account has its own budget"


async def test_guesses_from_other_addresses_do_not_lock_the_owner_out(api):
    """The attack: wrong passwords for the victim from rotating addresses. Each of those
    pairs backs off; the owner, from their own address, still signs in."""
    await register(api)
    stopped_limiter(api, sign_in_failures_per_account_client="3/minute")
    for host in range(1, 11):
        from_address(api, f"198.51.100.{host}")
        for attempt in range(4):
            await sign_in(api, "ada@example.com", f"guess {host}-{attempt}")
    assert (await sign_in(api, "ada@example.com", "one more guess")).status_code == 429
    from_address(api, "192.0.2.44")
    owner = await sign_in(api, "ada@example.com")
    assert owner.status_code == 200, owner.text


async def test_signing_in_right_does_not_count_and_clears_the_pairs_failures(api):
    await register(api)
    stopped_limiter(
        api, sign_in_failures_per_account_client="3/minute", sign_in_failures_per_client="5/minute"
    )
    for _ in range(12):
        ok = await sign_in(api, "ada@example.com")
        assert ok.status_code == 200, "successful sign-ins are not throttled"
    assert (await sign_in(api, "ada@example.com", "typo one")).status_code == 401
    assert (await sign_in(api, "ada@example.com", "typo two")).status_code == 401
    assert (await sign_in(api, "ada@example.com")).status_code == 200
    codes = [(await sign_in(api, "ada@example.com", f"typo {n}")).status_code for n in range(3)]
    assert codes == [401, 401, 401], "the success before started the pair afresh"


async def test_one_address_guessing_across_accounts_hits_its_own_cap(api):
    await register(api)
    stopped_limiter(api, sign_in_failures_per_client="4/minute")
    from_address(api, "203.0.113.9")
    codes = [
        (await sign_in(api, f"user{n}@example.com", "sprayed password")).status_code
        for n in range(6)
    ]
    assert codes == [401, 401, 401, 401, 429, 429]
    from_address(api, "192.0.2.44")
    assert (await sign_in(api, "ada@example.com")).status_code == 200


async def test_a_forwarded_for_header_from_a_client_does_not_pick_its_bucket(api):
    """Without trusted proxies, X-Forwarded-For is the client's own word: rotating it
    must not buy fresh failures."""
    await register(api)
    stopped_limiter(api, sign_in_failures_per_account_client="3/minute")
    from_address(api, "203.0.113.7")
    codes = [
        (
            await api.request(
                "POST",
                "/api/v1/auth/token",
                data={"username": "ada@example.com", "password": "wrong password"},
                headers={"X-Forwarded-For": f"10.1.1.{n}"},
            )
        ).status_code
        for n in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]


async def test_registration_is_slowed_per_client_and_a_refused_one_creates_nothing(api, db):
    app = api.http._transport.app
    app.state.settings = api.settings.model_copy(update={"register_rate_per_client": "2/minute"})
    app.state.rate_limiter = RateLimiter(clock=lambda: 30.0)  # mid-window, standing still
    assert (await register(api, "one@example.com")).status_code == 201
    assert (await register(api, "two@example.com")).status_code == 201
    blocked = await register(api, "three@example.com")
    assert blocked.status_code == 429, blocked.text
    assert blocked.json()["error"] == "rate_limited"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    async with db() as session:
        assert await users.get_user_by_email(session, "three@example.com") is None


async def test_a_password_hash_does_not_hold_up_other_requests(api, monkeypatch):
    """A registration's hash is held in its worker thread until /health has answered: on
    the event loop, it would hold /health up with it (and time out unreleased)."""
    started, release = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}
    real_hash = credentials.hash_password

    def held_hash(password: str) -> str:
        started.set()
        seen["released"] = release.wait(timeout=5)
        return real_hash(password)

    monkeypatch.setattr(credentials, "hash_password", held_hash)
    registering = asyncio.create_task(register(api))
    assert await asyncio.to_thread(started.wait, 5), "the hash never started"
    health = await api.request("GET", "/health")
    release.set()
    assert health.status_code == 200
    assert (await registering).status_code == 201
    assert seen["released"], "/health answered only after the hash gave up waiting"


async def test_password_work_runs_at_most_its_slots_at_once(monkeypatch):
    lock, active, most = threading.Lock(), [0], [0]

    def counted_hash(password: str) -> str:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return "hashed"

    monkeypatch.setattr(credentials, "hash_password", counted_hash)
    passwords = credentials.PasswordHashing(2)
    assert await asyncio.gather(*(passwords.hash("p") for _ in range(6))) == ["hashed"] * 6
    assert most[0] == 2
