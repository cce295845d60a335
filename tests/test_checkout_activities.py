"""Each checkout step run twice, as Temporal does after a worker dies mid-step: the second
run finds the first one's work and adds nothing."""

import json
from decimal import Decimal
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from activities.checkout import CheckoutActivities, PaymentInstructions, RefundInput
from domain.modules import ModuleStatus
from integrations.license_vault import LicenseVault
from integrations.payments.local import LocalGateway
from integrations.payments.registry import Gateways
from models.commerce import CartItem, EarningEntry, License, Order, OrderRefund


class Outbox:
    def __init__(self) -> None:
        self.sent: dict[str, EmailMessage] = {}

    def send(self, message: EmailMessage, *, dedupe_key: str) -> None:
        self.sent[dedupe_key] = message


@pytest.fixture
def steps(committed, settings, tmp_path):
    return CheckoutActivities(
        sessions=committed,
        gateways=Gateways([LocalGateway(tmp_path / "payments", "http://x")]),
        vault=LicenseVault("k" * 40),
        mailer=Outbox(),
        mail_from="shop@example.com",
    )


@pytest.fixture
async def order(make_committed, committed):
    _, publisher = await make_committed.publisher()
    module = await make_committed.module(
        publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal("12.34")
    )
    buyer = await make_committed.user()
    line = {
        "module_id": module.id,
        "publisher_id": publisher.id,
        "module_slug": module.slug,
        "module_name": module.display_name,
        "license_type": "paid",
        "subscription_period": None,
        "unit_price": "12.34",
        "discount": "0.00",
        "tax": "0.00",
        "net_of_discount": "12.34",
        "total": "12.34",
    }
    async with committed() as session:
        row = Order(
            order_number=f"FV-TEST-{module.id}",
            user_id=buyer.id,
            items=[line],
            subtotal=Decimal("12.34"),
            total=Decimal("12.34"),
            payment_method="local",
        )
        session.add(row)
        await session.commit()
        return row


async def test_every_step_twice_charges_licenses_and_refunds_once(
    steps, order, committed, tmp_path
):
    instructions = PaymentInstructions(order_id=order.id, payment_method="4242424242424242")
    first = await steps.create_payment(instructions)
    second = await steps.create_payment(instructions)
    assert first == second and first.status == "succeeded"
    assert len(list((tmp_path / "payments").glob("lpay_*.json"))) == 1

    await steps.mark_paid(order.id)
    await steps.mark_paid(order.id)
    issued = await steps.fulfil(order.id)
    assert await steps.fulfil(order.id) == issued
    assert len(issued.license_ids) == 1

    refund = RefundInput(order_id=order.id, initiated_by="buyer", reason="changed my mind")
    assert await steps.refund_payment(refund) == "succeeded"
    assert await steps.refund_payment(refund) == "succeeded"
    assert await steps.apply_refund(refund) == issued.license_ids
    assert await steps.apply_refund(refund) == [], "nothing left to revoke the second time"

    payment = json.loads(next((tmp_path / "payments").glob("lpay_*.json")).read_text())
    assert list(payment["refunds"].values()) == [1234]
    async with committed() as session:
        stored = await session.get(Order, order.id)
        ledger = (await session.scalars(select(EarningEntry).order_by(EarningEntry.id))).all()
        licenses = await session.scalar(select(func.count()).select_from(License))
        refunds = await session.scalar(select(func.count()).select_from(OrderRefund))
    assert (stored.status, stored.refunded_amount) == ("refunded", Decimal("12.34"))
    assert [(e.kind, e.gross, e.commission, e.net) for e in ledger] == [
        ("sale", Decimal("12.34"), Decimal("3.70"), Decimal("8.64")),
        ("refund", Decimal("-12.34"), Decimal("-3.70"), Decimal("-8.64")),
    ]
    assert (licenses, refunds) == (1, 1)


async def test_a_closed_order_is_never_charged(steps, order, committed, tmp_path):
    await steps.close_unpaid(order.id, "expired", "payment_not_confirmed")
    view = await steps.create_payment(
        PaymentInstructions(order_id=order.id, payment_method="4242424242424242")
    )
    assert (view.status, view.decline_code) == ("canceled", "order_closed")
    assert not list((tmp_path / "payments").glob("lpay_*.json"))


async def test_marking_paid_takes_the_bought_lines_out_of_the_cart_once(
    steps, order, make_committed, committed
):
    _, publisher = await make_committed.publisher()
    other = await make_committed.module(
        publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal("1.00")
    )
    bought = order.items[0]["module_id"]
    async with committed() as session:
        session.add_all(
            [
                CartItem(user_id=order.user_id, module_id=bought),
                CartItem(user_id=order.user_id, module_id=other.id),
            ]
        )
        await session.commit()

    async def cart() -> list[int]:
        async with committed() as session:
            rows = await session.scalars(
                select(CartItem.module_id)
                .where(CartItem.user_id == order.user_id)
                .order_by(CartItem.module_id)
            )
            return list(rows)

    await steps.mark_paid(order.id)
    assert await cart() == [other.id], "only the line the order bought leaves the cart"

    async with committed() as session:  # put back before its license exists
        session.add(CartItem(user_id=order.user_id, module_id=bought))
        await session.commit()
    await steps.mark_paid(order.id)  # Temporal's retry of the same step
    assert await cart() == sorted([bought, other.id]), "a retry removes nothing again"


async def test_a_closed_order_leaves_the_cart_alone(steps, order, committed):
    async with committed() as session:
        session.add(CartItem(user_id=order.user_id, module_id=order.items[0]["module_id"]))
        await session.commit()
    await steps.close_unpaid(order.id, "failed", "card_declined")
    await steps.mark_paid(order.id)  # a late success after the order was closed
    async with committed() as session:
        left = await session.scalar(
            select(func.count()).select_from(CartItem).where(CartItem.user_id == order.user_id)
        )
        stored = await session.get(Order, order.id)
    assert (stored.status, left) == ("failed", 1)
