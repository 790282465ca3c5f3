"""Saved cards with Stripe: customers, setup-mode Checkout, off-session charges (contingent
pledges). Re-exported by `donations.gateway.stripe`, the backend the facade calls."""

from __future__ import annotations

from typing import Any

import stripe
from djmoney.money import Money

from core.money import CURRENCY, money_to_cents
from donations.gateway.keys import idempotency_key
from donations.gateway.stripe_client import CARD_PARAMS, _call, _gateway_error, client
from donations.gateway.types import CheckoutRedirect, GatewayError, OffSessionCharge, SetupResult


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
    """Checkout in setup mode: the card is saved for a later off-session charge, nothing is paid.
    Cards only (`payment_method_types` is gone since 2026-09-30.endive): no redirect later."""
    metadata = {"pledge": pledge_ref, "campaign": campaign_slug}
    params: dict[str, Any] = {
        "mode": "setup",
        "currency": CURRENCY.lower(),
        "customer": customer_id,
        "allowed_payment_method_types": ["card"],
        "client_reference_id": pledge_ref,
        "metadata": metadata,
        "setup_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": locale,
    }
    session = _call(
        client().v1.checkout.sessions.create,
        params,
        {"idempotency_key": idempotency_key(f"pledge-setup-{pledge_ref}", params)},
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
    return setup_result_from(session.to_dict(for_json=True))


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
                # Nobody can follow a redirect (Stripe wants this or `return_url` to confirm now).
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
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
        if error.param not in CARD_PARAMS:
            raise _gateway_error(error) from error  # our request, not the pledger's card
        # The saved card or its customer is gone (detached, deleted): retrying cannot succeed,
        # the pledger pays another way.
        return OffSessionCharge(
            status="declined", payment_intent_id="", message=str(error.user_message or error)
        )
    except stripe.StripeError as error:
        raise _gateway_error(error) from error
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


def customer_delete(*, customer_id: str) -> bool:
    """Delete a Customer and its saved cards (`CustomerDeleteParams`: none); False when Stripe
    has no such customer any more, so running an erasure again finishes what it left."""
    try:
        _call(client().v1.customers.delete, customer_id)
    except GatewayError as error:
        if getattr(error.__cause__, "code", None) != "resource_missing":
            raise
        return False
    return True
