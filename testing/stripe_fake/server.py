"""A small local HTTP server that speaks Stripe's wire format for the endpoints the gateway uses.

The real `stripe` SDK talks to it over HTTP (form-encoded requests, JSON responses, Stripe's error
envelope, `Idempotency-Key` replay), so encoding, headers and error handling are exercised for real.
Tests drive payments from the outside with `complete()`, `refund()` and `event()`.

Before a handler runs, `handle` refuses what Stripe would: a `Stripe-Version` other than
`API_VERSION`, an endpoint or parameters outside `contract.ENDPOINTS`' types, an idempotency key
reused for another endpoint or other parameters (a matching reuse replays the first answer with
`Idempotent-Replayed: true`). Refusals are never stored under the key, as at Stripe.

This module is the server, its state and the routing; each family of endpoints is a mixin:
`checkout` (payment-mode Checkout Sessions), `payments` (PaymentIntents, refunds, disputes,
balance transactions), `cards` (customers, setup mode, off-session charges) and `subscriptions`
(subscription-mode Checkout, subscriptions, invoices).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from testing.stripe_fake import contract
from testing.stripe_fake.cards import SavedCardsMixin
from testing.stripe_fake.checkout import CheckoutMixin
from testing.stripe_fake.payments import PaymentsMixin
from testing.stripe_fake.subscriptions import SubscriptionsMixin
from testing.stripe_fake.wire import created_since, error, page_of, unflatten

API_VERSION = "2026-10-28.endive"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rejection:
    """A request Stripe would have refused for its form: our bug, not a payment outcome."""

    method: str
    path: str
    status: int
    param: str
    message: str


@dataclass(frozen=True)
class Answered:
    """The first answer to an idempotency key, replayed to the same request."""

    method: str
    path: str
    params: dict[str, Any]
    status: int
    body: dict[str, Any]


# Every rejection by every fake in this process, in order: the pytest check reads its growth.
REJECTIONS: list[Rejection] = []


class StripeFake(SavedCardsMixin, SubscriptionsMixin, CheckoutMixin, PaymentsMixin):
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
            self.idempotent: dict[str, Answered] = {}
            self.rejections: list[Rejection] = []
            self.failures: list[tuple[int, str]] = []  # (status, error type) for the next calls
            self.delay_seconds = 0.0
            self.cards_reset()
            self.subscriptions_reset()

    def fail_next(self, status: int = 500, error_type: str = "api_error", times: int = 1) -> None:
        self.failures.extend([(status, error_type)] * times)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self.counter):06d}"

    # --- what tests do from the outside (more in the mixins) -----------------------------
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
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Stripe's answer to one request: (status, body, extra response headers)."""
        version = headers.get("stripe-version") or API_VERSION
        echo = {"Stripe-Version": version}
        if not headers.get("authorization", "").startswith("Bearer sk_"):
            return 401, error("invalid_request_error", "Invalid API Key provided."), echo
        violation = self._contract(method, path, params, version)
        if violation is not None:
            status, body = violation
            self._reject(method, path, status, body)
            return status, body, echo
        key = headers.get("idempotency-key")
        if method == "POST" and key and key in self.idempotent:
            first = self.idempotent[key]
            if (first.method, first.path) != (method, path):
                body = error(
                    "idempotency_error",
                    "Keys for idempotent requests can only be used for the same endpoint they "
                    f"were first used for ('{first.method} {first.path}' vs '{method} {path}'). "
                    f"Try using a key other than '{key}' if you meant to execute a different "
                    "request.",
                )
                self._reject(method, path, 400, body)
                return 400, body, echo
            if first.params != params:
                body = error(
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they "
                    f"were first used with. Try using a key other than '{key}' if you meant to "
                    "execute a different request.",
                )
                self._reject(method, path, 400, body)
                return 400, body, echo
            return first.status, first.body, {**echo, "Idempotent-Replayed": "true"}
        if self.failures:
            status, kind = self.failures.pop(0)
            return status, error(kind, "Simulated failure."), echo
        status, body = self._route(method, path, params)
        if method == "POST" and key and status < 500:
            replay = json.loads(json.dumps(body))  # as first answered, whatever happens later
            self.idempotent[key] = Answered(method, path, params, status, replay)
        return status, body, echo

    def _contract(
        self, method: str, path: str, params: dict[str, Any], version: str
    ) -> tuple[int, dict[str, Any]] | None:
        """Stripe's refusal of a request it would not even start, or None."""
        if version != API_VERSION:
            # Stripe knows many versions; this fake answers only the one the SDK is pinned to.
            known = re.fullmatch(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?", version)
            note = "" if not known else f" (the Stripe fake speaks only {API_VERSION})"
            message = f"Invalid Stripe API version: {version}{note}"
            return 400, error("invalid_request_error", message)
        params_name = contract.endpoint_for(method, path)
        if params_name is None:
            return 404, error(
                "invalid_request_error", f"Unrecognized request URL ({method}: {path}).",
                doc_url="https://docs.stripe.com/api",
            )  # fmt: skip
        found = contract.check(params_name, params)
        return None if found is None else (400, found.envelope())

    def _reject(self, method: str, path: str, status: int, body: dict[str, Any]) -> None:
        """Note a request Stripe would refuse: `tests/support/stripe_contract.py` fails the test
        that made it unless the test expects it."""
        details = body["error"]
        rejection = Rejection(
            method, path, status, str(details.get("param") or ""), str(details["message"])
        )
        with self.lock:
            self.rejections.append(rejection)
            REJECTIONS.append(rejection)
        logger.warning("Stripe fake rejected %s %s: %s", method, path, rejection.message)

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        routes = (
            self.cards_route,
            self.subscriptions_route,
            self.checkout_route,
            self.payments_route,
        )
        for route in routes:
            routed = route(method, path, params)
            if routed is not None:
                return routed
        if path == "/v1/events" and method == "GET":
            events = sorted(self.events, key=lambda e: e["created"], reverse=True)
            if "type" in params:
                events = [e for e in events if e["type"] == params["type"]]
            if params.get("types"):
                wanted = set(params["types"])
                events = [e for e in events if e["type"] in wanted]
            events = created_since(events, params)
            return 200, page_of("/v1/events", events, params)
        # In `contract.ENDPOINTS` but handled by no mixin: the fake's own gap.
        return 500, error("api_error", f"The Stripe fake has no handler for {method} {path}.")

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
                status, payload, extra = fake.handle(method, split.path, params, headers)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{next(fake.counter)}")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        return Handler
