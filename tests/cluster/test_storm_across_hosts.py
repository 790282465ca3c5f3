"""The webhook storm across hosts, with a worker host cut off and a web host stopped midway, while
beat runs on both worker hosts by mistake.

200 donations, 500 events (tests/reliability/storm_model.py) delivered 1 to 3 times, shuffled, by 8
senders through `lb`. A third of the way in, `work1` drops off the network (its worker SIGKILLed
with tasks in hand) and `web2` is stopped; two thirds in, `web2` comes back; after the storm `work1`
comes back. Meanwhile beat on both `work1` and `work2` sends every periodic task twice: a scheduled
update's emails, a missed all-or-nothing deadline, a completion only reconciliation can find, and
the sweeps must each happen once.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from campaign.models import (
    DeliveryStatus,
    Stage,
    StageState,
    Subscriber,
    SubscriberState,
    UpdateDelivery,
)
from core import locks
from core.models import PeriodicClaim
from core.money import cad
from donations.models import Channel, Donation, DonationState, Pledge, PledgeState, StripeEvent
from testing.stripe_fake import stripe_fee_cents
from tests.cluster.cluster import WEBHOOK_SECRET, Cluster, wait_until
from tests.cluster.members import deliver
from tests.reliability.storm_model import (
    TERMINAL,
    assert_outcome,
    deliveries,
    scenarios,
    signed,
    storm_events,
)
from tests.support.factories import CampaignFactory, UpdateFactory

pytestmark = [pytest.mark.cluster, pytest.mark.postgres]

SENDERS = 8
SUBSCRIBERS = 40
SETTLE_SECONDS = 300  # the sweeps' own delays (60 s for events, 120 s for receipts) plus beat's
COUNTED = (DonationState.CONFIRMED, DonationState.REFUNDED)


def missed_completion(cluster: Cluster) -> Donation:
    """A paid donation whose webhook never reaches the site: only reconciliation can find it."""
    assert cluster.fake is not None
    campaign = CampaignFactory.create(slug="reconciled")
    donation = Donation.objects.create(
        campaign=campaign, amount=cad(Decimal("75.00")), email="late@example.org",
        display_name="Late", channel=Channel.STRIPE, checkout_session_id="cs_missed",
    )  # fmt: skip
    session = {
        "id": "cs_missed", "object": "checkout.session", "amount_total": 7500, "currency": "cad",
        "client_reference_id": str(donation.public_id), "payment_intent": "pi_missed",
        "payment_status": "paid", "status": "complete", "created": int(time.time()),
        "payment_intent_data": {"metadata": {"donation": str(donation.public_id)}},
        "metadata": {"donation": str(donation.public_id), "campaign": campaign.slug},
    }  # fmt: skip
    with cluster.fake.lock:
        cluster.fake.sessions["cs_missed"] = session
        cluster.fake._charge_for(session)
    cluster.fake.event("checkout.session.completed", session)
    return donation


PLEDGERS = 10


def deadline_missed(cluster: Cluster, campaign: Any) -> list[Pledge]:
    """An all-or-nothing stage short of its target whose deadline passes during the storm: its
    pledges must each be released, their cards detached and their pledgers told, once."""
    assert cluster.fake is not None
    stage = Stage.objects.create(
        campaign=campaign, title="Appeal", description="If they appeal.", position=2,
        estimated_hours=Decimal("40"), state=StageState.POSSIBLE, all_or_nothing=True,
        pledge_target=cad(Decimal("5000")), pledge_deadline=timezone.now() + timedelta(seconds=5),
    )  # fmt: skip
    pledges = []
    for i in range(PLEDGERS):
        pm, customer = f"pm_cluster_{i}", f"cus_cluster_{i}"
        with cluster.fake.lock:
            cluster.fake.payment_methods[pm] = {"id": pm, "object": "payment_method",
                                                "customer": customer, "type": "card"}  # fmt: skip
        pledges.append(
            Pledge.objects.create(
                stage=stage,
                amount=cad(Decimal("50")),
                state=PledgeState.PLEDGED,
                email=f"pledger{i}@example.net",
                customer_id=customer,
                payment_method_id=pm,
                pledged_at=timezone.now(),
                confirmation_sent_at=timezone.now(),
            )  # fmt: skip
        )
    return pledges


class Storm:
    """8 senders through lb, and the faults injected at a third and two thirds of the deliveries."""

    def __init__(self, cluster: Cluster, sent: list[dict[str, Any]]) -> None:
        self.cluster = cluster
        self.work: queue.Queue[dict[str, Any]] = queue.Queue()
        for event in sent:
            self.work.put(event)
        self.total = len(sent)
        self.lock = threading.Lock()
        self.answered = 0
        self.attempts: list[tuple[float, int]] = []  # (when, status) of every attempt
        self.final: Counter[int] = Counter()
        self.marks: dict[str, float] = {}
        self.errors: list[BaseException] = []

    def send(self) -> None:
        client = self.cluster.lb_client()
        deadline = time.monotonic() + 240
        while True:
            try:
                event = self.work.get_nowait()
            except queue.Empty:
                client.close()
                return
            body, headers = signed(event, WEBHOOK_SECRET)
            statuses = deliver(client, body, headers, deadline=deadline)
            now = time.monotonic()
            with self.lock:
                self.attempts += [(now, s) for s in statuses]
                self.final[statuses[-1]] += 1
                self.answered += 1

    def faults(self) -> None:
        try:
            self._wait_for(self.total // 3)
            self.marks["cut"] = time.monotonic()
            self.cluster.cut("work1")
            self.marks["web2 stopping"] = time.monotonic()
            self.cluster.stop("web2")  # SIGTERM: gunicorn finishes what it holds, then exits
            self.marks["web2 stopped"] = time.monotonic()
            self.cluster.log(f"web2: STOPPED (after {self.answered} of {self.total} deliveries)")
            self._wait_for(2 * self.total // 3)
            self.cluster.start_web("web2")
            self.marks["web2 back"] = time.monotonic()
            self.cluster.log(f"web2: BACK (after {self.answered} of {self.total} deliveries)")
        except BaseException as error:  # reported by the test, not lost in a thread
            self.errors.append(error)

    def _wait_for(self, answered: int) -> None:
        deadline = time.monotonic() + 240
        while self.answered < answered and time.monotonic() < deadline:
            time.sleep(0.05)

    def run(self) -> float:
        started = time.monotonic()
        threads = [threading.Thread(target=self.send) for _ in range(SENDERS)]
        threads.append(threading.Thread(target=self.faults))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not self.errors, self.errors
        return time.monotonic() - started


def settled(
    expected: list[Any], missed: Donation, update: Any, pledges: list[Pledge]
) -> dict[str, int]:
    """What is still to do; empty when the storm's work is all done."""
    ids = [e.donation.pk for e in expected]
    donations = Donation.objects.filter(pk__in=ids)
    left = {
        "events": storm_events().exclude(status__in=TERMINAL).count(),
        "receipts": donations.filter(state=DonationState.CONFIRMED, receipt_sent_at=None).count(),
        "fees": donations.filter(state__in=COUNTED, fee=0).count(),
        "update emails": UpdateDelivery.objects.filter(update=update)
        .exclude(status=DeliveryStatus.SENT)
        .count()
        + SUBSCRIBERS
        - UpdateDelivery.objects.filter(update=update).count(),
        "pledges to release": Pledge.objects.filter(
            pk__in=[p.pk for p in pledges], released_sent_at=None
        ).count(),
        "reconciliation": int(
            Donation.objects.filter(pk=missed.pk, receipt_sent_at__isnull=False).count() == 0
        ),
    }
    return {k: v for k, v in left.items() if v}


