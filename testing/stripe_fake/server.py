"""A small local HTTP server that speaks Stripe's wire format for the endpoints the gateway uses.

The real `stripe` SDK talks to it over HTTP (form-encoded requests, JSON responses, Stripe's error
envelope, `Idempotency-Key` replay), so encoding, headers and error handling are exercised for real.
Tests drive payments from the outside with `complete()`, `refund()` and `event()`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from testing.stripe_fake.cards import SavedCardsMixin

API_VERSION = "2026-10-28.endive"


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header made the way Stripe makes it."""
    ts = int(time.time()) if timestamp is None else timestamp
    signed = f"{ts}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Turn Stripe's `a[b][0][c]=v` form encoding back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = parts[i + 1] if not last else None
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append({} if nxt is not None and not nxt.isdigit() else [])
                if last:
                    node[index] = value
                else:
                    if not isinstance(node[index], (dict, list)) or (
                        nxt is not None and nxt.isdigit() and not isinstance(node[index], list)
                    ):
                        node[index] = [] if nxt is not None and nxt.isdigit() else {}
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt is not None and nxt.isdigit() else {})
    return root


class StripeFake(SavedCardsMixin):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        self.reset()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- lifecycle --------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StripeFake:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.requests: list[dict[str, Any]] = []
            self.sessions: dict[str, dict[str, Any]] = {}
            self.charges: dict[str, dict[str, Any]] = {}
            self.refunds: dict[str, dict[str, Any]] = {}
            self.balance_transactions: dict[str, dict[str, Any]] = {}
            self.events: list[dict[str, Any]] = []
            self.idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
            self.failures: list[tuple[int, str]] = []  # (status, error type) for the next calls
            self.delay_seconds = 0.0
            self.cards_reset()

    def fail_next(self, status: int = 500, error_type: str = "api_error", times: int = 1) -> None:
        self.failures.extend([(status, error_type)] * times)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self.counter):06d}"

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

    def _payment_intent(self, pi: str, expand: list[str]) -> tuple[int, dict[str, Any]]:
        charge = next((c for c in self.charges.values() if c["payment_intent"] == pi), None)
        if charge is None and not any(
            s.get("payment_intent") == pi for s in self.sessions.values()
        ):
            return 404, _error(
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

    def charge_for_session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            return self._charge_for(self.sessions[session_id])

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

    def event(
        self, event_type: str, obj: dict[str, Any], *, created: int | None = None
    ) -> dict[str, Any]:
        """An event as Stripe would post it, also listed by `GET /v1/events`."""
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": created or int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        with self.lock:
            self.events.append(event)
        return event

    def requests_to(self, method: str, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]

    # --- the API ------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if not headers.get("authorization", "").startswith("Bearer sk_"):
            return 401, _error("invalid_request_error", "Invalid API Key provided.")
        key = headers.get("idempotency-key")
        if method == "POST" and key and key in self.idempotent:
            return self.idempotent[key]
        if self.failures:
            status, kind = self.failures.pop(0)
            return status, _error(kind, "Simulated failure.")
        result = self._route(method, path, params)
        if method == "POST" and key and result[0] < 500:
            self.idempotent[key] = result
        return result

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        routed = self.cards_route(method, path, params)  # saved cards: tests/stripe_fake_cards.py
        if routed is not None:
            return routed
        m = re.fullmatch(r"/v1/checkout/sessions(?:/([\w-]+))?", path)
        if m and method == "POST" and not m.group(1):
            return self._session_create(params)
        if m and method == "GET" and m.group(1):
            session = self.sessions.get(m.group(1))
            if session is None:
                return 404, _error(
                    "invalid_request_error",
                    f"No such checkout.session: '{m.group(1)}'",
                    code="resource_missing",
                )
            return 200, session
        if m and method == "GET":
            sessions = _created_since(list(reversed(self.sessions.values())), params)
            return 200, _list("/v1/checkout/sessions", sessions, params)
        if path == "/v1/events" and method == "GET":
            events = sorted(self.events, key=lambda e: e["created"], reverse=True)
            if "type" in params:
                events = [e for e in events if e["type"] == params["type"]]
            if params.get("types"):
                wanted = set(params["types"])
                events = [e for e in events if e["type"] in wanted]
            events = _created_since(events, params)
            return 200, _list("/v1/events", events, params)
        if path == "/v1/refunds" and method == "POST":
            return self._refund_create(params)
        m = re.fullmatch(r"/v1/payment_intents/([\w-]+)", path)
        if m and method == "GET":
            return self._payment_intent(m.group(1), list(params.get("expand") or []))
        m = re.fullmatch(r"/v1/balance_transactions/([\w-]+)", path)
        if m and method == "GET" and m.group(1) in self.balance_transactions:
            return 200, self.balance_transactions[m.group(1)]
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _session_create(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = params.get("line_items") or []
        try:
            price = items[0]["price_data"]
            amount = int(price["unit_amount"]) * int(items[0].get("quantity", 1))
            currency = price["currency"]
        except (IndexError, KeyError, ValueError):
            return 400, _error(
                "invalid_request_error", "Missing required param: line_items.", param="line_items"
            )
        if amount < 50:
            return 400, _error(
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
            return 404, _error("invalid_request_error", "No such charge.", code="resource_missing")
        amount = int(params.get("amount") or charge["amount"] - charge["amount_refunded"])
        if amount <= 0 or charge["amount_refunded"] + amount > charge["amount"]:
            return 400, _error(
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

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: with Nagle's algorithm on, the body waits
            # for the client's delayed ACK, 40 ms per call (found profiling `make bench`).
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                pairs = parse_qsl(body if method == "POST" else split.query, keep_blank_values=True)
                params = unflatten(pairs)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake.lock:
                    fake.requests.append(
                        {
                            "method": method,
                            "path": split.path,
                            "params": params,
                            "headers": headers,
                            "raw": body,
                        }
                    )
                if fake.delay_seconds:
                    time.sleep(fake.delay_seconds)
                status, payload = fake.handle(method, split.path, params, headers)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{next(fake.counter)}")
                self.send_header("Stripe-Version", API_VERSION)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        return Handler


def stripe_fee_cents(amount: int) -> int:
    """Stripe's Canadian card fee, 2.9 % + 30¢, rounded half up to the cent."""
    return (amount * 29 + 500) // 1000 + 30


def _error(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, **extra}}


def _created_since(items: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Stripe's `created[gte]` list filter."""
    created = params.get("created")
    if isinstance(created, dict) and created.get("gte"):
        return [i for i in items if int(i.get("created") or 0) >= int(created["gte"])]
    return items


def _list(url: str, items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    limit = int(params.get("limit") or 10)
    start = 0
    if params.get("starting_after"):
        ids = [i["id"] for i in items]
        start = (
            ids.index(params["starting_after"]) + 1
            if params["starting_after"] in ids
            else len(items)
        )
    page = items[start : start + limit]
    return {"object": "list", "url": url, "has_more": start + limit < len(items), "data": page}
