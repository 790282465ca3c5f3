"""Monthly gifts at Stripe: subscription-mode Checkout, cancelling at period end, changing the
amount, replacing the card, reading invoices.

With `gateway/stripe.py`, the only modules that import `stripe`. Amounts go out as integer cents in
an inline `price_data` (no Price objects to keep in sync); every write carries an idempotency key
made of our gift's id and a hash of its parameters (`keys.idempotency_key`).
"""

from __future__ import annotations

from typing import Any

from djmoney.money import Money

from core.money import CURRENCY, money_to_cents
from donations.gateway import events
from donations.gateway import stripe as base
from donations.gateway.keys import idempotency_key
from donations.gateway.types import CheckoutRedirect, Invoice, Subscription, SubscriptionCheckout

CHANNEL = "stripe"


def subscription_checkout_create(
    *,
    monthly_ref: str,
    campaign_slug: str,
    campaign_title: str,
    amount: Money,
    email: str,
    choices: dict[str, str],
    success_url: str,
    cancel_url: str,
    locale: str = "auto",
) -> CheckoutRedirect:
    """A Checkout Session in subscription mode with an inline monthly price.

    The subscription carries our metadata, which Stripe copies onto each invoice
    (`parent.subscription_details.metadata`): every renewal names its gift."""
    metadata = {"monthly": monthly_ref, "campaign": campaign_slug, **choices}
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": CURRENCY.lower(),
                    "unit_amount": money_to_cents(amount),
                    "recurring": {"interval": "month"},
                    "product_data": {"name": campaign_title[:250]},
                },
            }
        ],
        "client_reference_id": monthly_ref,
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": locale,
    }
    if email:
        params["customer_email"] = email
    session = base._call(
        base.client().v1.checkout.sessions.create,
        params,
        {"idempotency_key": idempotency_key(f"monthly-checkout-{monthly_ref}", params)},
    )
    return CheckoutRedirect(session_id=session.id, url=session.url)


def subscription_checkout_retrieve(*, session_id: str) -> SubscriptionCheckout:
    session = base._call(base.client().v1.checkout.sessions.retrieve, session_id)
    return events.subscription_checkout_from(session.to_dict(for_json=True))


def subscription_retrieve(*, subscription_id: str) -> Subscription:
    found = base._call(base.client().v1.subscriptions.retrieve, subscription_id)
    return events.subscription_from(found.to_dict(for_json=True))


def subscription_cancel_at_period_end(*, subscription_id: str, monthly_ref: str) -> Subscription:
    """Nothing more is charged; the month already paid runs to its end."""
    params: dict[str, Any] = {"cancel_at_period_end": True}
    updated = base._call(
        base.client().v1.subscriptions.update,
        subscription_id,
        params,
        {"idempotency_key": idempotency_key(f"monthly-cancel-{monthly_ref}", params)},
    )
    return events.subscription_from(updated.to_dict(for_json=True))


def subscription_amount_update(
    *, subscription_id: str, monthly_ref: str, amount: Money
) -> Subscription:
    """A new monthly amount from the next renewal on (no proration: this month stays paid)."""
    current = subscription_retrieve(subscription_id=subscription_id)
    params: dict[str, Any] = {
        "items": [
            {
                "id": current.item_id,
                "price_data": {
                    "currency": CURRENCY.lower(),
                    "product": current.product_id,
                    "unit_amount": money_to_cents(amount),
                    "recurring": {"interval": "month"},
                },
            }
        ],
        "proration_behavior": "none",
    }
    # The current price is in the key: each change makes a new price, so 10 → 20 → 10 → 20 are
    # three requests (not a replay of the first), while a retry of one change is that change.
    key_params = {**params, "from": current.price_id}
    updated = base._call(
        base.client().v1.subscriptions.update,
        subscription_id,
        params,
        {"idempotency_key": idempotency_key(f"monthly-amount-{monthly_ref}", key_params)},
    )
    return events.subscription_from(updated.to_dict(for_json=True))


def card_update_session_create(
    *,
    monthly_ref: str,
    customer_id: str,
    subscription_id: str,
    campaign_slug: str,
    success_url: str,
    cancel_url: str,
    locale: str = "auto",
) -> CheckoutRedirect:
    """Checkout in setup mode for the subscription's customer: a new card, nothing paid now."""
    metadata = {
        "monthly": monthly_ref,
        "subscription": subscription_id,
        "campaign": campaign_slug,
    }
    params: dict[str, Any] = {
        "mode": "setup",
        "currency": CURRENCY.lower(),
        "customer": customer_id,
        "allowed_payment_method_types": ["card"],
        "client_reference_id": monthly_ref,
        "metadata": metadata,
        "setup_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": locale,
    }
    session = base._call(
        base.client().v1.checkout.sessions.create,
        params,
        {"idempotency_key": idempotency_key(f"monthly-card-{monthly_ref}", params)},
    )
    return CheckoutRedirect(session_id=session.id, url=session.url)


def setup_intent_payment_method(*, setup_intent_id: str) -> str:
    intent = base._call(base.client().v1.setup_intents.retrieve, setup_intent_id)
    method = intent.payment_method
    return str(getattr(method, "id", method) or "")


def subscription_payment_method_set(
    *, subscription_id: str, monthly_ref: str, payment_method_id: str
) -> None:
    params: dict[str, Any] = {"default_payment_method": payment_method_id}
    base._call(
        base.client().v1.subscriptions.update,
        subscription_id,
        params,
        {"idempotency_key": idempotency_key(f"monthly-card-set-{monthly_ref}", params)},
    )


def invoice_retrieve(*, invoice_id: str) -> Invoice:
    """An invoice with its payments (not in webhook payloads unless included)."""
    found = base._call(base.client().v1.invoices.retrieve, invoice_id, {"expand": ["payments"]})
    return events.invoice_from(found.to_dict(for_json=True))
