"""`marketplace verify`: check an archive against the marketplace's signature for it."""

import hashlib
from pathlib import Path

import httpx

from cli.publish import USER_AGENT, PublishError, _error, manifest_of
from integrations.signing import verify_with_public_pem


def verify(path: Path, *, api: str, module_slug: str) -> str:
    """Check hash and ECDSA signature; returns a one-line verdict or raises PublishError."""
    manifest = manifest_of(path)
    version = manifest.get("version")
    with httpx.Client(base_url=api, headers={"User-Agent": USER_AGENT}, timeout=30) as client:
        link = client.get(
            f"/api/v1/marketplace/modules/{module_slug}/download/{version}",
            params={"redirect": "false"},
        )
        if link.status_code != 200:
            raise PublishError(_error(link))
        keys = client.get("/api/v1/marketplace/signing-keys")
        if keys.status_code != 200:
            raise PublishError(_error(keys))
    published = link.json()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != published["sha256"]:
        raise PublishError(f"hash mismatch: file {digest}, marketplace {published['sha256']}")
    key = next((k for k in keys.json() if k["key_id"] == published["signature_key_id"]), None)
    if key is None:
        raise PublishError(f"unknown signing key {published['signature_key_id']}")
    if not verify_with_public_pem(path, published["signature"], key["public_key_pem"]):
        raise PublishError("the signature does not match this file")
    return (
        f"OK {manifest.get('technical_name')} {version}: sha256 {digest}, "
        f"signed by key {key['key_id']} ({key['status']})"
    )
