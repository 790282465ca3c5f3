"""Checkout Sessions expired through the API, disputes kept and read back with their balance
transactions, and list endpoints held to Stripe's page rules, for the Stripe fake.

Mixed into `StripeFake` and routed before the other families. Tests open disputes from the outside
with `dispute_open(charge_id, amount=..., status=...)` and move them with `dispute_move(...)`, each
returning the dispute object an event carries; the gateway reads it back from `GET
/v1/disputes/:id`, funds withdrawn and reinstated included, as Stripe answers it.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from testing.stripe_fake.wire import error

# Stripe's network dispute fee in Canada, in cents (withdrawn with the disputed amount).
DISPUTE_FEE_CENTS = 1500
# Inquiries (`warning_*`) withdraw nothing; every other open status withdrew amount + fee.
INQUIRY_STATUSES = ("warning_needs_response", "warning_under_review", "warning_closed")
# Nothing is withdrawn for these either (a dispute prevented before it became a chargeback).
NOTHING_WITHDRAWN = (*INQUIRY_STATUSES, "prevented")
LIST_PATHS = ("/v1/events", "/v1/checkout/sessions")


class ExtrasMixin:
    lock: Any
    charges: dict[str, dict[str, Any]]
    sessions: dict[str, dict[str, Any]]
    balance_transactions: dict[str, dict[str, Any]]

    def new_id(self, prefix: str) -> str:  # provided by StripeFake
        raise NotImplementedError

    def extras_reset(self) -> None:
        self.disputes: dict[str, dict[str, Any]] = {}
        # path -> how many more pages of that list are served before one fails with a 500.
        self.list_pages_before_failure: dict[str, int] = {}

    # --- what tests do from the outside -------------------------------------------------
    def dispute_open(
        self, charge_id: str, *, amount: int | None = None, status: str = "needs_response"
    ) -> dict[str, Any]:
        """The cardholder's bank opens a dispute (or an inquiry) on part or all of a charge."""
        with self.lock:
            charge = self.charges[charge_id]
            disputed = (
                amount if amount is not None else charge["amount"] - charge["amount_refunded"]
            )
            dispute = {
                "id": self.new_id("dp"),
                "object": "dispute",
                "amount": disputed,
                "balance_transactions": [],
                "charge": charge_id,
                "created": int(time.time()),
                "currency": charge["currency"],
                "is_charge_refundable": status in INQUIRY_STATUSES,
                "livemode": False,
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "reason": "fraudulent",
                "status": status,
            }
            if status not in NOTHING_WITHDRAWN:
                self._dispute_funds(dispute, -disputed, DISPUTE_FEE_CENTS, "Chargeback withdrawal")
            self.disputes[dispute["id"]] = dispute
            return json.loads(json.dumps(dispute))

    def dispute_move(self, dispute_id: str, status: str) -> dict[str, Any]:
        """The dispute moves on: an inquiry becomes a chargeback (funds withdrawn), a won dispute
        gets the amount and the fee back (Stripe returns the fee when the merchant wins)."""
        with self.lock:
            dispute = self.disputes[dispute_id]
            withdrawn = bool(dispute["balance_transactions"])
            if status not in NOTHING_WITHDRAWN and status != "won" and not withdrawn:
                self._dispute_funds(
                    dispute, -dispute["amount"], DISPUTE_FEE_CENTS, "Chargeback withdrawal"
                )
            if status == "won" and withdrawn:
                self._dispute_funds(
                    dispute, dispute["amount"], -DISPUTE_FEE_CENTS, "Chargeback reversal"
                )
            dispute["status"] = status
            dispute["is_charge_refundable"] = status in INQUIRY_STATUSES
            return json.loads(json.dumps(dispute))

    def _dispute_funds(self, dispute: dict[str, Any], amount: int, fee: int, what: str) -> None:
        txn = {
            "id": self.new_id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "currency": dispute["currency"],
            "description": what,
            "fee": fee,
            "net": amount - fee,
            "source": dispute["id"],
            "status": "available",
            "type": "adjustment",
        }
        self.balance_transactions[txn["id"]] = txn
        dispute["balance_transactions"].append(txn)

    def fail_list_after(self, path: str, pages: int) -> None:
        """Serve `pages` more pages of the list at `path`, then answer the next one with a 500."""
        self.list_pages_before_failure[path] = pages

    # --- the API ------------------------------------------------------------------------
    def extras_route(
        self, method: str, path: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        if method == "GET" and path in LIST_PATHS:
            return self._list_checked(path, params)
        m = re.fullmatch(r"/v1/checkout/sessions/([\w-]+)/expire", path)
        if m and method == "POST":
            return self._session_expire(m.group(1))
        m = re.fullmatch(r"/v1/disputes/([\w-]+)", path)
        if m and method == "GET":
            dispute = self.disputes.get(m.group(1))
            if dispute is None:
                return 404, error(
                    "invalid_request_error",
                    f"No such dispute: '{m.group(1)}'",
                    code="resource_missing",
                    param="dispute",
                )
            return 200, dispute
        return None

    def _list_checked(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """Stripe's page rules; the list itself is served by the family that owns it."""
        limit = params.get("limit")
        if limit is not None and not (str(limit).isdigit() and 1 <= int(limit) <= 100):
            return 400, error(
                "invalid_request_error",
                f"This value must be less than or equal to 100 (it currently is '{limit}').",
                param="limit",
            )
        left = self.list_pages_before_failure.get(path)
        if left is not None:
            if left <= 0:
                del self.list_pages_before_failure[path]
                return 500, error("api_error", "Simulated failure while paging.")
            self.list_pages_before_failure[path] = left - 1
        return None

    def _session_expire(self, session_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return 404, error(
                    "invalid_request_error",
                    f"No such checkout.session: '{session_id}'",
                    code="resource_missing",
                )
            if session["status"] != "open":
                return 400, error(
                    "invalid_request_error",
                    'Only Checkout Sessions with a status in ["open"] can be expired.',
                )
            session["status"] = "expired"
            return 200, json.loads(json.dumps(session))
