"""Starting and talking to the checkout, refund and subscription workflows from the API."""

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.checkout import RefundInput
from api.temporal import start_once
from domain.checkout import CheckoutProgress
from domain.errors import Conflict
from settings import Settings
from workflows.checkout import CheckoutInput, CheckoutWorkflow, checkout_workflow_id
from workflows.refund import RefundWorkflow, refund_workflow_id
from workflows.subscription import (
    SubscriptionInput,
    SubscriptionView,
    SubscriptionWorkflow,
    subscription_workflow_id,
)


async def start_checkout(client: Client, request: CheckoutInput, settings: Settings) -> str:
    return await start_once(
        client,
        CheckoutWorkflow.run,
        request,
        checkout_workflow_id(request.order_number),
        settings,
    )


async def start_refund(
    client: Client, order_number: str, request: RefundInput, settings: Settings
) -> str:
    return await start_once(
        client, RefundWorkflow.run, request, refund_workflow_id(order_number), settings
    )


async def start_subscription(client: Client, license_id: int, settings: Settings) -> str:
    return await start_once(
        client,
        SubscriptionWorkflow.run,
        SubscriptionInput(license_id=license_id),
        subscription_workflow_id(license_id),
        settings,
    )


def _refused(error: WorkflowUpdateFailedError) -> Conflict:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return Conflict(cause.type, cause.message)
    return Conflict("update_failed", str(error))


async def confirm(client: Client, order_number: str) -> CheckoutProgress | None:
    """Tell the checkout the buyer approved; None when no checkout waits any more."""
    try:
        return await client.get_workflow_handle(checkout_workflow_id(order_number)).execute_update(
            CheckoutWorkflow.confirm
        )
    except WorkflowUpdateFailedError as error:
        raise _refused(error) from error
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            return None
        raise


async def payment_changed(client: Client, order_number: str) -> bool:
    """Wake the checkout to look at its payment again; False if it no longer runs."""
    try:
        await client.get_workflow_handle(checkout_workflow_id(order_number)).signal(
            CheckoutWorkflow.payment_changed
        )
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            return False
        raise
    return True


async def change_subscription(client: Client, license_id: int, cancel: bool) -> SubscriptionView:
    handle = client.get_workflow_handle(subscription_workflow_id(license_id))
    try:
        return await handle.execute_update(
            SubscriptionWorkflow.cancel if cancel else SubscriptionWorkflow.resume
        )
    except WorkflowUpdateFailedError as error:
        raise _refused(error) from error
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Conflict("subscription_ended", "this subscription no longer runs") from error
        raise
