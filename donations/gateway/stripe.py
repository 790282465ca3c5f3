"""The one place that talks to Stripe.

Everything else in the project speaks `Money` and plain dataclasses; this module converts to and
from Stripe's integer cents and objects, sends idempotency keys derived from our own ids, and turns
every Stripe failure into `GatewayError` so callers can say "nothing was charged, try again".

The only module that imports `stripe`. `gateway.demo` is the same interface without money;
`donations.gateway` picks one of the two from `PAYMENT_GATEWAY`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings
from djmoney.money import Money

from core.money import CURRENCY, cents_to_money, money_to_cents
from donations.gateway.events import checkout_result_from, dispute_from
from donations.gateway.types import (
    ChargeFee,
    CheckoutRedirect,
    CheckoutResult,
    Dispute,
    GatewayError,
    OffSessionCharge,
    SetupResult,
    SignatureError,
)

CHANNEL = "stripe"
# Payments and refunds settle when Stripe says so, by webhook.
SETTLES_AT_ONCE = False

# Checkout sessions stay open this long; older pending donations are expired by reconciliation.
CHECKOUT_EXPIRY_SECONDS = 24 * 60 * 60


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


def checkout_session_retrieve(*, session_id: str) -> CheckoutResult:
    session = _call(client().v1.checkout.sessions.retrieve, session_id)
    return checkout_result_from(session.to_dict())


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


# --- Saved cards, off-session charges and refunds (contingent pledges, surplus) -----------


def customer_create(*, pledge_ref: str, email: str) -> str:
    customer = _call(
        client().v1.customers.create,
        {"email": email, "metadata": {"pledge": pledge_ref}},
        {"idempotency_key": f"pledge-customer-{pledge_ref}"},
    )
    return str(customer.id)


def setup_session_create(
    *,
    pledge_ref: str,
    customer_id: str,
    campaign_slug: str,
    success_url: str,
    cancel_url: str,
    locale: str = "auto",
) -> CheckoutRedirect:
    """Checkout in setup mode: the card is saved for a later off-session charge, nothing is paid."""
    metadata = {"pledge": pledge_ref, "campaign": campaign_slug}
    session = _call(
        client().v1.checkout.sessions.create,
        {
            "mode": "setup",
            "currency": CURRENCY.lower(),
            "customer": customer_id,
            "payment_method_types": ["card"],
            "client_reference_id": pledge_ref,
            "metadata": metadata,
            "setup_intent_data": {"metadata": metadata},
            "success_url": success_url,
            "cancel_url": cancel_url,
            "locale": locale,
        },
        {"idempotency_key": f"pledge-setup-{pledge_ref}"},
    )
    return CheckoutRedirect(session_id=session.id, url=session.url)


def setup_result_from(session: dict[str, Any]) -> SetupResult:
    """Normalize a setup-mode session; fetches its SetupIntent when it was not expanded."""
    setup_intent = session.get("setup_intent") or ""
    if isinstance(setup_intent, str) and setup_intent and session.get("status") == "complete":
        setup_intent = _call(client().v1.setup_intents.retrieve, setup_intent).to_dict()
    payment_method = setup_intent.get("payment_method") if isinstance(setup_intent, dict) else ""
    if isinstance(payment_method, dict):
        payment_method = payment_method.get("id", "")
    customer = session.get("customer") or ""
    if isinstance(customer, dict):
        customer = customer.get("id", "")
    return SetupResult(
        session_id=str(session.get("id", "")),
        complete=session.get("status") == "complete",
        pledge_ref=str(session.get("client_reference_id") or ""),
        customer_id=str(customer),
        payment_method_id=str(payment_method or ""),
        setup_intent_id=str(
            setup_intent.get("id", "") if isinstance(setup_intent, dict) else setup_intent
        ),
    )


def setup_session_retrieve(*, session_id: str) -> SetupResult:
    session = _call(
        client().v1.checkout.sessions.retrieve, session_id, {"expand": ["setup_intent"]}
    )
    return setup_result_from(session.to_dict())


def payment_intent_off_session(
    *,
    pledge_ref: str,
    donation_ref: str,
    campaign_slug: str,
    amount: Money,
    customer_id: str,
    payment_method_id: str,
) -> OffSessionCharge:
    """Charge a saved card without the cardholder present.

    The idempotency key is the pledge's: a retry, a second worker or a task redelivered after a
    crash gets Stripe's stored answer to the first request instead of a second charge (Stripe keeps
    keys for at least 24 hours; the pledge sweep runs well inside that window).
    """
    metadata = {"donation": donation_ref, "pledge": pledge_ref, "campaign": campaign_slug}
    try:
        intent = client().v1.payment_intents.create(
            {
                "amount": money_to_cents(amount),
                "currency": CURRENCY.lower(),
                "customer": customer_id,
                "payment_method": payment_method_id,
                "off_session": True,
                "confirm": True,
                "metadata": metadata,
            },
            {"idempotency_key": f"pledge-charge-{pledge_ref}"},
        )
    except stripe.CardError as error:
        body = error.error
        intent_obj = getattr(body, "payment_intent", None) if body else None
        intent_id = str(getattr(intent_obj, "id", "") or "") if intent_obj else ""
        needs_cardholder = error.code == "authentication_required"
        status = "authentication_required" if needs_cardholder else "declined"
        return OffSessionCharge(
            status=status, payment_intent_id=intent_id, message=str(error.user_message or error)
        )
    except stripe.InvalidRequestError as error:
        # A detached or unusable payment method: retrying the same request cannot succeed.
        return OffSessionCharge(
            status="declined", payment_intent_id="", message=str(error.user_message or error)
        )
    except stripe.StripeError as error:
        raise GatewayError(str(error.user_message or error) or type(error).__name__) from error
    status = str(intent.status)
    if status in ("requires_action", "requires_confirmation"):
        status = "authentication_required"  # the bank wants the cardholder present
    return OffSessionCharge(status=status, payment_intent_id=str(intent.id))


def payment_intent_cancel(*, payment_intent_id: str) -> None:
    """Cancel an unfinished off-session attempt before the pledger pays another way."""
    if not payment_intent_id:
        return
    try:
        client().v1.payment_intents.cancel(payment_intent_id)
    except stripe.InvalidRequestError:
        pass  # already cancelled or succeeded: nothing to undo
    except stripe.StripeError as error:
        raise GatewayError(str(error.user_message or error) or type(error).__name__) from error


def payment_method_detach(*, payment_method_id: str) -> None:
    """Forget a saved card; one already detached is fine."""
    if not payment_method_id:
        return
    try:
        client().v1.payment_methods.detach(payment_method_id)
    except stripe.InvalidRequestError as error:
        if error.code != "resource_missing" and "not attached" not in str(error):
            raise GatewayError(str(error.user_message or error)) from error
    except stripe.StripeError as error:
        raise GatewayError(str(error.user_message or error) or type(error).__name__) from error


def _field(obj: Any, name: str) -> Any:
    if obj is None or isinstance(obj, str):
        return None
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


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
