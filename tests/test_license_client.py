"""The reference license client (clients/fastvue_license) against the real API: activate and
verify with fresh nonces, tampered and replayed answers refused, offline grace ending at
valid_until, key rotation followed only through an endorsement by a pinned key, offline
files bound to their instance; the `marketplace license` commands; and the package standing
on its own (nothing of the marketplace imported)."""

import ast
import asyncio
import dataclasses
import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import update
from typer.testing import CliRunner

from cli.main import app as cli_app
from domain.modules import ModuleStatus
from fastvue_license import (
    AnswerCache,
    Instance,
    LicenseClient,
    TrustStore,
    key_id,
    load_public_keys,
)
from integrations.license_signing import LicenseKeyRing, endorse, public_pem
from models.commerce import License
from tests.factories import issue_license as issue

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "clients" / "fastvue_license"
BASE = "/api/v1/marketplace/licenses"
DOMAIN = "shop.acme.test"


def app_of(api):
    return api.http._transport.app


@pytest.fixture
async def owned(api, make):
    buyer = await make.user()
    _, publisher = await make.publisher()
    module = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    return buyer, module


@pytest.fixture
async def pinned(api) -> list:
    """What an instance ships with: the marketplace's keys of today."""
    keys = (await api.request("GET", f"{BASE}/public-key")).json()
    return load_public_keys(json.dumps(keys))


