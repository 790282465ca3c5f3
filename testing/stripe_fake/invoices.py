"""Invoices for the Stripe fake's subscriptions: each with its line's period, the subscription
under `parent.subscription_details` (with its metadata), and, once paid, a PaymentIntent, a charge,
a balance transaction and the `payments` list (left out of webhook objects, as Stripe does).

Mixed into `SubscriptionsMixin`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from testing.stripe_fake.wire import stripe_fee_cents

MONTH = 30 * 24 * 3600


def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(obj))
    return result


class InvoicesMixin:
    charges: dict[str, dict[str, Any]]
    balance_transactions: dict[str, dict[str, Any]]
    invoices: dict[str, dict[str, Any]]

    def new_id(self, prefix: str) -> str:  # provided by StripeFake
        raise NotImplementedError

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
