"""Subscriptions and trials: one workflow per subscription license bills it period by
period; the buyer cancels and resumes through it."""

from domain import processes
from domain.checkout import SubscriptionInput, SubscriptionView
from domain.errors import Conflict
from integrations.temporal.front_door import TemporalFrontDoor


async def start_subscription(
    workflows: TemporalFrontDoor, license_id: int, workflow_id: str
) -> str:
    """``workflow_id``: the one stored on the license (``licenses.subscription_id``)."""
    await workflows.start(
        processes.Subscription.TYPE,
        SubscriptionInput(license_id=license_id),
        workflow_id=workflow_id,
    )
    return workflow_id


async def change_subscription(
    workflows: TemporalFrontDoor, workflow_id: str, *, cancel: bool
) -> SubscriptionView:
    view = await workflows.update(
        workflow_id,
        processes.Subscription.CANCEL if cancel else processes.Subscription.RESUME,
        result_type=SubscriptionView,
        when_gone=Conflict("subscription_ended", "this subscription no longer runs"),
    )
    assert view is not None
    return view
