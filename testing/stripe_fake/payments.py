"""Charges after the fact for the Stripe fake: PaymentIntents read back, balance transactions,
refunds (asked through the API, made in the dashboard, failing later) and disputes.

Mixed into `StripeFake`; the charges themselves are made by `CheckoutMixin` and `SavedCardsMixin`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from testing.stripe_fake.wire import error


class PaymentsMixin:
    lock: Any
    charges: dict[str, dict[str, Any]]
    sessions: dict[str, dict[str, Any]]
    refunds: dict[str, dict[str, Any]]
    balance_transactions: dict[str, dict[str, Any]]

    def new_id(self, prefix: str) -> str:  # provided by StripeFake
        raise NotImplementedError

    # --- what tests do from the outside -------------------------------------------------
    def dispute(self, charge_id: str, *, status: str = "needs_response") -> dict[str, Any]:
        """A dispute object as `charge.dispute.*` events carry it."""
        with self.lock:
            charge = self.charges[charge_id]
            return {
                "id": f"dp_{charge_id}",
                "object": "dispute",
                "amount": charge["amount"] - charge["amount_refunded"],
                "charge": charge_id,
                "currency": charge["currency"],
                "payment_intent": charge["payment_intent"],
                "reason": "fraudulent",
                "status": status,
            }

    def refund(self, charge_id: str, amount: int | None = None) -> dict[str, Any]:
        """A refund made in Stripe's dashboard; returns the updated charge."""
        with self.lock:
            charge = self.charges[charge_id]
            amount = amount if amount is not None else charge["amount"] - charge["amount_refunded"]
            charge["amount_refunded"] = min(charge["amount"], charge["amount_refunded"] + amount)
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            return json.loads(json.dumps(charge))

    def refund_fail(
        self, refund_id: str, reason: str = "expired_or_canceled_card"
    ) -> dict[str, Any]:
        """A refund Stripe accepted fails later (the card account closed): the money goes back to
        the balance and leaves the charge's refunded amount. Returns the refund object."""
        with self.lock:
            refund = self.refunds[refund_id]
            refund["status"] = "failed"
            refund["failure_reason"] = reason
            charge = self.charges[refund["charge"]]
            charge["amount_refunded"] = max(charge["amount_refunded"] - refund["amount"], 0)
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            return json.loads(json.dumps(refund))

    # --- the API ------------------------------------------------------------------------
    def payments_route(
        self, method: str, path: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        if path == "/v1/refunds" and method == "POST":
            return self._refund_create(params)
        m = re.fullmatch(r"/v1/payment_intents/([\w-]+)", path)
        if m and method == "GET":
            return self._payment_intent(m.group(1), list(params.get("expand") or []))
        m = re.fullmatch(r"/v1/balance_transactions/([\w-]+)", path)
        if m and method == "GET":
            if m.group(1) not in self.balance_transactions:
                return 404, error(
                    "invalid_request_error",
                    f"No such balance transaction: '{m.group(1)}'",
                    code="resource_missing",
                )
            return 200, self.balance_transactions[m.group(1)]
        return None

    def _payment_intent(self, pi: str, expand: list[str]) -> tuple[int, dict[str, Any]]:
        charge = next((c for c in self.charges.values() if c["payment_intent"] == pi), None)
        if charge is None and not any(
            s.get("payment_intent") == pi for s in self.sessions.values()
        ):
            return 404, error(
                "invalid_request_error", f"No such payment_intent: '{pi}'", code="resource_missing"
            )
        latest: Any = charge["id"] if charge else None
        if charge and any(e.startswith("latest_charge") for e in expand):
            latest = dict(charge)
            if "latest_charge.balance_transaction" in expand:
                latest["balance_transaction"] = self.balance_transactions.get(
                    charge["balance_transaction"]
                )
        intent = {
            "id": pi,
            "object": "payment_intent",
            "amount": charge["amount"] if charge else None,
            "currency": charge["currency"] if charge else "cad",
            "latest_charge": latest,
            "status": "succeeded" if charge else "requires_payment_method",
        }
        return 200, intent

    def _refund_create(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        charge = None
        if params.get("charge"):
            charge = self.charges.get(params["charge"])
        elif params.get("payment_intent"):
            charge = next(
                (
                    c
                    for c in self.charges.values()
                    if c["payment_intent"] == params["payment_intent"]
                ),
                None,
            )
        if charge is None:
            return 404, error("invalid_request_error", "No such charge.", code="resource_missing")
        amount = int(params.get("amount") or charge["amount"] - charge["amount_refunded"])
        if amount <= 0 or charge["amount_refunded"] + amount > charge["amount"]:
            return 400, error(
                "invalid_request_error",
                "Refund amount is greater than unrefunded amount on charge.",
                code="amount_too_large",
            )
        self.refund(charge["id"], amount)
        refund = {
            "id": self.new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "currency": charge["currency"],
            "metadata": params.get("metadata", {}),
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return 200, refund
