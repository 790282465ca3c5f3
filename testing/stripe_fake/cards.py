"""Saved cards for the Stripe fake: customers, Checkout in setup mode, SetupIntents, cards,
off-session PaymentIntents (success, `card_declined`, `authentication_required`), cancel, detach.

Mixed into `StripeFake`. Tests save a card with `complete_setup(session_id, card=...)`, where `card`
plays Stripe's test cards: "ok" (pm_card_visa), "declined" (pm_card_chargeDeclined) and
"authenticate" (pm_card_authenticationRequired: off-session charges need the cardholder).
Failures answer 402 with Stripe's error envelope, the PaymentIntent inside it, as Stripe does.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from testing.stripe_fake.wire import stripe_fee_cents


def _card_error(message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": "card_error", "message": message, **extra}}


def _invalid(message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "message": message, **extra}}


class SavedCardsMixin:
    lock: Any
    charges: dict[str, dict[str, Any]]
    sessions: dict[str, dict[str, Any]]
    balance_transactions: dict[str, dict[str, Any]]
    requests: list[dict[str, Any]]

    def new_id(self, prefix: str) -> str:  # provided by StripeFake
        raise NotImplementedError

    def cards_reset(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.setup_intents: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}

    # --- what tests do from the outside -------------------------------------------------
    def complete_setup(self, session_id: str, *, card: str = "ok") -> dict[str, Any]:
        """The member saved a card on Checkout (setup mode); returns the session for webhooks."""
        with self.lock:
            session = self.sessions[session_id]
            pm: dict[str, Any] = {
                "id": self.new_id("pm"),
                "object": "payment_method",
                "type": "card",
                "customer": session.get("customer"),
                "card": {
                    "brand": "visa",
                    "last4": {"ok": "4242", "declined": "0002"}.get(card, "3155"),
                },
                "behaviour": card,
            }
            self.payment_methods[pm["id"]] = pm
            seti = self.setup_intents[str(session["setup_intent"])]
            seti.update(status="succeeded", payment_method=pm["id"])
            session.update(status="complete")
            return json.loads(json.dumps(session))

    def intents_for_pledge(self, pledge_ref: str) -> list[dict[str, Any]]:
        return [i for i in self.intents.values() if i["metadata"].get("pledge") == pledge_ref]

    def charge_requests_for(self, pledge_ref: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self.requests
            if r["method"] == "POST"
            and r["path"] == "/v1/payment_intents"
            and r["params"].get("metadata", {}).get("pledge") == pledge_ref
        ]

    # --- the API ------------------------------------------------------------------------
    def cards_route(
        self, method: str, path: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        if method == "POST" and path == "/v1/customers":
            customer = {
                "id": self.new_id("cus"),
                "object": "customer",
                "email": params.get("email"),
                "metadata": params.get("metadata", {}),
            }
            with self.lock:
                self.customers[customer["id"]] = customer
            return 200, customer
        if method == "POST" and path == "/v1/checkout/sessions" and params.get("mode") == "setup":
            return self._setup_session_create(params)
        m = re.fullmatch(r"/v1/setup_intents/([\w-]+)", path)
        if m and method == "GET":
            seti = self.setup_intents.get(m.group(1))
            if seti is None:
                return 404, _invalid(
                    f"No such setupintent: '{m.group(1)}'", code="resource_missing"
                )
            return 200, seti
        if method == "POST" and path == "/v1/payment_intents":
            return self._intent_create(params)
        m = re.fullmatch(r"/v1/payment_intents/([\w-]+)/cancel", path)
        if m and method == "POST":
            intent = self.intents.get(m.group(1))
            if intent is None:
                return 404, _invalid("No such payment_intent.", code="resource_missing")
            if intent["status"] == "succeeded":
                return 400, _invalid(
                    "You cannot cancel this PaymentIntent because it has a status of succeeded.",
                    code="payment_intent_unexpected_state",
                )
            intent["status"] = "canceled"
            return 200, intent
        m = re.fullmatch(r"/v1/payment_methods/([\w-]+)/detach", path)
        if m and method == "POST":
            pm = self.payment_methods.get(m.group(1))
            if pm is None:
                return 404, _invalid(
                    f"No such PaymentMethod: '{m.group(1)}'", code="resource_missing"
                )
            if not pm.get("customer"):
                return 400, _invalid(
                    "The payment method you provided is not attached to a customer so detachment "
                    "is impossible."
                )
            pm["customer"] = None
            return 200, pm
        return None

    def _setup_session_create(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if params.get("customer") not in self.customers:
            return 400, _invalid("No such customer.", param="customer", code="resource_missing")
        session_id = self.new_id("cs")
        seti = {
            "id": self.new_id("seti"),
            "object": "setup_intent",
            "customer": params["customer"],
            "metadata": params.get("setup_intent_data", {}).get("metadata", {}),
            "payment_method": None,
            "status": "requires_payment_method",
            "usage": "off_session",
        }
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_total": None,
            "client_reference_id": params.get("client_reference_id"),
            "currency": params.get("currency"),
            "customer": params["customer"],
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": params.get("metadata", {}),
            "mode": "setup",
            "payment_intent": None,
            "payment_status": "no_payment_required",
            "setup_intent": seti["id"],
            "status": "open",
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"https://checkout.stripe.test/c/setup/{session_id}",
            "created": int(time.time()),
        }
        with self.lock:
            self.setup_intents[seti["id"]] = seti
            self.sessions[session_id] = session
        return 200, session

    def _intent_create(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        pm = self.payment_methods.get(str(params.get("payment_method")))
        if pm is None:
            return 400, _invalid(
                f"No such PaymentMethod: '{params.get('payment_method')}'",
                param="payment_method",
                code="resource_missing",
            )
        if pm.get("customer") != params.get("customer"):
            return 400, _invalid(
                "The provided PaymentMethod was previously used with a PaymentIntent without "
                "Customer attachment, shared with a connected account without Customer attachment, "
                "or was detached from a Customer.",
                param="payment_method",
            )
        amount = int(params["amount"])
        intent: dict[str, Any] = {
            "id": self.new_id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": params.get("currency"),
            "customer": params.get("customer"),
            "payment_method": pm["id"],
            "metadata": params.get("metadata", {}),
            "status": "requires_payment_method",
            "last_payment_error": None,
            "latest_charge": None,
            "created": int(time.time()),
        }
        with self.lock:
            self.intents[intent["id"]] = intent
        behaviour = pm["behaviour"]
        if behaviour == "ok":
            charge = {
                "id": self.new_id("ch"),
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "metadata": dict(intent["metadata"]),
                "refunded": False,
                "paid": True,
                "status": "succeeded",
                "balance_transaction": self.new_id("txn"),
            }
            fee = stripe_fee_cents(amount)
            with self.lock:
                self.charges[charge["id"]] = charge
                self.balance_transactions[charge["balance_transaction"]] = {
                    "id": charge["balance_transaction"],
                    "object": "balance_transaction",
                    "amount": amount,
                    "currency": intent["currency"],
                    "fee": fee,
                    "net": amount - fee,
                    "source": charge["id"],
                    "status": "pending",
                    "type": "charge",
                }
            intent.update(status="succeeded", amount_received=amount, latest_charge=charge["id"])
            return 200, intent
        if behaviour == "declined":
            error = {
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            }
        else:
            error = {
                "code": "authentication_required",
                "decline_code": "authentication_required",
                "message": "Your card was declined. This transaction requires authentication.",
            }
        intent["last_payment_error"] = {"type": "card_error", **error}
        return 402, _card_error(
            error["message"],
            code=error["code"],
            decline_code=error["decline_code"],
            payment_intent=json.loads(json.dumps(intent)),
            payment_method={"id": pm["id"], "object": "payment_method"},
        )
