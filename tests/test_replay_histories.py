"""Recorded histories of every workflow type replay against today's workflow code.

A change that would break workflows already running (a new activity call, a reordered
step, a timer added) makes its history fail to replay here. Such a change goes behind
``workflow.patched`` and gets a newly recorded history beside the old ones (README,
"Changing a workflow")."""

import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.history_recording import HISTORIES
from worker import WORKFLOWS

RECORDED = sorted(HISTORIES.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    document = json.loads(path.read_text())
    return WorkflowHistory.from_json(document["workflow_id"], document["history"])


def workflow_type(history: WorkflowHistory) -> str:
    started = history.events[0].workflow_execution_started_event_attributes
    return started.workflow_type.name


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
async def test_a_recorded_history_replays(path):
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(load(path))


def test_every_workflow_type_has_a_recorded_history():
    recorded = {workflow_type(load(path)) for path in RECORDED}
    running = {workflow._Definition.must_from_class(cls).name for cls in WORKFLOWS}
    assert running - recorded == set(), "record them: make record-histories"
