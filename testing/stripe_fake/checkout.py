"""Checkout Sessions in payment mode for the Stripe fake: created by the gateway, paid by the test
(`complete(session_id)`), each paid session with one charge and its balance transaction.

Mixed into `StripeFake`; setup-mode sessions (saved cards) are `cards.SavedCardsMixin`'s.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from testing.stripe_fake.wire import created_since, error, page_of, stripe_fee_cents


class CheckoutMixin:
    lock: Any
    charges: dict[str, dict[str, Any]]
    sessions: dict[str, dict[str, Any]]
    balance_transactions: dict[str, dict[str, Any]]

    def new_id(self, prefix: str) -> str:  # provided by StripeFake
        raise NotImplementedError

    # --- what tests do from the outside -------------------------------------------------
    def complete(self, session_id: str, *, payment_status: str = "paid") -> dict[str, Any]:
        """The member paid (or, for delayed methods, submitted) on Checkout."""
        with self.lock:
            session = self.sessions[session_id]
            session["status"] = "complete"
            session["payment_status"] = payment_status
            if not session.get("payment_intent"):
                session["payment_intent"] = self.new_id("pi")
            if payment_status == "paid":
                self._charge_for(session)
            return json.loads(json.dumps(session))

    def _charge_for(self, session: dict[str, Any]) -> dict[str, Any]:
        pi = session["payment_intent"]
        for charge in self.charges.values():
            if charge["payment_intent"] == pi:
                return charge
        charge = {
            "id": self.new_id("ch"),
            "object": "charge",
            "amount": session["amount_total"],
            "amount_captured": session["amount_total"],
            "amount_refunded": 0,
            "currency": session["currency"],
            "payment_intent": pi,
            "metadata": dict(session.get("payment_intent_data", {}).get("metadata", {})),
            "refunded": False,
            "paid": True,
            "status": "succeeded",
            "balance_transaction": self.new_id("txn"),
        }
        self.charges[charge["id"]] = charge
        self.balance_transactions[charge["balance_transaction"]] = {
            "id": charge["balance_transaction"],
            "object": "balance_transaction",
            "amount": charge["amount"],
            "currency": charge["currency"],
            "fee": stripe_fee_cents(charge["amount"]),
            "net": charge["amount"] - stripe_fee_cents(charge["amount"]),
            "source": charge["id"],
            "status": "pending",
            "type": "charge",
        }
        return charge

    def charge_for_session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            return self._charge_for(self.sessions[session_id])

    # --- the API ------------------------------------------------------------------------
    def checkout_route(
        self, method: str, path: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        m = re.fullmatch(r"/v1/checkout/sessions(?:/([\w-]+))?", path)
        if m and method == "POST" and not m.group(1):
            return self._session_create(params)
        if m and method == "GET" and m.group(1):
            session = self.sessions.get(m.group(1))
            if session is None:
                return 404, error(
                    "invalid_request_error",
                    f"No such checkout.session: '{m.group(1)}'",
                    code="resource_missing",
                )
            return 200, session
        if m and method == "GET":
            sessions = created_since(list(reversed(self.sessions.values())), params)
            return 200, page_of("/v1/checkout/sessions", sessions, params)
        return None

    def _session_create(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = params.get("line_items") or []
        try:
            price = items[0]["price_data"]
            amount = int(price["unit_amount"]) * int(items[0].get("quantity", 1))
            currency = price["currency"]
        except (IndexError, KeyError, ValueError):
            return 400, error(
                "invalid_request_error", "Missing required param: line_items.", param="line_items"
            )
        if amount < 50:
            return 400, error(
                "invalid_request_error",
                "Amount must be at least 50 cents.",
                param="line_items[0][price_data][unit_amount]",
            )
        session_id = self.new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "client_reference_id": params.get("client_reference_id"),
            "currency": currency,
            "customer_email": params.get("customer_email"),
            "expires_at": int(time.time()) + 24 * 3600,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": params.get("metadata", {}),
            "mode": params.get("mode", "payment"),
            "payment_intent": None,
            "payment_intent_data": params.get("payment_intent_data", {}),
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "created": int(time.time()),
        }
        with self.lock:
            self.sessions[session_id] = session
        return 200, session
