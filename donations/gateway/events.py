"""Stripe's event and object payloads read into typed facts.

The only code that reads `payload["data"]["object"]` or a Stripe object's fields: services
receive the facts below (types.py), never Stripe's shapes, so a change in a payload is mended here.
"""

from __future__ import annotations

from typing import Any

from core.money import cents_to_money
from donations.gateway.types import (
    CardUpdate,
    ChargeRefund,
    CheckoutResult,
    Dispute,
    Invoice,
    RefundUpdate,
    Subscription,
    SubscriptionCheckout,
)


def _id(value: Any) -> str:
    """An expandable field: an id, or the expanded object carrying it."""
    return str(value.get("id", "") if isinstance(value, dict) else value or "")


def _metadata(obj: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}


def event_object(payload: dict[str, Any]) -> dict[str, Any]:
    """The object an event is about. Raises `KeyError`/`TypeError` for a malformed event."""
    obj = payload["data"]["object"]
    if not isinstance(obj, dict):
        raise TypeError("The event's data.object is not an object.")
    return obj


def checkout_result_from(session: dict[str, Any]) -> CheckoutResult:
    """Normalize a Checkout Session, as found in a webhook or fetched from the API."""
    total = session.get("amount_total")
    payment_intent = session.get("payment_intent") or ""
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id", "")
    return CheckoutResult(
        session_id=str(session.get("id", "")),
        payment_status=str(session.get("payment_status") or "unpaid"),
        amount_total=cents_to_money(total) if isinstance(total, int) else None,
        currency=str(session.get("currency") or "").upper(),
        donation_ref=str(session.get("client_reference_id") or ""),
        payment_intent_id=str(payment_intent),
        metadata={str(k): str(v) for k, v in (session.get("metadata") or {}).items()},
    )


def payment_intent_result(*, intent: dict[str, Any]) -> CheckoutResult:
    """A succeeded PaymentIntent (from payment_intent.succeeded) in the shape fulfilment takes."""
    received = intent.get("amount_received")
    return CheckoutResult(
        session_id="",
        payment_status="paid" if intent.get("status") == "succeeded" else "unpaid",
        amount_total=cents_to_money(received) if isinstance(received, int) else None,
        currency=str(intent.get("currency") or "").upper(),
        donation_ref=str((intent.get("metadata") or {}).get("donation", "")),
        payment_intent_id=str(intent.get("id", "")),
        metadata={str(k): str(v) for k, v in (intent.get("metadata") or {}).items()},
    )


def checkout_session(payload: dict[str, Any]) -> CheckoutResult:
    return checkout_result_from(event_object(payload))


def is_setup_session(payload: dict[str, Any]) -> bool:
    """A Checkout Session in setup mode: a card saved for a pledge, nothing paid."""
    return event_object(payload).get("mode") == "setup"


def is_subscription_session(payload: dict[str, Any]) -> bool:
    """A Checkout Session in subscription mode: a monthly gift started."""
    return event_object(payload).get("mode") == "subscription"


def is_card_update_session(payload: dict[str, Any]) -> bool:
    """A setup-mode session that replaces a monthly gift's card (not a pledge's)."""
    obj = event_object(payload)
    return obj.get("mode") == "setup" and bool(_metadata(obj).get("monthly"))


def pledge_payment(payload: dict[str, Any]) -> CheckoutResult | None:
    """A pledge's off-session PaymentIntent; None for Checkout's own (fulfilled from sessions)."""
    intent = event_object(payload)
    if not _metadata(intent).get("pledge"):
        return None
    return payment_intent_result(intent=intent)


def charge_refund(payload: dict[str, Any]) -> ChargeRefund:
    charge = event_object(payload)
    return ChargeRefund(
        payment_intent_id=_id(charge.get("payment_intent")),
        charge_id=str(charge.get("id") or ""),
        donation_ref=_metadata(charge).get("donation", ""),
        currency=str(charge.get("currency") or "").upper(),
        amount_refunded=cents_to_money(int(charge.get("amount_refunded") or 0)),
    )


def refund_update(payload: dict[str, Any]) -> RefundUpdate:
    refund = event_object(payload)
    return RefundUpdate(
        refund_id=str(refund.get("id") or ""),
        status=str(refund.get("status") or ""),
        donation_ref=_metadata(refund).get("donation", ""),
        payment_intent_id=_id(refund.get("payment_intent")),
        failure_reason=str(refund.get("failure_reason") or "failed"),
    )


