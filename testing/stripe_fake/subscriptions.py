"""Subscriptions and invoices for the Stripe fake, shaped as API 2026-10-28.endive answers them.

Checkout in `subscription` mode with an inline `price_data.recurring` creates, when the test
completes it (`complete_subscription`), a Customer, a Product and Price, a Subscription (its
period on its item, as since 2025-03-31.basil) and its first Invoice, paid, with a PaymentIntent,
a charge and a balance transaction (so fees, refunds and disputes work as for one-off gifts).
Tests then `renew()` (a new paid invoice), `fail_renewal()` (an open invoice, `attempt_count`
grows with each `retry_invoice(paid=False)`), `retry_invoice(paid=True)`, and `end_period()`
(a subscription set to cancel at period end is canceled). Webhook objects leave the invoice's
`payments` out, as Stripe does unless asked (`GET /v1/invoices/{id}?expand[]=payments`); the
subscription is under `parent.subscription_details`.

Mixed into `StripeFake`.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from testing.stripe_fake.wire import error, stripe_fee_cents

MONTH = 30 * 24 * 3600


def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(obj))
    return result


class SubscriptionsMixin:
    lock: Any
    charges: dict[str, dict[str, Any]]
    sessions: dict[str, dict[str, Any]]
    balance_transactions: dict[str, dict[str, Any]]
    customers: dict[str, dict[str, Any]]
    payment_methods: dict[str, dict[str, Any]]
    requests: list[dict[str, Any]]

    def new_id(self, prefix: str) -> str:  # provided by StripeFake
        raise NotImplementedError

    def subscriptions_reset(self) -> None:
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        # What a subscription-mode session was created with (Stripe keeps it server side).
        self.subscription_requests: dict[str, dict[str, Any]] = {}

    # --- what tests do from the outside -------------------------------------------------
    def complete_subscription(self, session_id: str) -> dict[str, Any]:
        """The member subscribed on Checkout: returns the completed session (for the webhook)."""
        with self.lock:
            session = self.sessions[session_id]
            if session["status"] == "complete":
                return _copy(session)
            customer: dict[str, Any] = {
                "id": self.new_id("cus"),
                "object": "customer",
                "email": session.get("customer_email"),
                "metadata": {},
            }
            self.customers[customer["id"]] = customer
            asked = self.subscription_requests[session_id]
            price_data = asked["line_items"][0]["price_data"]
            now = int(time.time())
            subscription_id = self.new_id("sub")
            subscription = {
                "id": subscription_id,
                "object": "subscription",
                "billing_cycle_anchor": now,
                "cancel_at": None,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "collection_method": "charge_automatically",
                "created": now,
                "currency": price_data["currency"],
                "customer": customer["id"],
                "default_payment_method": None,
                "ended_at": None,
                "latest_invoice": None,
                "livemode": False,
                "metadata": dict(asked.get("subscription_data", {}).get("metadata", {})),
                "start_date": now,
                "status": "active",
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": self.new_id("si"),
                            "object": "subscription_item",
                            "current_period_start": now,
                            "current_period_end": now + MONTH,
                            "quantity": 1,
                            "subscription": subscription_id,
                            "price": self._price(
                                product=self.new_id("prod"),
                                currency=price_data["currency"],
                                unit_amount=int(price_data["unit_amount"]),
                            ),
                        }
                    ],
                    "has_more": False,
                    "url": f"/v1/subscription_items?subscription={subscription_id}",
                },
            }
            self.subscriptions[subscription_id] = subscription
            invoice = self._invoice(subscription, reason="subscription_create", paid=True)
            session.update(
                status="complete",
                payment_status="paid",
                customer=customer["id"],
                subscription=subscription_id,
                invoice=invoice["id"],
            )
            return _copy(session)

    def renew(self, subscription_id: str) -> dict[str, Any]:
        """A month passed and the card paid: the new invoice, as `invoice.paid` carries it."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            self._advance(subscription)
            return self._webhook_invoice(self._invoice(subscription, paid=True))

    def fail_renewal(self, subscription_id: str) -> dict[str, Any]:
        """A month passed and the card was declined: an open invoice, the subscription past due."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            self._advance(subscription)
            invoice = self._invoice(subscription, paid=False)
            subscription["status"] = "past_due"
            return self._webhook_invoice(invoice)

    def retry_invoice(self, invoice_id: str, *, paid: bool) -> dict[str, Any]:
        """Stripe's smart retry of an open invoice: paid now, or failed once more."""
        with self.lock:
            invoice = self.invoices[invoice_id]
            invoice["attempt_count"] += 1
            if paid:
                self._pay(invoice)
                self.subscriptions[self._subscription_of(invoice)]["status"] = "active"
            return self._webhook_invoice(invoice)

    def end_period(self, subscription_id: str) -> dict[str, Any]:
        """The paid month ran out on a subscription set to cancel: as `.deleted` carries it."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            now = int(time.time())
            subscription.update(status="canceled", ended_at=now, canceled_at=now)
            return _copy(subscription)

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        with self.lock:
            return _copy(self.subscriptions[subscription_id])

    def invoice_object(self, invoice_id: str) -> dict[str, Any]:
        """An invoice as its webhooks carry it (without `payments`)."""
        with self.lock:
            return self._webhook_invoice(self.invoices[invoice_id])

    def subscription_updates(self, subscription_id: str) -> list[dict[str, Any]]:
        """The parameters of every `POST /v1/subscriptions/{id}` the site sent, in order."""
        path = f"/v1/subscriptions/{subscription_id}"
        return [r["params"] for r in self.requests if r["method"] == "POST" and r["path"] == path]

    # --- state changes (under the lock) ---------------------------------------------------
    def _price(self, *, product: str, currency: str, unit_amount: int) -> dict[str, Any]:
        return {
            "id": self.new_id("price"),
            "object": "price",
            "active": True,
            "currency": currency,
            "product": product,
            "recurring": {"interval": "month", "interval_count": 1},
            "type": "recurring",
            "unit_amount": unit_amount,
        }

    def _advance(self, subscription: dict[str, Any]) -> None:
        item = subscription["items"]["data"][0]
        item["current_period_start"] = item["current_period_end"]
        item["current_period_end"] += MONTH

    def _subscription_of(self, invoice: dict[str, Any]) -> str:
        return str(invoice["parent"]["subscription_details"]["subscription"])

    def _invoice(
        self, subscription: dict[str, Any], *, paid: bool, reason: str = "subscription_cycle"
    ) -> dict[str, Any]:
        item = subscription["items"]["data"][0]
        amount = int(item["price"]["unit_amount"])
        invoice_id = self.new_id("in")
        invoice: dict[str, Any] = {
            "id": invoice_id,
            "object": "invoice",
            "amount_due": amount,
            "amount_paid": 0,
            "amount_remaining": amount,
            "attempt_count": 1,
            "attempted": True,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": int(time.time()),
            "currency": subscription["currency"],
            "customer": subscription["customer"],
            "hosted_invoice_url": f"https://invoice.stripe.test/i/{invoice_id}",
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": self.new_id("il"),
                        "object": "line_item",
                        "amount": amount,
                        "currency": subscription["currency"],
                        "period": {
                            "start": item["current_period_start"],
                            "end": item["current_period_end"],
                        },
                        "pricing": {"price_details": {"price": item["price"]["id"]}},
                        "quantity": 1,
                    }
                ],
                "has_more": False,
            },
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": None,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": dict(subscription["metadata"]),
                },
            },
            "payments": {"object": "list", "data": [], "has_more": False},
            "period_start": item["current_period_start"],
            "period_end": item["current_period_end"],
            "status": "open",
            "subtotal": amount,
            "total": amount,
        }
        self.invoices[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        if paid:
            self._pay(invoice)
        else:
            invoice["next_payment_attempt"] = int(time.time()) + 3 * 24 * 3600
        return invoice

    def _pay(self, invoice: dict[str, Any]) -> None:
        amount = invoice["amount_due"]
        pi = self.new_id("pi")
        charge = {
            "id": self.new_id("ch"),
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "currency": invoice["currency"],
            "customer": invoice["customer"],
            "payment_intent": pi,
            "metadata": {},
            "refunded": False,
            "paid": True,
            "status": "succeeded",
            "balance_transaction": self.new_id("txn"),
        }
        fee = stripe_fee_cents(amount)
        self.charges[charge["id"]] = charge
        self.balance_transactions[charge["balance_transaction"]] = {
            "id": charge["balance_transaction"],
            "object": "balance_transaction",
            "amount": amount,
            "currency": invoice["currency"],
            "fee": fee,
            "net": amount - fee,
            "source": charge["id"],
            "status": "pending",
            "type": "charge",
        }
        now = int(time.time())
        invoice.update(
            status="paid",
            amount_paid=amount,
            amount_remaining=0,
            next_payment_attempt=None,
            status_transitions={"paid_at": now},
        )
        invoice["payments"]["data"] = [
            {
                "id": self.new_id("inpay"),
                "object": "invoice_payment",
                "amount_paid": amount,
                "amount_requested": amount,
                "currency": invoice["currency"],
                "invoice": invoice["id"],
                "is_default": True,
                "livemode": False,
                "payment": {"type": "payment_intent", "payment_intent": pi},
                "status": "paid",
                "status_transitions": {"paid_at": now, "canceled_at": None},
            }
        ]

    def _webhook_invoice(self, invoice: dict[str, Any]) -> dict[str, Any]:
        shown = _copy(invoice)
        shown.pop("payments", None)  # includable: not in webhook payloads unless asked
        return shown

    # --- the API ------------------------------------------------------------------------
    def subscriptions_route(
        self, method: str, path: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        if (
            method == "POST"
            and path == "/v1/checkout/sessions"
            and params.get("mode") == "subscription"
        ):
            return self._subscription_session_create(params)
        m = re.fullmatch(r"/v1/subscriptions/([\w-]+)", path)
        if m:
            subscription = self.subscriptions.get(m.group(1))
            if subscription is None:
                return 404, error(
                    "invalid_request_error",
                    f"No such subscription: '{m.group(1)}'",
                    code="resource_missing",
                )
            if method == "GET":
                return 200, _copy(subscription)
            if method == "POST":
                return self._subscription_update(subscription, params)
        m = re.fullmatch(r"/v1/invoices/([\w-]+)", path)
        if m and method == "GET":
            invoice = self.invoices.get(m.group(1))
            if invoice is None:
                return 404, error(
                    "invalid_request_error",
                    f"No such invoice: '{m.group(1)}'",
                    code="resource_missing",
                )
            if "payments" in list(params.get("expand") or []):
                return 200, _copy(invoice)
            return 200, self._webhook_invoice(invoice)
        return None

    def _subscription_session_create(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = params.get("line_items") or []
        try:
            price = items[0]["price_data"]
            amount = int(price["unit_amount"])
            interval = price["recurring"]["interval"]
        except (IndexError, KeyError, TypeError, ValueError):
            return 400, error(
                "invalid_request_error",
                "You must specify a recurring price in `subscription` mode.",
                param="line_items[0][price_data][recurring]",
            )
        if interval not in ("day", "week", "month", "year") or amount < 50:
            return 400, error(
                "invalid_request_error",
                "Invalid recurring price.",
                param="line_items[0][price_data]",
            )
        if "payment_intent_data" in params or "submit_type" in params:
            bad = "payment_intent_data" if "payment_intent_data" in params else "submit_type"
            return 400, error(
                "invalid_request_error",
                f"You can not pass `{bad}` in `subscription` mode.",
                param=bad,
            )
        session_id = self.new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "client_reference_id": params.get("client_reference_id"),
            "currency": price["currency"],
            "customer": None,
            "customer_email": params.get("customer_email"),
            "expires_at": int(time.time()) + 24 * 3600,
            "invoice": None,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": params.get("metadata", {}),
            "mode": "subscription",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "created": int(time.time()),
        }
        with self.lock:
            self.sessions[session_id] = session
            self.subscription_requests[session_id] = _copy(params)
        return 200, session

    def _subscription_update(
        self, subscription: dict[str, Any], params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if subscription["status"] == "canceled":
            return 400, error(
                "invalid_request_error",
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        with self.lock:
            if "cancel_at_period_end" in params:
                cancel = params["cancel_at_period_end"] in ("true", True)
                item = subscription["items"]["data"][0]
                subscription["cancel_at_period_end"] = cancel
                subscription["cancel_at"] = item["current_period_end"] if cancel else None
                subscription["canceled_at"] = int(time.time()) if cancel else None
            if "default_payment_method" in params:
                pm = self.payment_methods.get(str(params["default_payment_method"]))
                if pm is None or pm.get("customer") != subscription["customer"]:
                    return 400, error(
                        "invalid_request_error",
                        "The customer does not have a payment method with the ID "
                        f"{params['default_payment_method']}.",
                        param="default_payment_method",
                        code="resource_missing",
                    )
                subscription["default_payment_method"] = pm["id"]
            for change in params.get("items") or []:
                item = next(
                    (i for i in subscription["items"]["data"] if i["id"] == change.get("id")),
                    None,
                )
                data = change.get("price_data")
                if item is None or not isinstance(data, dict):
                    return 400, error(
                        "invalid_request_error", "No such subscription item.", param="items"
                    )
                if data.get("product") != item["price"]["product"]:
                    return 400, error(
                        "invalid_request_error",
                        f"No such product: '{data.get('product')}'",
                        param="items[0][price_data][product]",
                        code="resource_missing",
                    )
                item["price"] = self._price(
                    product=data["product"],
                    currency=data["currency"],
                    unit_amount=int(data["unit_amount"]),
                )
            return 200, _copy(subscription)
