"""Checkout and refunds: an order's workflow takes the payment, issues the licenses and,
when asked, gives the money back."""

from domain import processes
from domain.checkout import CheckoutInput, CheckoutProgress, RefundInput
from integrations.temporal.front_door import TemporalFrontDoor


async def start_checkout(workflows: TemporalFrontDoor, request: CheckoutInput) -> str:
    workflow_id = processes.Checkout.workflow_id(request.order_number)
    await workflows.start(processes.Checkout.TYPE, request, workflow_id=workflow_id)
    return workflow_id


async def confirm(workflows: TemporalFrontDoor, order_number: str) -> CheckoutProgress | None:
    """Tell the checkout the buyer approved; None when no checkout waits any more."""
    return await workflows.update(
        processes.Checkout.workflow_id(order_number),
        processes.Checkout.CONFIRM,
        result_type=CheckoutProgress,
    )


async def payment_changed(workflows: TemporalFrontDoor, order_number: str) -> bool:
    """Wake the checkout to look at its payment again; False if it no longer runs."""
    return await workflows.signal(
        processes.Checkout.workflow_id(order_number), processes.Checkout.PAYMENT_CHANGED
    )


async def start_refund(
    workflows: TemporalFrontDoor, order_number: str, request: RefundInput
) -> str:
    workflow_id = processes.Refund.workflow_id(order_number)
    await workflows.start(processes.Refund.TYPE, request, workflow_id=workflow_id)
    return workflow_id
