"""A worker killed in the middle of the pipeline: another one finishes the run, once."""

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.module import ModuleVersion
from models.platform import AuditLogEntry
from tests import archives
from tests.helpers import sample_listing, wait_until
from tests.osv_fake import osv_fake
from worker import build_worker

pytestmark = pytest.mark.workflow
ROOT = Path(__file__).resolve().parents[1]


def start_worker_process(settings, database_url: str, temporal_target: str, osv_url: str):
    env = {
        **os.environ,
        "MARKETPLACE_DATABASE_URL": database_url,
        "MARKETPLACE_TEMPORAL_ADDRESS": temporal_target,
        "MARKETPLACE_TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
        "MARKETPLACE_DATA_DIR": str(settings.data_dir),
        "MARKETPLACE_OSV_URL": osv_url,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.fixture
def settings(settings):
    """The scan is taken for dead after seconds of silence, not the production 12 s, and
    steps time out sooner: the killed worker's scan runs again on the survivor sooner."""
    return settings.model_copy(
        update={
            "ingestion_scan_heartbeat": timedelta(seconds=4),
            "ingestion_step_timeout": timedelta(seconds=30),
        }
    )


async def wait_for_step(sessions, version_id: int, step: str) -> None:
    async def reached() -> bool:
        async with sessions() as session:
            row = await session.get(ModuleVersion, version_id)
            return row is not None and row.pipeline_step == step

    await wait_until(reached, f"the pipeline reaching {step}")


async def test_a_worker_killed_mid_scan_is_replaced_and_the_version_published_once(
    committed_api, make_committed, committed, settings, database_url, temporal_dev
):
    api = committed_api
    owner, _ = await make_committed.publisher()
    module = await sample_listing(api, owner)
    target = temporal_dev.client.service_client.config.target_host
    with osv_fake() as osv:
        osv.mode = "hang"
        doomed = start_worker_process(settings, database_url, target, osv.url)
        try:
            accepted = (
                await api.request(
                    "POST",
                    f"/api/v1/publisher/modules/{module['id']}/versions",
                    as_user=owner,
                    files={"file": ("p.zip", archives.sample_zip(), "application/zip")},
                )
            ).json()
            version_id = accepted["version"]["id"]
            await wait_for_step(committed, version_id, "scan")
        finally:
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait(timeout=10)
        osv.mode = "ok"

        survivor = settings.model_copy(update={"osv_url": osv.url})
        async with build_worker(temporal_dev.client, survivor, committed):
            handle = temporal_dev.client.get_workflow_handle(accepted["workflow_id"])
            outcome = await asyncio.wait_for(handle.result(), timeout=90)
    assert outcome["status"] == "published"

    async with committed() as session:
        versions = (await session.execute(select(ModuleVersion))).scalars().all()
        publications = await session.scalar(
            select(func.count())
            .select_from(AuditLogEntry)
            .where(AuditLogEntry.action == "version.publish")
        )
    assert [(v.version, v.status, v.is_latest) for v in versions] == [("1.0.0", "published", True)]
    assert publications == 1
    stored = list((settings.data_dir / "storage" / "modules").rglob("*.zip"))
    assert len(stored) == 1 and stored[0].read_bytes() == archives.sample_zip()
    assert not list((settings.data_dir / "storage" / "staging").rglob("*.zip"))
