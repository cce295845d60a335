"""`marketplace verify`: check an archive against the marketplace's signature for it.

The check is of the signed statement (``domain.module_signature``): this command builds
the statement itself from what the user expects (the module slug asked for, the version
asked for or else the archive manifest's, the manifest's technical name) and the SHA-256
of the file in hand, and checks the signature against that. A validly signed archive of
another module or version therefore fails, wherever its signature came from.

The signature comes from the marketplace's record of the version (its public versions
list), or is given (``--signature``, e.g. the ``X-Signature`` header a mirror passed on).
Versions signed before statements existed (``archive-sha256/v1``) verify only against the
marketplace's record: their signature covers the hash alone, and the record binds that
hash to the module and version.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cli.publish import USER_AGENT, PublishError, _error, manifest_of
from domain.module_signature import SignatureFormat, statement
from integrations.signing import statement_verifies_with_public_pem, verify_with_public_pem


@dataclass(frozen=True)
class Expected:
    """What the archive must be: the module asked for, and the manifest's name and
    version (checked against the version asked for, when one was)."""

    module_slug: str
    technical_name: str
    version: str
    sha256: str


def expected_of(path: Path, module_slug: str, version: str | None) -> Expected:
    manifest = manifest_of(path)
    technical_name, number = manifest.get("technical_name"), manifest.get("version")
    if not isinstance(technical_name, str) or not isinstance(number, str):
        raise PublishError(f"{path}: the manifest names no technical_name and version")
    if version is not None and version != number:
        raise PublishError(f"the archive is version {number}, not {version}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Expected(module_slug, technical_name, number, digest)


def expected_statement(expected: Expected) -> str:
    try:
        return statement(
            slug=expected.module_slug,
            technical_name=expected.technical_name,
            version=expected.version,
            sha256=expected.sha256,
        )
    except ValueError as error:
        raise PublishError(str(error)) from None


def _key(keys: list[dict[str, Any]], key_id: str) -> dict[str, Any]:
    key = next((k for k in keys if k.get("key_id") == key_id), None)
    if key is None:
        raise PublishError(f"unknown signing key {key_id}")
    return key


def check_record(
    path: Path, expected: Expected, record: dict[str, Any], keys: list[dict[str, Any]]
) -> str:
    """Check the archive against the marketplace's record of the version (an entry of
    ``GET /modules/{slug}/versions``) and the published keys; a verdict or PublishError."""
    if record.get("sha256") != expected.sha256:
        raise PublishError(
            f"hash mismatch: file {expected.sha256}, marketplace {record.get('sha256')} "
            f"for {expected.module_slug} {expected.version}"
        )
    signature, key_id = record.get("signature"), record.get("signature_key_id")
    if not signature or not key_id:
        raise PublishError(f"{expected.module_slug} {expected.version} is not signed")
    key = _key(keys, key_id)
    form = record.get("signature_format", SignatureFormat.ARCHIVE_SHA256.value)
    if form == SignatureFormat.STATEMENT:
        return check_signature(expected, signature, key)
    if form != SignatureFormat.ARCHIVE_SHA256:
        raise PublishError(f"unknown signature format {form!r}")
    if not verify_with_public_pem(path, signature, key["public_key_pem"]):
        raise PublishError("the signature does not match this file")
    return (
        f"OK {expected.technical_name} {expected.version}: sha256 {expected.sha256}, "
        f"signed by key {key['key_id']} ({key['status']}), legacy signature of the hash "
        f"alone, bound to {expected.module_slug} {expected.version} by the marketplace's record"
    )


def check_signature(expected: Expected, signature: str, key: dict[str, Any]) -> str:
    """Check a statement signature (format v2) against the statement this archive must
    carry; a verdict or PublishError."""
    text = expected_statement(expected)
    if not statement_verifies_with_public_pem(text, signature, key["public_key_pem"]):
        raise PublishError(
            f"the signature does not cover {expected.module_slug} {expected.version} "
            f"({expected.technical_name}) with this file's hash: it is for another module, "
            "version or file, or not the marketplace's"
        )
    return (
        f"OK {expected.technical_name} {expected.version}: sha256 {expected.sha256}, "
        f"module {expected.module_slug}, signed by key {key['key_id']} ({key['status']})"
    )


def verify(
    path: Path,
    *,
    api: str,
    module_slug: str,
    version: str | None = None,
    signature: str | None = None,
    key_id: str | None = None,
    public_key_pem: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """Check the archive is ``module_slug`` (at ``version``, else its manifest's) as the
    marketplace signed it; a one-line verdict or PublishError. With ``signature`` (and
    ``public_key_pem``, or ``key_id`` to look up) the given statement signature is checked,
    else the marketplace's record of the version."""
    expected = expected_of(path, module_slug, version)
    if signature is not None and public_key_pem is not None:
        key = {"key_id": key_id or "given", "status": "given", "public_key_pem": public_key_pem}
        return check_signature(expected, signature, key)
    with httpx.Client(
        base_url=api, headers={"User-Agent": USER_AGENT}, timeout=30, transport=transport
    ) as client:
        keys = client.get("/api/v1/marketplace/signing-keys")
        if keys.status_code != 200:
            raise PublishError(_error(keys))
        if signature is not None:
            if key_id is None:
                raise PublishError("--signature needs --key-id or --public-key")
            return check_signature(expected, signature, _key(keys.json(), key_id))
        listed = client.get(f"/api/v1/marketplace/modules/{module_slug}/versions")
        if listed.status_code != 200:
            raise PublishError(_error(listed))
    record = next((v for v in listed.json() if v.get("version") == expected.version), None)
    if record is None:
        raise PublishError(f"{module_slug} has no published version {expected.version}")
    return check_record(path, expected, record, keys.json())
