"""Recording workflow histories from real runs, for the replay test (tests/histories/).

``make record-histories`` runs ``tests/record_histories.py`` with
``MARKETPLACE_RECORD_HISTORIES=1``: it drives every workflow type through the real worker
and hands each run to ``keep_history``, which writes its history to
``tests/histories/<name>.<date>.json``, where the replay test picks it up. Outside such a
run ``keep_history`` does nothing.

The date in the name tells the histories of one workflow's versions apart: after a change
behind ``workflow.patched`` the new recording goes beside the old one, which stays while
runs of the old code may still be open (see the README's "Changing a workflow")."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

HISTORIES = Path(__file__).parent / "histories"
RECORDING = os.environ.get("MARKETPLACE_RECORD_HISTORIES") == "1"
RECORDED_ON = os.environ.get("MARKETPLACE_HISTORY_DATE") or datetime.now(UTC).date().isoformat()
"""The version label in the file names: today, unless set (to re-record under a name)."""


async def keep_history(
    client: Client, workflow_id: str, name: str, *, run_id: str | None = None
) -> None:
    """Write a run of ``workflow_id`` (the latest, or ``run_id``) to
    ``histories/<name>.<date>.json`` when recording."""
    if not RECORDING:
        return
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    document = {"workflow_id": workflow_id, "history": history.to_json_dict()}
    path = HISTORIES / f"{name}.{RECORDED_ON}.json"
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
