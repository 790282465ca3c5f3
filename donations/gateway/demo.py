"""The demo gateway: Stripe's interface without money (`PAYMENT_GATEWAY=demo`, the default of
`make run`). A local page stands in for Checkout; the Pay button reports a paid result that goes
through the same fulfilment as a real payment, so the bar moves. Every function mirrors one in
`gateway/stripe.py` with the same arguments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from djmoney.money import Money

from core.money import CURRENCY
from donations.gateway.types import (
    ChargeFee,
    CheckoutRedirect,
    CheckoutResult,
    Dispute,
    GatewayError,
    OffSessionCharge,
    SetupResult,
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


def events_list(**_: Any) -> Iterator[dict[str, Any]]:
    return iter(())  # nothing happens behind the site's back in the demo


def checkout_sessions_list(**_: Any) -> Iterator[CheckoutResult]:
    return iter(())


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


def customer_delete(*, customer_id: str) -> bool:
    return bool(customer_id)  # the demo keeps no customers: there is nothing to delete


def checkout_session_expire(*, session_id: str) -> str:
    return "expired"  # the demo's pay page pays only an unpaid pending donation


def dispute_retrieve(*, dispute_id: str) -> Dispute:
    raise GatewayError("The demo gateway has no disputes.")
