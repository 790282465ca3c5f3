"""The demo gateway: Stripe's interface without money (`PAYMENT_GATEWAY=demo`, the default of
`make run`). A local page stands in for Checkout; the Pay button reports a paid result that goes
through the same fulfilment as a real payment, so the bar moves. Every function mirrors one in
`gateway/stripe.py` with the same arguments."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from djmoney.money import Money

from core.money import CURRENCY
from donations.gateway.types import (
    ChargeFee,
    CheckoutRedirect,
    CheckoutResult,
    GatewayError,
    Invoice,
    OffSessionCharge,
    SetupResult,
    Subscription,
    SubscriptionCheckout,
)

CHANNEL = "demo"
# Demo payments and refunds settle when made: no webhook follows them.
SETTLES_AT_ONCE = True


def checkout_session_create(*, donation_ref: str, **_: Any) -> CheckoutRedirect:
    return CheckoutRedirect(
        session_id=f"demo_{donation_ref}",
        url=reverse("donations:demo_checkout", kwargs={"public_id": donation_ref}),
    )


def checkout_session_retrieve(*, session_id: str) -> CheckoutResult:
    raise GatewayError(f"No such checkout session in the demo: {session_id}")


def events_list(**_: Any) -> list[dict[str, Any]]:
    return []  # nothing happens behind the site's back in the demo


def checkout_sessions_list(**_: Any) -> list[CheckoutResult]:
    return []


def customer_create(*, pledge_ref: str, email: str) -> str:
    return f"demo_cus_{pledge_ref}"


def setup_session_create(*, pledge_ref: str, **_: Any) -> CheckoutRedirect:
    return CheckoutRedirect(
        session_id=f"demo_setup_{pledge_ref}",
        url=reverse("donations:pledge_demo", kwargs={"public_id": pledge_ref}),
    )


def setup_session_retrieve(*, session_id: str) -> SetupResult:
    raise GatewayError("The demo gateway keeps no sessions to ask about.")


def payment_intent_off_session(*, donation_ref: str, **_: Any) -> OffSessionCharge:
    return OffSessionCharge(status="succeeded", payment_intent_id=f"demo_pi_{donation_ref}")


def payment_intent_cancel(*, payment_intent_id: str) -> None:
    return None


def payment_method_detach(*, payment_method_id: str) -> None:
    return None


def payment_charge_fee(*, payment_intent_id: str) -> ChargeFee:
    return ChargeFee(charge_id="", fee=None)  # the demo charges no fee


def charge_refunded_amount(*, payment_intent_id: str) -> Money:
    raise GatewayError("The demo gateway keeps no charges to ask about.")


def refund_create(*, metadata: dict[str, str], **_: Any) -> str:
    return f"demo_re_{metadata['refund']}"


def demo_result(*, donation_ref: str, amount: Money) -> CheckoutResult:
    """What the demo gateway reports when the member presses Pay."""
    return CheckoutResult(
        session_id=f"demo_{donation_ref}",
        payment_status="paid",
        amount_total=amount,
        currency=CURRENCY,
        donation_ref=donation_ref,
        payment_intent_id=f"demo_pi_{donation_ref}",
    )


def demo_setup_result(*, pledge_ref: str) -> SetupResult:
    """What the demo gateway reports when the member saves a card."""
    return SetupResult(
        session_id=f"demo_setup_{pledge_ref}",
        complete=True,
        pledge_ref=pledge_ref,
        customer_id=f"demo_cus_{pledge_ref}",
        payment_method_id=f"demo_pm_{pledge_ref}",
        setup_intent_id=f"demo_seti_{pledge_ref}",
    )


# --- Monthly gifts: a demo subscription renews only when the demo page says so ----------------


def subscription_checkout_create(*, monthly_ref: str, **_: Any) -> CheckoutRedirect:
    return CheckoutRedirect(
        session_id=f"demo_sub_session_{monthly_ref}",
        url=reverse("donations:monthly_demo", kwargs={"public_id": monthly_ref}),
    )


def subscription_checkout_retrieve(*, session_id: str) -> SubscriptionCheckout:
    raise GatewayError("The demo gateway keeps no sessions to ask about.")


def _demo_subscription(subscription_id: str, *, cancel_at_period_end: bool) -> Subscription:
    return Subscription(
        subscription_id=subscription_id,
        customer_id="",
        monthly_ref="",
        status="active",
        cancel_at_period_end=cancel_at_period_end,
        current_period_end=None,
    )


def subscription_retrieve(*, subscription_id: str) -> Subscription:
    return _demo_subscription(subscription_id, cancel_at_period_end=False)


def subscription_cancel_at_period_end(*, subscription_id: str, **_: Any) -> Subscription:
    return _demo_subscription(subscription_id, cancel_at_period_end=True)


def subscription_amount_update(*, subscription_id: str, amount: Money, **_: Any) -> Subscription:
    return Subscription(
        subscription_id=subscription_id,
        customer_id="",
        monthly_ref="",
        status="active",
        cancel_at_period_end=False,
        current_period_end=None,
        unit_amount=amount,
    )


def card_update_session_create(
    *, monthly_ref: str, success_url: str = "", **_: Any
) -> CheckoutRedirect:
    page = reverse("donations:monthly_demo_card", kwargs={"public_id": monthly_ref})
    return CheckoutRedirect(
        session_id=f"demo_card_{monthly_ref}",
        url=f"{page}?{urlencode({'next': success_url})}" if success_url else page,
    )


def setup_intent_payment_method(*, setup_intent_id: str) -> str:
    return f"demo_pm_{setup_intent_id}"


def subscription_payment_method_set(**_: Any) -> None:
    return None


def invoice_retrieve(*, invoice_id: str) -> Invoice:
    raise GatewayError("The demo gateway keeps no invoices to ask about.")


def demo_invoice(
    *, monthly_ref: str, number: int, amount: Money, period_end: int, paid: bool = True
) -> Invoice:
    """What the demo gateway reports for a gift's `number`th month (1 is the first payment)."""
    invoice_id = f"demo_in_{monthly_ref}_{number}"
    return Invoice(
        invoice_id=invoice_id,
        subscription_id=f"demo_sub_{monthly_ref}",
        customer_id=f"demo_cus_{monthly_ref}",
        monthly_ref=monthly_ref,
        status="paid" if paid else "open",
        amount_paid=amount if paid else Money(0, CURRENCY),
        amount_due=amount,
        currency=CURRENCY,
        billing_reason="subscription_create" if number == 1 else "subscription_cycle",
        attempt_count=1,
        period_end=period_end,
        payment_intent_id=f"demo_pi_{invoice_id}" if paid else "",
    )