class Intercept(httpx.AsyncBaseTransport):
    """The real API behind a man in the middle: ``rewrite`` may change each answer, and
    ``down`` makes the marketplace unreachable."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.rewrite = None
        self.down = False
        self.requests: list[dict] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.content:
            self.requests.append(json.loads(request.content))
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if self.rewrite is not None:
            body = self.rewrite(body)
        return httpx.Response(response.status_code, headers=response.headers, content=body)


@pytest.fixture
async def wire(api):
    intercept = Intercept(api.http._transport)
    async with httpx.AsyncClient(transport=intercept, base_url="http://testserver") as http:
        intercept.http = http
        yield intercept


def client_for(wire, pinned, tmp_path, key, module, **overrides) -> LicenseClient:
    fields = {"instance_id": "shop-1", "domain": DOMAIN, "module": module.technical_name}
    instance = Instance(key, **{**fields, **overrides.pop("instance", {})})
    return LicenseClient(
        "http://testserver",
        instance,
        trust=overrides.pop(
            "trust", TrustStore(pinned, learned_path=tmp_path / "license-keys.json")
        ),
        cache=AnswerCache(overrides.pop("cache", tmp_path / "license-answer.json")),
        http=wire.http,
        **overrides,
    )


async def test_activate_then_verify_each_with_a_fresh_nonce_and_the_grant_is_cached(
    api, owned, db, wire, pinned, tmp_path
):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module)
    client = client_for(wire, pinned, tmp_path, key, module)
    activated = await client.activate()
    assert activated.valid and activated.code == "VALID", activated.detail
    checked = await client.check()
    assert checked.valid and checked.source == "online"
    assert checked.answer.domain == DOMAIN and checked.answer.module == module.technical_name
    nonces = [body["nonce"] for body in wire.requests]
    assert len(nonces) == 2 and len(set(nonces)) == 2 and all(len(n) >= 16 for n in nonces)
    assert checked.answer.nonce == nonces[-1]

    cache = tmp_path / "license-answer.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert key not in cache.read_text(), "the full key is never written down"
    assert client.check_cached().valid


async def test_a_tampered_answer_is_refused_online_and_in_the_cache(
    api, owned, db, wire, pinned, tmp_path
):
    buyer, module = owned
    now = datetime.now(UTC)
    key = await issue(db, app_of(api), buyer, module, expires_at=now + timedelta(days=2))
    client = client_for(wire, pinned, tmp_path, key, module)
    assert (await client.activate()).valid
    good_cache = (tmp_path / "license-answer.json").read_text()

    # A man in the middle stretches valid_until by a year: one changed byte of the payload.
    def stretch(body: bytes) -> bytes:
        document = json.loads(body)
        year = now.year
        document["payload"] = document["payload"].replace(
            f'"valid_until":"{year}', f'"valid_until":"{year + 1}'
        )
        return json.dumps(document).encode()

    wire.rewrite = stretch
    tampered = await client.check()
    assert not tampered.valid and tampered.code == "INVALID_SIGNATURE"
    assert (tmp_path / "license-answer.json").read_text() == good_cache, "cache untouched"

    # The same edit made to the cached file is refused offline.
    wire.rewrite, wire.down = None, True
    (tmp_path / "license-answer.json").write_text(stretch(good_cache.encode()).decode())
    offline = await client.check()
    assert not offline.valid and offline.code == "INVALID_SIGNATURE", offline.detail


async def test_answers_replayed_from_another_request_or_domain_are_refused(
    api, owned, db, wire, pinned, tmp_path
):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module, max_instances=2)
    genuine = client_for(wire, pinned, tmp_path / "genuine", key, module)
    assert (await genuine.activate()).valid
    recorded = (tmp_path / "genuine" / "license-answer.json").read_bytes()

    # Another instance (another domain) under attack: its own check is answered with the
    # genuine instance's signed grant.
    elsewhere = client_for(
        wire,
        pinned,
        tmp_path / "evil",
        key,
        module,
        instance={"domain": "evil.test"},
    )
    wire.rewrite = lambda body: recorded
    replayed = await elsewhere.check()
    assert not replayed.valid and replayed.code == "REPLAYED", replayed.detail

    # The same instance id moved to another domain, the cached grant copied along: refused
    # offline, for the domain it binds.
    wire.rewrite, wire.down = None, True
    (tmp_path / "evil").mkdir(exist_ok=True)
    (tmp_path / "evil" / "license-answer.json").write_bytes(recorded)
    cached = await elsewhere.check()
    assert not cached.valid and cached.code == "DOMAIN_MISMATCH", cached.detail

    # And the genuine instance's own earlier answer, replayed online, is not fresh.
    wire.down = False
    wire.rewrite = lambda body: recorded
    stale = await genuine.verify()
    assert not stale.valid and stale.code == "REPLAYED"


async def test_offline_grace_lasts_until_valid_until_and_a_refusal_ends_it(
    api, owned, db, wire, pinned, tmp_path
):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module)
    client = client_for(wire, pinned, tmp_path, key, module)
    assert (await client.activate()).valid
    granted = (await client.check()).answer

    wire.down = True
    grace = await client.check()
    assert grace.valid and grace.source == "cache" and "unreachable" in grace.detail
    skew = client.clock_skew
    within = client.check_cached(now=granted.valid_until + skew - timedelta(seconds=1))
    assert within.valid
    over = client.check_cached(now=granted.valid_until + skew)
    assert not over.valid and over.code == "EXPIRED" and over.source == "cache"
    client.clock = lambda: granted.valid_until + skew + timedelta(hours=1)
    expired = await client.check()
    assert not expired.valid and expired.code == "EXPIRED"

    # A genuine refusal (the license revoked) clears the cache: no grace after it.
    client.clock = lambda: datetime.now(UTC)
    wire.down = False
    async with db() as session:
        await session.execute(update(License).values(status="revoked"))
        await session.commit()
    revoked = await client.check()
    assert not revoked.valid and revoked.code == "REVOKED"
    wire.down = True
    after = await client.check()
    assert not after.valid and after.code == "NO_CACHED_ANSWER"


def rotate(app, new_key=None, endorsements=()) -> LicenseKeyRing:
    """The marketplace switches to a new license key (``new_key`` or a fresh one), the old
    one retired, publishing the endorsements given."""
    old: LicenseKeyRing = app.state.adapters.license_keys
    new_key = new_key or ed25519.Ed25519PrivateKey.generate()
    ring = LicenseKeyRing(new_key, [old.current.public_key()]).endorsing(list(endorsements))
    app.state.adapters = dataclasses.replace(app.state.adapters, license_keys=ring)
    return ring


async def test_a_rotated_key_is_refused_unless_a_pinned_key_endorsed_it(
    api, owned, db, wire, pinned, tmp_path
):
    buyer, module = owned
    app = app_of(api)
    key = await issue(db, app, buyer, module)
    client = client_for(wire, pinned, tmp_path, key, module)
    assert (await client.activate()).valid
    old_ring: LicenseKeyRing = app.state.adapters.license_keys

    # Rotated without an endorsement: listed at /public-key, but not trusted for that.
    successor = ed25519.Ed25519PrivateKey.generate()
    ring = rotate(app, successor)
    listed = (await api.request("GET", f"{BASE}/public-key")).json()
    assert ring.key_id in {k["key_id"] for k in listed}
    unendorsed = await client.check()
    assert not unendorsed.valid and unendorsed.code == "INVALID_SIGNATURE"
    assert "not trusted" in unendorsed.detail

    # An endorsement by a key nobody pinned (whoever answers for the marketplace can make
    # one) changes nothing. The marketplace would not publish it, so the wire serves it.
    stranger = LicenseKeyRing(ed25519.Ed25519PrivateKey.generate())
    forged = endorse(stranger, public_pem(successor.public_key()), datetime.now(UTC))
    with pytest.raises(ValueError, match="not signed by a license key"):
        LicenseKeyRing(successor, [old_ring.current.public_key()]).endorsing([forged])
    wire.rewrite = lambda body: json.dumps([forged]).encode() if body == b"[]" else body
    still_refused = await client.check()
    assert not still_refused.valid and still_refused.code == "INVALID_SIGNATURE"
    assert ring.key_id not in client.trust.trusted_ids
    wire.rewrite = None

    # Endorsed by the pinned key while it still signed, and published: followed.
    endorsement = endorse(old_ring, public_pem(successor.public_key()), datetime.now(UTC))
    app.state.adapters = dataclasses.replace(app.state.adapters, license_keys=old_ring)
    ring = rotate(app, successor, [endorsement])
    served = (await api.request("GET", f"{BASE}/key-endorsements")).json()
    assert served == [endorsement]
    rotated = await client.check()
    assert rotated.valid and rotated.answer.key_id == ring.key_id, rotated.detail

    # Remembered: an instance restarting offline trusts the new key from its pins and the
    # learnt endorsement, and an edited learnt file adds nothing.
    restarted = TrustStore(pinned, learned_path=tmp_path / "license-keys.json")
    assert ring.key_id in restarted.trusted_ids and ring.key_id not in restarted.pinned_ids
    wire.down = True
    assert (await client_for(wire, pinned, tmp_path, key, module).check()).valid
    learned = json.loads((tmp_path / "license-keys.json").read_text())
    learned[0]["payload"] = learned[0]["payload"].replace('"contract":1', '"contract":1 ')
    (tmp_path / "license-keys.json").write_text(json.dumps(learned))
    edited = TrustStore(pinned, learned_path=tmp_path / "license-keys.json")
    assert edited.trusted_ids == edited.pinned_ids


async def test_the_marketplace_refuses_to_start_with_an_endorsement_it_did_not_sign(tmp_path):
    ring = LicenseKeyRing(ed25519.Ed25519PrivateKey.generate())
    successor = ed25519.Ed25519PrivateKey.generate()
    good = endorse(ring, public_pem(successor.public_key()), datetime.now(UTC))
    assert LicenseKeyRing(successor, [ring.current.public_key()]).endorsing([good]).endorsements
    bad_signature = {**good, "signature": good["signature"][::-1]}
    renamed = {**good, "key_id": key_id(successor.public_key())}
    for wrong in (bad_signature, renamed, {"payload": "{}"}):
        with pytest.raises(ValueError, match="endorsement #1"):
            LicenseKeyRing(successor, [ring.current.public_key()]).endorsing([wrong])


async def test_an_offline_file_is_accepted_by_its_instance_alone(
    api, owned, db, wire, pinned, tmp_path
):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module, max_instances=2)
    client = client_for(wire, pinned, tmp_path, key, module)
    assert (await client.activate()).valid
    response = await api.request(
        "GET",
        f"{BASE}/{key}/offline",
        params={"instance_id": "shop-1", "domain": DOMAIN},
        as_user=buyer,
    )
    assert response.status_code == 200, response.text
    license_file = tmp_path / "fastvue.license"
    license_file.write_text(response.text)
    wire.down = True  # an air-gapped instance: the file and the pinned keys only

    mine = client.check_offline_file(license_file)
    assert mine.valid and mine.source == "offline_file", mine.detail
    assert mine.offline_license.instance_id == "shop-1"

    another_instance = client_for(
        wire, pinned, tmp_path / "2", key, module, instance={"instance_id": "shop-2"}
    )
    copied = another_instance.check_offline_file(license_file)
    assert not copied.valid and copied.code == "REPLAYED"
    another_domain = client_for(
        wire, pinned, tmp_path / "3", key, module, instance={"domain": "evil.test"}
    )
    moved = another_domain.check_offline_file(license_file)
    assert not moved.valid and moved.code == "DOMAIN_MISMATCH"

    ended = mine.offline_license.not_after + client.clock_skew
    assert client.check_offline_file(license_file, now=ended).code == "EXPIRED"
    edited = license_file.read_text().replace('\\"shop-1\\"', '\\"shop-2\\"')
    assert edited != license_file.read_text()
    forged = tmp_path / "forged.license"
    forged.write_text(edited)
    refused = another_instance.check_offline_file(forged)
    assert not refused.valid and refused.code == "INVALID_SIGNATURE"


# --- the CLI -------------------------------------------------------------------------


def run_cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli_app, list(args), env=env or {}, catch_exceptions=False)


async def test_license_check_cli_uses_the_client_and_exits_by_validity(
    api, owned, db, wire, pinned, tmp_path
):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module)
    assert (await client_for(wire, pinned, tmp_path, key, module).activate()).valid
    keys_file = tmp_path / "pinned.pem"
    keys_file.write_text("".join(public_pem(k) for k in pinned))
    args = [
        "license",
        "check",
        "--key",
        key,
        "--instance-id",
        "shop-1",
        "--domain",
        DOMAIN,
        "--module",
        module.technical_name,
        "--pinned-keys",
        str(keys_file),
        "--cache",
        str(tmp_path / "license-answer.json"),
        "--api",
        "http://127.0.0.1:9",  # nothing listens: the cached grant carries the instance
    ]
    grace = await asyncio.to_thread(run_cli, *args)
    assert grace.exit_code == 0, grace.output
    assert grace.output.startswith("VALID VALID (cache)")

    other_domain = [*args]
    other_domain[other_domain.index(DOMAIN)] = "evil.test"
    refused = await asyncio.to_thread(run_cli, *other_domain, "--offline")
    assert refused.exit_code == 1 and "INVALID DOMAIN_MISMATCH" in refused.output

    bad_keys = await asyncio.to_thread(
        run_cli, *args[:-4], str(tmp_path / "missing.pem"), *args[-4:]
    )
    assert bad_keys.exit_code == 2


def test_endorse_key_cli_signs_with_the_configured_key(tmp_path, monkeypatch):
    old = ed25519.Ed25519PrivateKey.generate()
    new = ed25519.Ed25519PrivateKey.generate()
    pem_file = tmp_path / "new.pem"
    pem_file.write_text(public_pem(new.public_key()))
    monkeypatch.setenv(
        "MARKETPLACE_LICENSE_SIGNING_PRIVATE_KEY_PEM",
        old.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )
    monkeypatch.setenv("MARKETPLACE_DATA_DIR", str(tmp_path / "data"))
    result = run_cli("license", "endorse-key", str(pem_file))
    assert result.exit_code == 0, result.output
    endorsement = json.loads(result.output)
    trust = TrustStore([old.public_key()])
    assert trust.accept_endorsements([endorsement]) == {key_id(new.public_key())}


# --- the package on its own ------------------------------------------------------------


def declared_dependencies() -> set[str]:
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0] for dep in project["dependencies"]}


def test_the_client_declares_few_dependencies_all_in_the_marketplace_locks():
    assert declared_dependencies() == {"cryptography", "httpx", "idna"}
    lock = (ROOT / "requirements.lock").read_text()
    for name in declared_dependencies():
        assert f"\n{name}==" in lock, f"{name} is locked, so `make install` brings it"


def test_the_client_imports_only_the_standard_library_and_its_dependencies():
    allowed = set(sys.stdlib_module_names) | declared_dependencies() | {"fastvue_license"}
    imported = set()
    for path in (CLIENT / "fastvue_license").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert imported <= allowed, imported - allowed


def test_the_client_works_with_the_marketplace_out_of_reach(tmp_path):
    """In a fresh interpreter where importing any marketplace package fails, the client
    imports and checks a signed document."""
    blocked = ["api", "services", "models", "domain", "integrations", "cli", "settings"]
    script = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError('the marketplace is not installed here: ' + name)
sys.meta_path.insert(0, Block())
import fastvue_license
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
key = ed25519.Ed25519PrivateKey.generate()
trust = fastvue_license.TrustStore([key.public_key()])
assert trust.key(fastvue_license.key_id(key.public_key())) is not None
assert not [m for m in sys.modules if m.split('.')[0] in {blocked!r}]
print('ok')
"""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONSTARTUP")
    }
    env["PYTHONPATH"] = str(CLIENT)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
