"""The one place that talks to Stripe.

Everything else in the project speaks `Money` and plain dataclasses; this module converts to and from
Stripe's integer cents and objects, sends idempotency keys derived from our own ids, and turns every
Stripe failure into `GatewayError` so callers can say "nothing was charged, try again".

With `PAYMENT_GATEWAY=demo` (no Stripe key: the embedded default of `make run`), a local demo page
stands in for Stripe Checkout and no money moves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings
from django.urls import reverse
from djmoney.money import Money

from campaign.models import CURRENCY, cad

# Checkout sessions stay open this long; older pending donations are expired by reconciliation.
CHECKOUT_EXPIRY_SECONDS = 24 * 60 * 60


class GatewayError(Exception):
    """Stripe could not be reached or refused the request; nothing was charged."""


class SignatureError(Exception):
    """A webhook payload whose signature does not verify."""


@dataclass(frozen=True)
class CheckoutRedirect:
    session_id: str
    url: str


@dataclass(frozen=True)
class CheckoutResult:
    """The parts of a Checkout Session (or demo payment) that fulfilment needs."""

    session_id: str
    payment_status: str  # "paid", "unpaid" or "no_payment_required"
    amount_total: Money | None
    currency: str
    donation_ref: str = ""  # our Donation.public_id, from client_reference_id
    payment_intent_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


def is_demo() -> bool:
    return bool(settings.PAYMENT_GATEWAY == "demo")


def money_to_cents(amount: Money) -> int:
    if amount.currency.code != CURRENCY:
        raise ValueError(f"Only {CURRENCY} is supported, not {amount.currency.code}.")
    cents = (amount.amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return int(cents)


def cents_to_money(cents: int) -> Money:
    return cad(Decimal(int(cents)) / 100)


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def client() -> stripe.StripeClient:
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_TIMEOUT_SECONDS,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def _call(func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except stripe.StripeError as error:
        raise GatewayError(str(error.user_message or error) or type(error).__name__) from error


def checkout_session_create(
    *,
    donation_ref: str,
    campaign_slug: str,
    campaign_title: str,
    amount: Money,
    email: str,
    success_url: str,
    cancel_url: str,
    locale: str = "auto",
) -> CheckoutRedirect:
    """Open a Checkout Session for one donation; retries reuse the same idempotency key."""
    if is_demo():
        return CheckoutRedirect(
            session_id=f"demo_{donation_ref}",
            url=reverse("donations:demo_checkout", kwargs={"public_id": donation_ref}),
        )
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": CURRENCY.lower(),
                    "unit_amount": money_to_cents(amount),
                    "product_data": {"name": campaign_title[:250]},
                },
            }
        ],
        "client_reference_id": donation_ref,
        "metadata": {"donation": donation_ref, "campaign": campaign_slug},
        "payment_intent_data": {
            "metadata": {"donation": donation_ref, "campaign": campaign_slug},
        },
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": locale,
        "submit_type": "donate",
    }
    if email:
        params["customer_email"] = email
    session = _call(
        client().v1.checkout.sessions.create,
        params,
        {"idempotency_key": f"checkout-{donation_ref}"},
    )
    return CheckoutRedirect(session_id=session.id, url=session.url)


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


def checkout_session_retrieve(*, session_id: str) -> CheckoutResult:
    session = _call(client().v1.checkout.sessions.retrieve, session_id)
    return checkout_result_from(session.to_dict())


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


def webhook_event_parse(*, payload: bytes, signature: str) -> dict[str, Any]:
    """Verify a webhook with Stripe's scheme against each configured secret (rotation)."""
    if not signature:
        raise SignatureError("Missing Stripe-Signature header.")
    secrets = [s for s in settings.STRIPE_WEBHOOK_SECRETS if s]
    if not secrets:
        raise SignatureError("No webhook secret is configured.")
    last_error: Exception | None = None
    for secret in secrets:
        try:
            stripe.Webhook.construct_event(payload, signature, secret)
        except stripe.SignatureVerificationError as error:
            last_error = error
            continue
        except ValueError as error:
            raise SignatureError(f"Payload is not valid JSON: {error}") from error
        data: dict[str, Any] = json.loads(payload)
        return data
    raise SignatureError(str(last_error) if last_error else "Signature does not verify.")