def test_storm_across_hosts_with_a_worker_host_cut_off_and_a_web_host_stopped(cluster, cluster_db):
    rng = random.Random(4)  # the same storm as tests/reliability/test_storm.py
    assert cluster.fake is not None and cluster.mail is not None
    campaign = CampaignFactory.create(slug="storm")
    expected = scenarios(rng, campaign, cluster.fake)
    sent = deliveries(rng, expected)
    # Periodic work the two beats must not double: a scheduled update's emails, a reconciliation.
    members = [
        Subscriber.objects.create(
            campaign=campaign, email=f"member{i}@example.net", state=SubscriberState.CONFIRMED
        )
        for i in range(SUBSCRIBERS)
    ]
    update = UpdateFactory.create(
        campaign=campaign, slug="hearing", published_at=timezone.now() + timedelta(seconds=5)
    )
    missed = missed_completion(cluster)
    pledges = deadline_missed(cluster, campaign)
    claims_before = {c.name: (c.runs, c.skipped) for c in PeriodicClaim.objects.all()}
    cluster.log(f"storm: {len(expected)} donations, {sum(len(e.events) for e in expected)} "
                f"events, {len(sent)} deliveries by {SENDERS} senders through lb")  # fmt: skip

    storm = Storm(cluster, sent)
    sending = storm.run()
    cluster.log(f"storm: every delivery answered after {sending:.1f}s; final statuses "
                f"{dict(storm.final)}")  # fmt: skip
    cluster.restore("work1")

    started = time.monotonic()
    last_report = 0.0
    while (left := settled(expected, missed, update, pledges)) and time.monotonic() - started < (
        SETTLE_SECONDS
    ):
        if time.monotonic() - last_report > 15:
            cluster.log(f"waiting for the sweeps: still to do {left}")
            last_report = time.monotonic()
        time.sleep(1)
    cluster.log(
        f"settled {time.monotonic() - started:.1f}s after the storm; left: {left or 'none'}"
    )
    assert not left

    # Every delivery answered; a failure only while web2 was going down, then retried.
    assert storm.final == Counter({200: len(sent)}), storm.final
    failed = [(t, s) for t, s in storm.attempts if not 200 <= s < 500]
    window = (storm.marks["web2 stopping"], storm.marks["web2 stopped"] + 2.0)
    cluster.log(f"failed attempts: {len(failed)} ({dict(Counter(s for _, s in failed))}), all "
                f"between web2's SIGTERM and 2s after it exited: "
                f"{all(window[0] <= t <= window[1] for t, _ in failed)}")  # fmt: skip
    assert all(window[0] <= t <= window[1] for t, _ in failed), (failed, storm.marks)

    # Totals equal the model of the event list; each event applied once.
    totals = assert_outcome(expected, campaign)
    cluster.log("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))

    # Each receipt once: one message per gift that has one, told apart by its Message-ID. A worker
    # killed between the mail server's "accepted" and its commit sends that receipt again, as the
    # same message (mail services show it once): reported, at most one such copy per gift.
    donations = Donation.objects.filter(pk__in=[e.donation.pk for e in expected])
    domain = cluster.server_name
    want = {f"<receipt.{d.public_id}@{domain}>": d.email
            for d in donations.exclude(receipt_sent_at=None)}  # fmt: skip
    copies = Counter(mid for to, mid in cluster.mail.ids if mid.startswith("<receipt."))
    storm_copies = {mid: n for mid, n in copies.items() if mid in want}
    assert set(storm_copies) == set(want)
    assert all(n <= 2 for n in storm_copies.values()), storm_copies
    assert all((to, mid) in set(cluster.mail.ids) for mid, to in want.items())
    resent = sorted(mid for mid, n in storm_copies.items() if n > 1)
    for donation in donations.filter(state__in=COUNTED):
        cents = int(donation.amount.amount * 100)
        assert donation.fee.amount == Decimal(stripe_fee_cents(cents)) / 100, donation.pk
    cluster.log(
        f"receipts: {len(want)} receipts for {len(set(want.values()))} members, each once "
        f"by Message-ID; re-sent copies of the same message: {resent or 'none'}; fees "
        f"recorded for {donations.filter(state__in=COUNTED).count()} counted gifts"
    )
    held = [
        f"{m[0]['headers']['task'].rsplit('.', 1)[-1]}{m[0]['headers']['argsrepr']}"
        for m in map(json.loads, redis.Redis(host=cluster.db.address, db=0).hvals("unacked"))
    ]
    cluster.log(
        f"broker: work1 died holding {held or 'nothing'}: unacked until the visibility "
        f"timeout (1 h, acks_late); their work was done again by a repeated delivery or a sweep"
    )

    # Beat on two hosts: every periodic effect once.
    member_emails = {m.email for m in members}
    update_mail = cluster.mail.count(lambda to, subject: to in member_emails)
    assert update_mail == Counter({email: 1 for email in member_emails}), update_mail
    assert StripeEvent.objects.filter(payload__data__object__id="cs_missed").count() == 1
    assert cluster.mail.count(lambda to, subject: to == "late@example.org")["late@example.org"] == 1
    # Both beats are up again (work1's is restarted if it died while cut off): within a tick, the
    # second one's messages arrive and are skipped.
    wait_until(lambda: PeriodicClaim.objects.filter(skipped__gt=0).exists(), timeout=75,
               every=1, what="a message of the second beat")  # fmt: skip
    pledgers = {p.email for p in pledges}
    assert cluster.mail.count(lambda to, subject: to in pledgers) == Counter(
        {email: 1 for email in pledgers}
    )
    released = Pledge.objects.filter(pk__in=[p.pk for p in pledges])
    assert {(p.state, p.detached_at is not None) for p in released} == {
        (PledgeState.RELEASED, True)
    }
    detached = [r["path"] for r in cluster.fake.requests if r["path"].endswith("/detach")]
    assert sorted(detached) == sorted(f"/v1/payment_methods/{p.payment_method_id}/detach"
                                      for p in pledges)  # fmt: skip
    claims = {c.name: c for c in PeriodicClaim.objects.all()}
    sends = {h: cluster.read_log(h, "beat").count("Sending due task") for h in ("work1", "work2")}
    report = []
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        name = entry["task"]
        claim = claims.get(name)
        if claim is None:
            continue  # not guarded: harmless twice (the heartbeat)
        runs, skipped = claim.runs, claim.skipped
        before = claims_before.get(name, (0, 0))
        report.append(f"{name.rsplit('.', 1)[-1]} ran {runs - before[0]}, skipped "
                      f"{skipped - before[1]}")  # fmt: skip
    cluster.log(f"beat on work1 and work2 sent {sends}; claims: " + "; ".join(report))
    elapsed = time.monotonic() - cluster.started
    for name, period in cluster.beat_periods().items():
        claim = claims.get(name)
        # Runs at least a claim's length apart, however many beats sent them.
        assert claim is None or claim.runs <= elapsed / (period * locks.CLAIM_SHARE) + 1, name
