"""`marketplace verify` checks the signed statement: an archive the marketplace signed for
one module passes only as that module and version, whatever signature comes with it;
versions signed before statements (hash only) still verify against the marketplace's
record. The records and keys are the real API's answers."""

import base64
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import cli.main
from cli.publish import PublishError
from cli.verify import verify
from domain.module_signature import statement
from domain.modules import ModuleStatus
from models.module import ModuleVersion
from tests.archives import Entry, build_zip

MODULES = "/api/v1/marketplace/modules"


def package(technical_name: str, version: str, payload: bytes) -> bytes:
    manifest = {"technical_name": technical_name, "version": version, "name": technical_name}
    return build_zip(
        [
            Entry(f"{technical_name}/manifest.json", json.dumps(manifest).encode()),
            Entry(f"{technical_name}/__init__.py", payload),
        ]
    )


@pytest.fixture
async def marketplace(api, make, db, tmp_path):
    """Two published modules, A and B, each with a version signed as the pipeline signs
    now (a statement), and A with an older version signed the legacy way (hash only)."""
    keys = api.http._transport.app.state.adapters.signing_keys
    _, publisher = await make.publisher()
    found = {}
    for name in ("a", "b"):
        module = await make.module(publisher, status=ModuleStatus.PUBLISHED)
        found[name] = module
        rows = [("1.0.0", "statement", False), ("1.1.0", "statement", True)]
        if name == "a":
            rows[0] = ("1.0.0", "legacy", False)
        for number, form, latest in rows:
            data = package(module.technical_name, number, f"# {name} {number}\n".encode())
            path = tmp_path / f"{name}-{number}.zip"
            path.write_bytes(data)
            sha = hashlib.sha256(data).hexdigest()
            if form == "legacy":
                signed = keys.sign_file(path)
                fields = {"signature_format": "archive-sha256/v1"}
            else:
                text = statement(
                    slug=module.slug,
                    technical_name=module.technical_name,
                    version=number,
                    sha256=sha,
                )
                signed = keys.sign_statement(text)
                fields = {
                    "signature_format": "fastvue-module-signature/v2",
                    "signed_statement": text,
                }
            async with db() as session:
                session.add(
                    ModuleVersion(
                        module_id=module.id,
                        version=number,
                        zip_file_url=f"modules/{module.technical_name}/{number}.zip",
                        zip_file_hash=sha,
                        zip_file_size=len(data),
                        signature=signed.signature_b64,
                        signature_key_id=signed.key_id,
                        status="published",
                        is_latest=latest,
                        **fields,
                    )
                )
                await session.commit()
    return found


async def api_transport(api, slugs) -> httpx.MockTransport:
    """The API's answers to what `marketplace verify` asks, served to its sync client."""
    answers = {
        "/api/v1/marketplace/signing-keys": await api.request(
            "GET", "/api/v1/marketplace/signing-keys"
        )
    }
    for slug in slugs:
        path = f"{MODULES}/{slug}/versions"
        answers[path] = await api.request("GET", path)

    def handle(request: httpx.Request) -> httpx.Response:
        answer = answers.get(request.url.path)
        if answer is None:
            return httpx.Response(404, json={"error": "not_found", "detail": request.url.path})
        return httpx.Response(answer.status_code, content=answer.content)

    return httpx.MockTransport(handle)


async def test_the_versions_record_shows_what_was_signed(api, marketplace):
    a = marketplace["a"]
    listed = {
        v["version"]: v for v in (await api.request("GET", f"{MODULES}/{a.slug}/versions")).json()
    }
    assert listed["1.1.0"]["signature_format"] == "fastvue-module-signature/v2"
    assert listed["1.1.0"]["signed_statement"] == statement(
        slug=a.slug,
        technical_name=a.technical_name,
        version="1.1.0",
        sha256=listed["1.1.0"]["sha256"],
    )
    assert listed["1.0.0"]["signature_format"] == "archive-sha256/v1"
    assert listed["1.0.0"]["signed_statement"] is None
    link = (
        await api.request("GET", f"{MODULES}/{a.slug}/download", params={"redirect": "false"})
    ).json()
    assert link["signature_format"] == "fastvue-module-signature/v2"
    assert link["signed_statement"] == listed["1.1.0"]["signed_statement"]
    redirect = await api.request("GET", f"{MODULES}/{a.slug}/download")
    assert redirect.headers["x-signature-format"] == "fastvue-module-signature/v2"


async def test_an_archive_verifies_as_its_own_module_and_version(api, marketplace, tmp_path):
    a = marketplace["a"]
    transport = await api_transport(api, [a.slug])
    verdict = verify(
        tmp_path / "a-1.1.0.zip", api="http://api", module_slug=a.slug, transport=transport
    )
    assert verdict.startswith(f"OK {a.technical_name} 1.1.0") and f"module {a.slug}" in verdict
    verdict = verify(
        tmp_path / "a-1.1.0.zip",
        api="http://api",
        module_slug=a.slug,
        version="1.1.0",
        transport=transport,
    )
    assert verdict.startswith("OK")


