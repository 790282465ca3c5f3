"""The webhook storm's event model, shared by the one-machine storm (test_storm.py) and the cluster
storm (tests/cluster/): 200 donations with scenarios, their ~500 events, what the events imply
whatever their order, and the checks that the site's outcome equals it.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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

DONATIONS = 200
EVENTS = 500
TERMINAL = (EventStatus.PROCESSED, EventStatus.IGNORED, EventStatus.FLAGGED)


@dataclass
class Expected:
    donation: Donation
    cents: int
    state: str = DonationState.PENDING
    refunded_cents: int = 0
    dispute: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


def event(kind: str, obj: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "id": f"evt_storm_{n:05d}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "type": kind,
    }


def scenarios(rng: random.Random, campaign: Any, fake: StripeFake) -> list[Expected]:
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

        def stripe_now(*, refunded: int = 0, dispute_status: str = "", i: int = i,
                       ch: str = ch) -> None:  # fmt: skip
            """What Stripe says when asked, whatever the order its events arrive in: the
            charge's final refunded figure and the dispute's final state (issue 13)."""
            with fake.lock:
                fake.charges[ch]["amount_refunded"] = refunded
            if dispute_status:
                opened = fake.dispute_open(ch)
                with fake.lock:
                    fake.disputes[f"dp_storm_{i}"] = fake.disputes.pop(opened["id"])
                    fake.disputes[f"dp_storm_{i}"]["id"] = f"dp_storm_{i}"
                if dispute_status != "needs_response":
                    fake.dispute_move(f"dp_storm_{i}", dispute_status)

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
        final = kind.removeprefix("dispute_") if kind.startswith("dispute") else ""
        stripe_now(
            refunded=exp.refunded_cents,
            dispute_status="needs_response" if final == "open" else final,
        )
        exp.events = [event(t, o, next(counter)) for t, o in events]
        expected.append(exp)
    # Stripe also sends events we do not handle; they are stored and ignored.
    total = sum(len(e.events) for e in expected)
    payers = [e for e in expected if e.state in (DonationState.CONFIRMED, DonationState.REFUNDED)]
    for exp in rng.sample(payers, EVENTS - total):
        obj = {"object": "balance", "available": [{"amount": exp.cents, "currency": "cad"}]}
        exp.events.append(event("balance.available", obj, next(counter)))
    assert sum(len(e.events) for e in expected) == EVENTS
    return expected


def expected_totals(expected: list[Expected]) -> dict[str, Any]:
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


def deliveries(rng: random.Random, expected: list[Expected]) -> list[dict[str, Any]]:
    """Every event 1 to 3 times, shuffled: Stripe retries and does not keep order."""
    out = [e for exp in expected for e in exp.events for _ in range(rng.randint(1, 3))]
    rng.shuffle(out)
    return out


def signed(event: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one webhook delivery."""
    body = json.dumps(event).encode()
    return body, {"Content-Type": "application/json", "Stripe-Signature": sign(body, secret)}


def storm_events() -> Any:
    """The storm's stored events (other tests' events may share the database)."""
    return StripeEvent.objects.filter(stripe_id__startswith="evt_storm_")


def assert_outcome(expected: list[Expected], campaign: Any) -> dict[str, Any]:
    """Every event stored once and applied once, every donation in the state its events imply,
    the totals equal to the model's; returns the totals."""
    events = storm_events()
    assert events.count() == EVENTS
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

    want = expected_totals(expected)
    t = selectors.campaign_totals(campaign=campaign)
    got = {
        "gross": t.gross.amount, "refunded": t.refunded.amount, "disputed": t.disputed.amount,
        "raised": t.raised.amount, "donation_count": t.donation_count,
        "donor_count": t.donor_count,
    }  # fmt: skip
    assert got == want
    return got
