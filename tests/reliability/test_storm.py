"""The webhook storm: 500 signed events for 200 donations, each delivered 1 to 3 times, shuffled,
from 8 concurrent senders, to a real gunicorn server with real Celery workers on Redis.

Afterwards every donation's state and the campaign totals equal what the event list implies, no
request got a 5xx, and every event was applied exactly once.
"""

from __future__ import annotations

import json
import os
import queue
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import redis

from core.money import cad
from donations import selectors
from donations.models import (
    Channel,
    DisputeState,
    Donation,
    DonationState,
    EventStatus,
    StripeEvent,
)
from testing.stripe_fake import StripeFake, sign
from tests.support.factories import CampaignFactory
from tests.support.live import Server, Worker, wait_until
from tests.support.webhooks import WEBHOOK_SECRET

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DONATIONS = 200
EVENTS = 500
SENDERS = 8
TERMINAL = (EventStatus.PROCESSED, EventStatus.IGNORED, EventStatus.FLAGGED)


@dataclass
class Expected:
    donation: Donation
    cents: int
    state: str = DonationState.PENDING
    refunded_cents: int = 0
    dispute: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


def _event(kind: str, obj: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "id": f"evt_storm_{n:05d}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "type": kind,
    }


def _scenarios(rng: random.Random, campaign: Any, fake: StripeFake) -> list[Expected]:
    """One scenario per donation, its events, and the final state they imply in any order."""
    plan = (
        ["paid"] * 40 + ["async_ok"] * 30 + ["async_fail"] * 20 + ["partial_refund"] * 30
        + ["full_refund"] * 30 + ["dispute_open"] * 15 + ["dispute_won"] * 12
        + ["dispute_lost"] * 13 + ["expired"] * 10
    )  # fmt: skip
    assert len(plan) == DONATIONS
    counter = iter(range(1, 10_000))
    expected: list[Expected] = []
    for i, kind in enumerate(plan):
        cents = rng.randint(200, 50_000)
        donation = Donation.objects.create(
            campaign=campaign,
            amount=cad(Decimal(cents) / 100),
            email=f"donor{i % 150}@example.org",  # some members give twice
            display_name=f"Donor {i}",
            channel=Channel.STRIPE,
            checkout_session_id=f"cs_storm_{i}",
        )
        ref, pi = str(donation.public_id), f"pi_storm_{i}"
        # The fake knows the payment, so the fee lookup after confirmation finds its charge.
        with fake.lock:
            fake.sessions[f"cs_storm_{i}"] = {
                "id": f"cs_storm_{i}", "amount_total": cents, "currency": "cad",
                "payment_intent": pi, "payment_intent_data": {"metadata": {"donation": ref}},
            }  # fmt: skip
            ch = fake._charge_for(fake.sessions[f"cs_storm_{i}"])["id"]
        exp = Expected(donation=donation, cents=cents)

        def session(status: str, payment_status: str, *, ref: str = ref, pi: str = pi, i: int = i,
                    cents: int = cents) -> dict[str, Any]:  # fmt: skip
            return {
                "id": f"cs_storm_{i}", "object": "checkout.session", "amount_total": cents,
                "currency": "cad", "client_reference_id": ref, "payment_intent": pi,
                "payment_status": payment_status, "status": status,
                "metadata": {"donation": ref, "campaign": campaign.slug},
            }  # fmt: skip

        def charge(refunded: int, *, ref: str = ref, pi: str = pi, ch: str = ch,
                   cents: int = cents) -> dict[str, Any]:  # fmt: skip
            return {
                "id": ch, "object": "charge", "amount": cents, "amount_refunded": refunded,
                "currency": "cad", "payment_intent": pi, "refunded": refunded >= cents,
                "metadata": {"donation": ref},
            }  # fmt: skip

        def dispute(status: str, *, pi: str = pi, ch: str = ch, i: int = i,
                    cents: int = cents) -> dict[str, Any]:  # fmt: skip
            return {
                "id": f"dp_storm_{i}", "object": "dispute", "amount": cents, "currency": "cad",
                "charge": ch, "payment_intent": pi, "status": status,
            }  # fmt: skip

        events: list[tuple[str, dict[str, Any]]] = []
        if kind in ("async_ok", "async_fail"):
            events.append(("checkout.session.completed", session("complete", "unpaid")))
            if kind == "async_ok":
                paid = session("complete", "paid")
                events.append(("checkout.session.async_payment_succeeded", paid))
                exp.state = DonationState.CONFIRMED
            else:
                events.append(
                    ("checkout.session.async_payment_failed", session("complete", "unpaid"))
                )
                exp.state = DonationState.FAILED
        elif kind == "expired":
            events.append(("checkout.session.expired", session("expired", "unpaid")))
            exp.state = DonationState.EXPIRED
        else:
            events.append(("checkout.session.completed", session("complete", "paid")))
            exp.state = DonationState.CONFIRMED
        if kind == "partial_refund":
            first = cents // 4
            second = cents // 2
            events += [("charge.refunded", charge(first)), ("charge.refunded", charge(second))]
            exp.refunded_cents = second
        if kind == "full_refund":
            events += [("charge.refunded", charge(cents // 3)), ("charge.refunded", charge(cents))]
            exp.refunded_cents = cents
            exp.state = DonationState.REFUNDED
        if kind.startswith("dispute"):
            events.append(("charge.dispute.created", dispute("needs_response")))
            exp.dispute = DisputeState.OPEN
            if kind != "dispute_open":
                outcome = kind.removeprefix("dispute_")
                events.append(("charge.dispute.closed", dispute(outcome)))
                exp.dispute = DisputeState.WON if outcome == "won" else DisputeState.LOST
        exp.events = [_event(t, o, next(counter)) for t, o in events]
        expected.append(exp)
    # Stripe also sends events we do not handle; they are stored and ignored.
    total = sum(len(e.events) for e in expected)
    payers = [e for e in expected if e.state in (DonationState.CONFIRMED, DonationState.REFUNDED)]
    for exp in rng.sample(payers, EVENTS - total):
        obj = {"object": "balance", "available": [{"amount": exp.cents, "currency": "cad"}]}
        exp.events.append(_event("balance.available", obj, next(counter)))
    assert sum(len(e.events) for e in expected) == EVENTS
    return expected


def _expected_totals(expected: list[Expected]) -> dict[str, Any]:
    counted = [e for e in expected if e.state in (DonationState.CONFIRMED, DonationState.REFUNDED)]
    gross = sum(e.cents for e in counted)
    refunded = sum(e.refunded_cents for e in counted)
    disputed = sum(
        e.cents - e.refunded_cents
        for e in counted
        if e.dispute in (DisputeState.OPEN, DisputeState.LOST)
    )
    giving = [e for e in counted if e.refunded_cents < e.cents]
    return {
        "gross": Decimal(gross) / 100,
        "refunded": Decimal(refunded) / 100,
        "disputed": Decimal(disputed) / 100,
        "raised": Decimal(gross - refunded - disputed) / 100,
        "donation_count": len(giving),
        "donor_count": len({e.donation.email for e in giving}),
    }


@pytest.fixture
def broker() -> str:
    url = os.environ["CELERY_BROKER_URL"]
    redis.Redis.from_url(url).delete("celery", "unacked", "unacked_index")
    return url


def test_webhook_storm_counts_every_payment_exactly_once(broker, stripe_server):
    rng = random.Random(4)  # fixed seed: a failure can be replayed
    stripe_server.reset()
    campaign = CampaignFactory.create(slug="storm")
    expected = _scenarios(rng, campaign, stripe_server)
    deliveries = [event for e in expected for event in e.events for _ in range(rng.randint(1, 3))]
    rng.shuffle(deliveries)

    stripe_env = {
        "PAYMENT_GATEWAY": "stripe", "STRIPE_SECRET_KEY": "sk_test_fake",
        "STRIPE_API_BASE": stripe_server.url, "STRIPE_MAX_NETWORK_RETRIES": "0",
    }  # fmt: skip
    server = Server(workers=2, threads=8, CELERY_BROKER_URL=broker, **stripe_env)
    worker = Worker(broker=broker, concurrency=6, **stripe_env)
    statuses: Counter[int] = Counter()
    work: queue.Queue[dict[str, Any]] = queue.Queue()
    for event in deliveries:
        work.put(event)

    def sender() -> None:
        while True:
            try:
                event = work.get_nowait()
            except queue.Empty:
                return
            body = json.dumps(event).encode()
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": sign(body, WEBHOOK_SECRET),
            }
            status, _ = server.request("POST", "/stripe/webhook/", body, **headers)
            statuses[status] += 1

    try:
        started = time.monotonic()
        threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sent_in = time.monotonic() - started
        try:
            wait_until(
                lambda: StripeEvent.objects.filter(status__in=TERMINAL).count() == EVENTS,
                timeout=120, interval=0.5, what="the worker to process every event",
            )  # fmt: skip
        except AssertionError:
            left = StripeEvent.objects.exclude(status__in=TERMINAL)
            print(
                "statuses",
                statuses,
                "total",
                StripeEvent.objects.count(),
                "left",
                list(left.values_list("type", "status", "attempts", "error")[:20]),
            )
            raise
        print(f"storm: {len(deliveries)} deliveries in {sent_in:.1f}s, settled after "
              f"{time.monotonic() - started:.1f}s")  # fmt: skip
    finally:
        worker.stop()
        server.stop()

    assert statuses == Counter({200: len(deliveries)}), statuses
    assert StripeEvent.objects.count() == EVENTS
    events = StripeEvent.objects.all()
    assert all(e.processed_at is not None for e in events)
    # Exactly once: every event applied in one attempt, except a dispute that outran the payment
    # it disputes (not yet known) and was applied on its retry.
    for row in events.exclude(attempts=1):
        assert row.type in ("charge.dispute.created", "charge.dispute.closed"), row.type
    assert {e.status for e in events.filter(type="balance.available")} == {EventStatus.IGNORED}

    for exp in expected:
        donation = Donation.objects.get(pk=exp.donation.pk)
        assert (donation.state, donation.amount_refunded.amount, donation.dispute_state) == (
            exp.state, Decimal(exp.refunded_cents) / 100, exp.dispute,
        ), f"donation {donation.pk}"  # fmt: skip

    want = _expected_totals(expected)
    t = selectors.campaign_totals(campaign=campaign)
    got = {
        "gross": t.gross.amount, "refunded": t.refunded.amount, "disputed": t.disputed.amount,
        "raised": t.raised.amount, "donation_count": t.donation_count,
        "donor_count": t.donor_count,
    }  # fmt: skip
    assert got == want