async def test_a_legacy_signature_still_verifies_against_the_record(api, marketplace, tmp_path):
    a = marketplace["a"]
    transport = await api_transport(api, [a.slug])
    verdict = verify(
        tmp_path / "a-1.0.0.zip", api="http://api", module_slug=a.slug, transport=transport
    )
    assert verdict.startswith(f"OK {a.technical_name} 1.0.0") and "legacy signature" in verdict
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes((tmp_path / "a-1.0.0.zip").read_bytes() + b"\0")
    with pytest.raises(PublishError, match="hash mismatch"):
        verify(tampered, api="http://api", module_slug=a.slug, transport=transport)


async def test_an_archive_signed_for_a_fails_as_b(api, marketplace, tmp_path):
    """The attack: A's archive, with A's valid marketplace signature (from a mirror, or the
    X-Signature header of A's download), presented as module B."""
    a, b = marketplace["a"], marketplace["b"]
    transport = await api_transport(api, [a.slug, b.slug])
    archive = tmp_path / "a-1.1.0.zip"
    record = {
        v["version"]: v for v in (await api.request("GET", f"{MODULES}/{a.slug}/versions")).json()
    }["1.1.0"]
    keys = (await api.request("GET", "/api/v1/marketplace/signing-keys")).json()
    pem = next(k for k in keys if k["key_id"] == record["signature_key_id"])["public_key_pem"]

    with pytest.raises(PublishError, match=f"does not cover {b.slug} 1.1.0"):
        verify(
            archive,
            api="http://api",
            module_slug=b.slug,
            signature=record["signature"],
            key_id=record["signature_key_id"],
            transport=transport,
        )
    with pytest.raises(PublishError, match="hash mismatch"):
        verify(archive, api="http://api", module_slug=b.slug, transport=transport)
    with pytest.raises(PublishError, match=r"is version 1\.1\.0, not 1\.0\.0"):
        verify(archive, api="http://api", module_slug=a.slug, version="1.0.0", transport=transport)
    # The same signature is good for A, the module it was made for.
    assert verify(
        archive,
        api="http://api",
        module_slug=a.slug,
        signature=record["signature"],
        key_id=record["signature_key_id"],
        transport=transport,
    ).startswith("OK")

    # From the terminal, offline with the published key: B refused, A verified.
    key_file = tmp_path / "pub.pem"
    key_file.write_text(pem)
    runner = CliRunner()
    common = [
        "verify",
        str(archive),
        "--signature",
        record["signature"],
        "--public-key",
        str(key_file),
    ]
    as_b = runner.invoke(cli.main.app, [*common, "--module", b.slug])
    assert as_b.exit_code == 1 and "NOT VERIFIED" in as_b.output
    as_a = runner.invoke(cli.main.app, [*common, "--module", a.slug])
    assert as_a.exit_code == 0, as_a.output

    # And the documented openssl check over the statement says the same.
    (tmp_path / "sig.der").write_bytes(base64.b64decode(record["signature"]))
    for slug, technical_name, good in (
        (a.slug, a.technical_name, True),
        (b.slug, b.technical_name, False),
    ):
        text = statement(
            slug=slug, technical_name=technical_name, version="1.1.0", sha256=record["sha256"]
        )
        (tmp_path / "statement.txt").write_text(text)
        checked = subprocess.run(
            [
                "openssl",
                "dgst",
                "-sha256",
                "-verify",
                "pub.pem",
                "-signature",
                "sig.der",
                "statement.txt",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert (checked.returncode == 0) is good, checked.stdout + checked.stderr


def readme_recipe() -> str:
    """The README's how-to-verify-without-our-CLI shell block, verbatim."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.DOTALL)
    [recipe] = [block for block in blocks if "fastvue-module-signature/v2" in block]
    return recipe


async def test_the_readme_recipe_checks_the_statement_with_openssl(api, marketplace, tmp_path):
    a, b = marketplace["a"], marketplace["b"]
    listed = (await api.request("GET", f"{MODULES}/{a.slug}/versions")).json()
    record = {v["version"]: v for v in listed}["1.1.0"]
    keys = (await api.request("GET", "/api/v1/marketplace/signing-keys")).json()
    pem = next(k for k in keys if k["key_id"] == record["signature_key_id"])["public_key_pem"]
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "module.zip").write_bytes((tmp_path / "a-1.1.0.zip").read_bytes())

    def run(slug: str, technical_name: str, version: str) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ["PATH"],
            "SLUG": slug,
            "TECHNICAL_NAME": technical_name,
            "VERSION": version,
            "SIGNATURE": record["signature"],
        }
        return subprocess.run(
            ["bash", "-c", "set -e\n" + readme_recipe()],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )

    good = run(a.slug, a.technical_name, "1.1.0")
    assert good.returncode == 0 and "Verified OK" in good.stdout, good.stdout + good.stderr
    assert (tmp_path / "statement.txt").read_text() == record["signed_statement"]
    for claimed in ((b.slug, b.technical_name, "1.1.0"), (a.slug, a.technical_name, "1.0.0")):
        refused = run(*claimed)
        assert refused.returncode != 0 and "Verified OK" not in refused.stdout, claimed
