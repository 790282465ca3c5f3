"""The one place that talks to Stripe.

Everything else in the project speaks `Money` and plain dataclasses; this module converts to and
from Stripe's integer cents and objects, sends idempotency keys derived from our own ids, and turns
every Stripe failure into `GatewayError` so callers can say "nothing was charged, try again".

With `stripe_client` (the client, errors) and `stripe_cards` (saved cards, re-exported here) the
only modules importing `stripe`. `gateway.demo` is the same interface without money;
`donations.gateway` picks one of the two from `PAYMENT_GATEWAY`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import stripe
from django.conf import settings
from djmoney.money import Money

from core.money import CURRENCY, cents_to_money, money_to_cents
from donations.gateway.events import checkout_result_from, dispute_from
from donations.gateway.keys import idempotency_key
from donations.gateway.stripe_cards import (
    customer_create,
    customer_delete,
    payment_intent_cancel,
    payment_intent_off_session,
    payment_method_detach,
    setup_result_from,
    setup_session_create,
    setup_session_retrieve,
)
from donations.gateway.stripe_client import _call, _field, client
from donations.gateway.types import (
    ChargeFee,
    CheckoutRedirect,
    CheckoutResult,
    Dispute,
    GatewayError,
    SignatureError,
)

CHANNEL = "stripe"
# Payments and refunds settle when Stripe says so, by webhook.
SETTLES_AT_ONCE = False

# Checkout sessions stay open this long; older pending donations are expired by reconciliation.
CHECKOUT_EXPIRY_SECONDS = 24 * 60 * 60

__all__ = [
    "customer_create",
    "customer_delete",
    "payment_intent_cancel",
    "payment_intent_off_session",
    "payment_method_detach",
    "setup_result_from",
    "setup_session_create",
    "setup_session_retrieve",
]


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
    """Open a Checkout Session for one donation; a retry of the same request reuses its
    idempotency key (`keys.idempotency_key`)."""
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
        {"idempotency_key": idempotency_key(f"checkout-{donation_ref}", params)},
    )
    return CheckoutRedirect(session_id=session.id, url=session.url)


def checkout_session_retrieve(*, session_id: str) -> CheckoutResult:
    session = _call(client().v1.checkout.sessions.retrieve, session_id)
    return checkout_result_from(session.to_dict(for_json=True))


def _paged(params: dict[str, Any], list_call: Any) -> Iterator[dict[str, Any]]:
    """Every object of a list, page after page to the end (the SDK's auto-pagination, 100 a
    page), as JSON-safe dicts (SDK 16 may produce `Decimal`); errors become `GatewayError`."""
    page = _call(list_call, {**params, "limit": 100})
    try:
        for obj in page.auto_paging_iter():
            yield obj.to_dict(for_json=True)
    except stripe.StripeError as error:
        raise GatewayError(str(error.user_message or error) or type(error).__name__) from error


def events_list(*, types: list[str], created_after: int) -> Iterator[dict[str, Any]]:
    """Every event Stripe sent (or tried to send) since `created_after` (Unix time, inclusive),
    newest first, however many: reconciliation stores them like webhook payloads."""
    params = {"types": types, "created": {"gte": created_after}}
    return _paged(params, client().v1.events.list)


def checkout_sessions_list(*, created_after: int) -> Iterator[CheckoutResult]:
    """Every Checkout Session opened since `created_after`, for reconciling missed completions."""
    sessions = _paged({"created": {"gte": created_after}}, client().v1.checkout.sessions.list)
    return (checkout_result_from(session) for session in sessions)


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
        except (ValueError, TypeError, AttributeError) as error:
            raise SignatureError(f"Payload is not a valid event: {error}") from error
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise SignatureError("Payload is not a JSON object.")
        return data
    raise SignatureError(str(last_error) if last_error else "Signature does not verify.")


def payment_charge_fee(*, payment_intent_id: str) -> ChargeFee:
    """Stripe's fee for a payment, read from its charge's balance transaction."""
    intent = _call(
        client().v1.payment_intents.retrieve,
        payment_intent_id,
        {"expand": ["latest_charge.balance_transaction"]},
    )
    charge = _field(intent, "latest_charge")
    charge_id = charge if isinstance(charge, str) else str(_field(charge, "id") or "")
    balance = _field(charge, "balance_transaction")
    fee = _field(balance, "fee")
    currency = str(_field(balance, "currency") or "").upper()
    if fee is None or currency != CURRENCY:
        return ChargeFee(charge_id=charge_id, fee=None)
    return ChargeFee(charge_id=charge_id, fee=cents_to_money(int(fee)))


def charge_refunded_amount(*, payment_intent_id: str) -> Money:
    """What Stripe counts as refunded on a payment's charge now (a failed refund is not in it)."""
    intent = _call(
        client().v1.payment_intents.retrieve, payment_intent_id, {"expand": ["latest_charge"]}
    )
    charge = _field(intent, "latest_charge")
    return cents_to_money(int(_field(charge, "amount_refunded") or 0))


def refund_create(
    *, payment_intent_id: str, amount: Money, idempotency_key: str, metadata: dict[str, str]
) -> str:
    """Ask Stripe for a (partial) refund; a retry with the same key cannot refund twice."""
    refund = _call(
        client().v1.refunds.create,
        {
            "payment_intent": payment_intent_id,
            "amount": money_to_cents(amount),
            "reason": "requested_by_customer",
            "metadata": metadata,
        },
        {"idempotency_key": idempotency_key},
    )
    return str(refund.id)


# --- Releasing a pledge's Checkout, and disputes read back (issue 13) -----------------------


def checkout_session_expire(*, session_id: str) -> str:
    """Expire an open Checkout Session: its status afterwards, "expired", or "complete" when it
    was paid first (that payment arrives by webhook). Raises `GatewayError`."""
    if not session_id:
        return "expired"
    try:
        return str(client().v1.checkout.sessions.expire(session_id).status)
    except stripe.InvalidRequestError as error:
        if error.code == "resource_missing":
            return "expired"  # nothing to pay through
        # Not open any more (completed or already expired): say which.
        session = _call(client().v1.checkout.sessions.retrieve, session_id)
        return str(session.status)
    except stripe.StripeError as error:
        raise GatewayError(str(error.user_message or error) or type(error).__name__) from error


def dispute_retrieve(*, dispute_id: str) -> Dispute:
    """A dispute as Stripe has it now, with the funds its balance transactions moved."""
    dispute = _call(client().v1.disputes.retrieve, dispute_id)
    return dispute_from(dispute.to_dict(for_json=True))
