"""A request that waits for a workflow's answer (an update: a review decision, a checkout
confirmation, a subscription cancel) waits ``workflow_answer_timeout`` at most: with no
worker running, it ends in a 503 ``workflow_not_answering`` instead of hanging until the
client gives up. Found by the fuzzer (tests/test_fuzz_openapi.py), whose admin reject of
a pending module never came back."""

import time
from datetime import timedelta

import pytest

from domain.modules import ModuleStatus
from tests.authorization_world import forget_workflow

pytestmark = pytest.mark.workflow

ANSWER_TIMEOUT = timedelta(seconds=1)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"workflow_answer_timeout": ANSWER_TIMEOUT})


async def test_a_decision_no_worker_answers_is_a_503_not_a_hung_request(api, make, temporal_dev):
    _, publisher = await make.publisher()
    admin = await make.admin()
    module = await make.module(publisher, ModuleStatus.PENDING)
    await make.version(module)
    started = time.monotonic()
    try:
        response = await api.request(
            "POST",
            f"/api/v1/admin/marketplace/modules/{module.id}/approve",
            as_user=admin,
            json={"note": "looks good"},
        )
    finally:
        await forget_workflow(temporal_dev.client, f"review-{module.slug}")
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "workflow_not_answering"
    assert time.monotonic() - started < ANSWER_TIMEOUT.total_seconds() + 10
    stored = await make.reload(type(module), module.id)
    assert stored.status == ModuleStatus.PENDING, "nothing was decided"


async def test_a_progress_no_worker_answers_is_a_503_in_time(api, make, temporal_dev):
    """The review's live progress is a query: with no worker it waited Temporal's own 30 s,
    then answered that Temporal was unreachable."""
    owner, publisher = await make.publisher()
    module = await make.module(publisher)
    await make.version(module)
    try:
        submitted = await api.request(
            "POST", f"/api/v1/publisher/modules/{module.id}/submit", as_user=owner
        )
        assert submitted.status_code == 202, submitted.text
        started = time.monotonic()
        response = await api.request(
            "GET", f"/api/v1/publisher/modules/{module.id}/review", as_user=owner
        )
    finally:
        await forget_workflow(temporal_dev.client, f"review-{module.slug}")
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "workflow_not_answering"
    assert time.monotonic() - started < ANSWER_TIMEOUT.total_seconds() + 10
