"""Payments, behind one interface with two backends (saleor's `payment/gateways/`).

`gateway.stripe` talks to Stripe (the only module importing `stripe`); `gateway.demo` is the same
interface without money. `PAYMENT_GATEWAY` picks one at each call, so tests can switch. Callers get
plain values (`types`), and webhook payloads are read into facts by `events` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

from django.conf import settings
from djmoney.money import Money

from donations.gateway import demo, events, stripe_subscriptions
from donations.gateway import stripe as stripe_backend
from donations.gateway.events import checkout_result_from, payment_intent_result
from donations.gateway.stripe import CHECKOUT_EXPIRY_SECONDS, setup_result_from, webhook_event_parse
from donations.gateway.types import (
    CardUpdate,
    ChargeFee,
    ChargeRefund,
    CheckoutRedirect,
    CheckoutResult,
    Dispute,
    GatewayBusy,
    GatewayError,
    GatewayRefused,
    Invoice,
    OffSessionCharge,
    RefundUpdate,
    SetupResult,
    SignatureError,
    Subscription,
    SubscriptionCheckout,
)

demo_result = demo.demo_result
demo_setup_result = demo.demo_setup_result
demo_invoice = demo.demo_invoice


def is_demo() -> bool:
    return bool(settings.PAYMENT_GATEWAY == "demo")


def backend() -> ModuleType:
    return demo if is_demo() else stripe_backend


def channel() -> str:
    """The `Donation.channel` of a payment started now."""
    return str(backend().CHANNEL)


def settles_at_once() -> bool:
    """True when no webhook will report a payment or refund: the caller settles it itself."""
    return bool(backend().SETTLES_AT_ONCE)


def subscriptions_backend() -> ModuleType:
    return demo if is_demo() else stripe_subscriptions


def checkout_session_create(**kwargs: Any) -> CheckoutRedirect:
    result: CheckoutRedirect = backend().checkout_session_create(**kwargs)
    return result


def checkout_session_retrieve(*, session_id: str) -> CheckoutResult:
    result: CheckoutResult = backend().checkout_session_retrieve(session_id=session_id)
    return result


def events_list(*, types: list[str], created_after: int) -> Iterator[dict[str, Any]]:
    """Every matching event since `created_after`, newest first, all pages (see stripe.py)."""
    result: Iterator[dict[str, Any]] = backend().events_list(
        types=types, created_after=created_after
    )
    return result


def checkout_sessions_list(*, created_after: int) -> Iterator[CheckoutResult]:
    result: Iterator[CheckoutResult] = backend().checkout_sessions_list(created_after=created_after)
    return result


def customer_create(*, pledge_ref: str, email: str) -> str:
    return str(backend().customer_create(pledge_ref=pledge_ref, email=email))


def setup_session_create(**kwargs: Any) -> CheckoutRedirect:
    result: CheckoutRedirect = backend().setup_session_create(**kwargs)
    return result


def setup_session_retrieve(*, session_id: str) -> SetupResult:
    result: SetupResult = backend().setup_session_retrieve(session_id=session_id)
    return result


def payment_intent_off_session(**kwargs: Any) -> OffSessionCharge:
    result: OffSessionCharge = backend().payment_intent_off_session(**kwargs)
    return result


def payment_intent_cancel(*, payment_intent_id: str) -> None:
    backend().payment_intent_cancel(payment_intent_id=payment_intent_id)


def payment_method_detach(*, payment_method_id: str) -> None:
    backend().payment_method_detach(payment_method_id=payment_method_id)


def payment_charge_fee(*, payment_intent_id: str) -> ChargeFee:
    result: ChargeFee = backend().payment_charge_fee(payment_intent_id=payment_intent_id)
    return result


def charge_refunded_amount(*, payment_intent_id: str) -> Money:
    result: Money = backend().charge_refunded_amount(payment_intent_id=payment_intent_id)
    return result


def refund_create(
    *, payment_intent_id: str, amount: Money, idempotency_key: str, metadata: dict[str, str]
) -> str:
    return str(
        backend().refund_create(
            payment_intent_id=payment_intent_id,
            amount=amount,
            idempotency_key=idempotency_key,
            metadata=metadata,
        )
    )


# --- Monthly gifts (gateway/stripe_subscriptions.py and its demo twins) ----------------------


def subscription_checkout_create(**kwargs: Any) -> CheckoutRedirect:
    result: CheckoutRedirect = subscriptions_backend().subscription_checkout_create(**kwargs)
    return result


def subscription_checkout_retrieve(*, session_id: str) -> SubscriptionCheckout:
    result: SubscriptionCheckout = subscriptions_backend().subscription_checkout_retrieve(
        session_id=session_id
    )
    return result


def subscription_retrieve(*, subscription_id: str) -> Subscription:
    result: Subscription = subscriptions_backend().subscription_retrieve(
        subscription_id=subscription_id
    )
    return result


def subscription_cancel_at_period_end(*, subscription_id: str, monthly_ref: str) -> Subscription:
    result: Subscription = subscriptions_backend().subscription_cancel_at_period_end(
        subscription_id=subscription_id, monthly_ref=monthly_ref
    )
    return result


def subscription_amount_update(
    *, subscription_id: str, monthly_ref: str, amount: Money
) -> Subscription:
    result: Subscription = subscriptions_backend().subscription_amount_update(
        subscription_id=subscription_id, monthly_ref=monthly_ref, amount=amount
    )
    return result


def card_update_session_create(**kwargs: Any) -> CheckoutRedirect:
    result: CheckoutRedirect = subscriptions_backend().card_update_session_create(**kwargs)
    return result


def setup_intent_payment_method(*, setup_intent_id: str) -> str:
    return str(subscriptions_backend().setup_intent_payment_method(setup_intent_id=setup_intent_id))


def subscription_payment_method_set(
    *, subscription_id: str, monthly_ref: str, payment_method_id: str
) -> None:
    subscriptions_backend().subscription_payment_method_set(
        subscription_id=subscription_id,
        monthly_ref=monthly_ref,
        payment_method_id=payment_method_id,
    )


def invoice_retrieve(*, invoice_id: str) -> Invoice:
    result: Invoice = subscriptions_backend().invoice_retrieve(invoice_id=invoice_id)
    return result


def checkout_session_expire(*, session_id: str) -> str:
    """Expire an open Checkout Session; returns its status afterwards ("expired", "complete")."""
    return str(backend().checkout_session_expire(session_id=session_id))


def dispute_retrieve(*, dispute_id: str) -> Dispute:
    result: Dispute = backend().dispute_retrieve(dispute_id=dispute_id)
    return result


__all__ = [
    "CHECKOUT_EXPIRY_SECONDS",
    "CardUpdate",
    "Invoice",
    "Subscription",
    "SubscriptionCheckout",
    "stripe_subscriptions",
    "ChargeFee",
    "ChargeRefund",
    "CheckoutRedirect",
    "CheckoutResult",
    "Dispute",
    "GatewayBusy",
    "GatewayError",
    "GatewayRefused",
    "OffSessionCharge",
    "RefundUpdate",
    "SetupResult",
    "SignatureError",
    "backend",
    "channel",
    "checkout_result_from",
    "demo",
    "events",
    "is_demo",
    "payment_intent_result",
    "settles_at_once",
    "setup_result_from",
    "stripe_backend",
    "webhook_event_parse",
]


def customer_delete(*, customer_id: str) -> bool:
    """Delete a pledger's Customer and saved cards; False when it was already gone."""
    return bool(backend().customer_delete(customer_id=customer_id))
