"""The names the client side uses (domain.processes) are the names the workflows declare."""

import pytest
from temporalio import workflow

from domain import processes
from worker import WORKFLOWS

DEFINITIONS = {
    workflow._Definition.must_from_class(cls).name: workflow._Definition.must_from_class(cls)
    for cls in WORKFLOWS
}
NOT_MESSAGES = {"TYPE", "SCHEDULE_ID", "WORKFLOW_ID"}


def messages_of(process) -> dict[str, str]:
    return {
        attribute: value
        for attribute, value in vars(process).items()
        if attribute.isupper() and attribute not in NOT_MESSAGES
    }


def test_every_workflow_the_worker_runs_is_named_in_processes():
    assert set(DEFINITIONS) == {process.TYPE for process in processes.ALL}


@pytest.mark.parametrize("process", processes.ALL, ids=lambda p: p.__name__)
def test_every_message_a_process_names_is_one_its_workflow_handles(process):
    definition = DEFINITIONS[process.TYPE]
    handled = {*definition.updates, *definition.signals, *definition.queries}
    assert set(messages_of(process).values()) <= handled


def test_workflow_ids_carry_their_business_keys():
    assert processes.Checkout.workflow_id("FV-20261201-ABC") == "checkout-FV-20261201-ABC"
    assert processes.VersionIngestion.workflow_id("shop", "1.2.0") == "ingest-shop-1.2.0"
    first = processes.Subscription.workflow_id(7, "a" * 64)
    reissued = processes.Subscription.workflow_id(7, "b" * 64)
    assert first.startswith("subscription-7-") and first != reissued
    assert processes.Payout.workflow_id("acme", "2026-10") == "payout-acme-2026-10"
