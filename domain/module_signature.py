"""What a module version's signature covers: the signed statement.

A signature over the archive's hash alone says "the marketplace signed these bytes", not
*which* module and version they are, so any signed archive would pass for any other
module. Since format v2 the marketplace signs a **statement** naming the module (slug and
technical name), the version and the archive's SHA-256, in this exact byte form (UTF-8,
ASCII in practice, every line ending in ``\\n``, no other whitespace)::

    fastvue-module-signature/v2
    module: hello-fastvue
    technical_name: hello_fastvue
    version: 1.2.0
    sha256: 3f5a…(64 lower-case hex digits)

The signature is ECDSA P-256 with SHA-256 over those bytes (DER, base64 in the API), so
``openssl dgst -sha256 -verify pub.pem -signature sig.der statement.txt`` checks it. A
verifier builds the statement itself from what it expects (the slug it asked for, the
manifest's technical name and version, the hash of the file it holds) and checks the
signature against that: a validly signed archive of another module or version fails.

Versions signed before v2 keep their hash-only signature (``ARCHIVE_SHA256``, ECDSA over
the archive's SHA-256); they bind to a module and version only through the marketplace's
record of that version (its published ``sha256``).
"""

import re
from enum import StrEnum

STATEMENT_TAG = "fastvue-module-signature/v2"

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TECHNICAL_NAME = re.compile(r"[a-z][a-z0-9_]*")
_VERSION = re.compile(r"[0-9A-Za-z.+-]{1,50}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class SignatureFormat(StrEnum):
    """What a stored signature covers."""

    ARCHIVE_SHA256 = "archive-sha256/v1"
    """Legacy: ECDSA over the archive's SHA-256 only."""
    STATEMENT = STATEMENT_TAG
    """ECDSA over the statement (``statement``)."""


def statement(*, slug: str, technical_name: str, version: str, sha256: str) -> str:
    """The statement a v2 signature covers; ValueError when a part is not of its form (a
    line break or stray space would make two statements read alike)."""
    for name, value, pattern in (
        ("slug", slug, _SLUG),
        ("technical_name", technical_name, _TECHNICAL_NAME),
        ("version", version, _VERSION),
        ("sha256", sha256, _SHA256),
    ):
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(f"{name} {value!r} cannot be part of a signed statement")
    return (
        f"{STATEMENT_TAG}\n"
        f"module: {slug}\n"
        f"technical_name: {technical_name}\n"
        f"version: {version}\n"
        f"sha256: {sha256}\n"
    )