def dispute(payload: dict[str, Any]) -> Dispute:
    obj = event_object(payload)
    return Dispute(
        dispute_id=str(obj.get("id") or ""),
        payment_intent_id=_id(obj.get("payment_intent")),
        charge_id=_id(obj.get("charge")),
        status=str(obj.get("status") or ""),
    )


# --- Monthly gifts: subscriptions and their invoices -------------------------------------------


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def subscription_checkout_from(session: dict[str, Any]) -> SubscriptionCheckout:
    return SubscriptionCheckout(
        session_id=str(session.get("id") or ""),
        monthly_ref=_metadata(session).get("monthly", "")
        or str(session.get("client_reference_id") or ""),
        subscription_id=_id(session.get("subscription")),
        customer_id=_id(session.get("customer")),
        invoice_id=_id(session.get("invoice")),
        payment_status=str(session.get("payment_status") or "unpaid"),
        complete=session.get("status") == "complete",
    )


def subscription_checkout(payload: dict[str, Any]) -> SubscriptionCheckout:
    return subscription_checkout_from(event_object(payload))


def card_update(payload: dict[str, Any]) -> CardUpdate:
    session = event_object(payload)
    metadata = _metadata(session)
    setup_intent = session.get("setup_intent")
    payment_method = setup_intent.get("payment_method") if isinstance(setup_intent, dict) else ""
    return CardUpdate(
        session_id=str(session.get("id") or ""),
        monthly_ref=metadata.get("monthly", ""),
        subscription_id=metadata.get("subscription", ""),
        setup_intent_id=_id(setup_intent),
        payment_method_id=_id(payment_method),
    )


def invoice_from(invoice: dict[str, Any]) -> Invoice:
    """Normalize an invoice. Since 2025-03-31.basil its subscription is under
    `parent.subscription_details` and its PaymentIntent under `payments` (an includable list)."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    metadata = {str(k): str(v) for k, v in (details.get("metadata") or {}).items()}
    monthly_ref = metadata.get("monthly") or _metadata(invoice).get("monthly", "")
    payment_intent = charge = ""
    for entry in (invoice.get("payments") or {}).get("data") or []:
        payment = entry.get("payment") or {}
        if entry.get("status") == "paid" or not payment_intent:
            payment_intent = _id(payment.get("payment_intent")) or payment_intent
            charge = _id(payment.get("charge")) or charge
    lines = (invoice.get("lines") or {}).get("data") or []
    period_end = _int_or_none(((lines[0].get("period") or {}) if lines else {}).get("end"))
    return Invoice(
        invoice_id=str(invoice.get("id") or ""),
        subscription_id=_id(details.get("subscription")),
        customer_id=_id(invoice.get("customer")),
        monthly_ref=monthly_ref,
        status=str(invoice.get("status") or ""),
        amount_paid=cents_to_money(int(invoice.get("amount_paid") or 0)),
        amount_due=cents_to_money(int(invoice.get("amount_due") or 0)),
        currency=str(invoice.get("currency") or "").upper(),
        billing_reason=str(invoice.get("billing_reason") or ""),
        attempt_count=int(invoice.get("attempt_count") or 0),
        period_end=period_end
        if period_end is not None
        else _int_or_none(invoice.get("period_end")),
        payment_intent_id=payment_intent,
        charge_id=charge,
        hosted_invoice_url=str(invoice.get("hosted_invoice_url") or ""),
        next_payment_attempt=_int_or_none(invoice.get("next_payment_attempt")),
    )


def invoice(payload: dict[str, Any]) -> Invoice:
    return invoice_from(event_object(payload))


def subscription_from(subscription: dict[str, Any]) -> Subscription:
    """Normalize a subscription; its period is on its item since 2025-03-31.basil."""
    items = (subscription.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    price = item.get("price") or {}
    unit_amount = _int_or_none(price.get("unit_amount"))
    return Subscription(
        subscription_id=str(subscription.get("id") or ""),
        customer_id=_id(subscription.get("customer")),
        monthly_ref=_metadata(subscription).get("monthly", ""),
        status=str(subscription.get("status") or ""),
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
        current_period_end=_int_or_none(item.get("current_period_end")),
        item_id=str(item.get("id") or ""),
        price_id=str(price.get("id") or ""),
        product_id=_id(price.get("product")),
        unit_amount=cents_to_money(unit_amount) if unit_amount is not None else None,
    )


def subscription(payload: dict[str, Any]) -> Subscription:
    return subscription_from(event_object(payload))
