"""Reading just enough of an uploaded archive to name its version.

The version number names the version row and the workflow, so it is needed before the
pipeline starts; everything else about the archive is judged by the pipeline.
"""

import json
from pathlib import Path

from domain.archive import ArchiveProblem, ArchiveRejected
from domain.errors import DomainError
from domain.semver import parse_semver
from integrations import zip_archive

MANIFEST_CODES: dict[str, str] = {
    ArchiveProblem.MEMBER_MISSING: ArchiveProblem.MANIFEST_MISSING,
    ArchiveProblem.MEMBER_TOO_LARGE: ArchiveProblem.MANIFEST_TOO_LARGE,
}


def peek_version(path: Path, technical_name: str, max_manifest_bytes: int) -> str:
    try:
        raw = zip_archive.read_member(path, f"{technical_name}/manifest.json", max_manifest_bytes)
    except ArchiveRejected as error:
        code = MANIFEST_CODES.get(error.code, error.code)
        raise DomainError(code, error.detail) from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DomainError("manifest_not_json", "manifest.json is not valid JSON") from None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str):
        raise DomainError("manifest_invalid", "manifest.json has no version string")
    parse_semver(version)
    return version
