"""`marketplace publish`: upload a package with a progress bar, then follow the pipeline."""

import json
import time
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TransferSpeedColumn

USER_AGENT = "marketplace-cli"
TERMINAL = {"published", "rejected", "deprecated"}


class PublishError(Exception):
    pass


def manifest_of(path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.count("/") == 1]
            manifest = next((n for n in names if n.endswith("/manifest.json")), None)
            if manifest is None:
                raise PublishError(f"{path} has no <technical_name>/manifest.json")
            parsed: dict[str, Any] = json.loads(archive.read(manifest))
            return parsed
    except (zipfile.BadZipFile, json.JSONDecodeError) as error:
        raise PublishError(f"{path} is not a module package: {error}") from None


class _Reading:
    """A file whose reads advance a progress bar."""

    def __init__(self, handle: BinaryIO, progress: Progress, task: TaskID) -> None:
        self.handle, self.progress, self.task = handle, progress, task

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.progress.advance(self.task, len(chunk))
        return chunk


def _error(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"{response.status_code} {body.get('error')}: {body.get('detail')}"
    except ValueError:
        return f"{response.status_code} {response.text[:200]}"


def find_module_id(client: httpx.Client, technical_name: str) -> int:
    response = client.get("/api/v1/publisher/modules", params={"limit": 100})
    if response.status_code == 403:
        raise PublishError(
            "this token cannot list your modules (it lacks modules:write): pass --module ID"
        )
    if response.status_code != 200:
        raise PublishError(_error(response))
    for item in response.json()["items"]:
        if item["technical_name"] == technical_name:
            return int(item["id"])
    raise PublishError(f"none of your modules is named {technical_name}")


def publish(
    path: Path,
    *,
    api: str,
    token: str,
    module_id: int | None,
    release_notes: str | None,
    console: Console,
    poll_seconds: float = 1.0,
    timeout_seconds: float = 900,
) -> dict[str, Any]:
    """Upload ``path`` and follow it to the end; returns the final version document."""
    manifest = manifest_of(path)
    headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
    with httpx.Client(base_url=api, headers=headers, timeout=120) as client:
        if module_id is None:
            module_id = find_module_id(client, manifest.get("technical_name", ""))
        size = path.stat().st_size
        with (
            path.open("rb") as handle,
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=console,
                transient=True,
            ) as progress,
        ):
            task = progress.add_task(f"uploading {path.name}", total=size)
            response = client.post(
                f"/api/v1/publisher/modules/{module_id}/versions",
                # A duck-typed reader (httpx only calls read()), so not an IO[bytes].
                files={"file": (path.name, _Reading(handle, progress, task), "application/zip")},  # type: ignore[dict-item]
                data={"release_notes": release_notes} if release_notes else None,
            )
        if response.status_code != 202:
            raise PublishError(_error(response))
        accepted = response.json()
        console.print(
            f"uploaded {manifest.get('technical_name')} {accepted['version']['version']} "
            f"(workflow {accepted['workflow_id']})"
        )
        return follow(client, accepted["status_url"], console, poll_seconds, timeout_seconds)


def follow(
    client: httpx.Client, status_url: str, console: Console, poll: float, timeout: float
) -> dict[str, Any]:
    shown: str | None = None
    deadline = time.monotonic() + timeout
    with console.status("waiting for the pipeline") as spinner:
        while time.monotonic() < deadline:
            response = client.get(status_url)
            if response.status_code != 200:
                raise PublishError(_error(response))
            version: dict[str, Any] = response.json()
            step = (version.get("progress") or {}).get("step") or version.get("pipeline_step")
            line = f"{version['status']}: {step}"
            if line != shown:
                console.print(f"  {line}")
                spinner.update(f"{step}")
                shown = line
            if version["status"] in TERMINAL:
                return version
            if version["status"] == "manual_review" and shown != "review-noted":
                console.print("  held for manual review by an admin")
                shown = "review-noted"
            time.sleep(poll)
    raise PublishError("the pipeline did not finish in time; check the status URL later")
