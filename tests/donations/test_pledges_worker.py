"""A real Celery worker on Redis charges a stage's pledges while its pool processes are killed
mid-fan-out: every pledge ends charged, and the Stripe fake saw exactly one charge per pledge."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from campaign.models import Stage, StageState
from config.celery import app as celery_app
from core.money import cad
from donations import gateway
from donations import tasks as pledge_tasks
from donations.models import Pledge, PledgeState
from donations.services import pledges, stages
from tests.support.factories import CampaignFactory
from tests.support.live import Worker, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PLEDGES = 12


def _states() -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in Pledge.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def test_worker_killed_mid_fan_out_charges_each_pledge_exactly_once(stripe_fake, monkeypatch):
    broker = os.environ["CELERY_BROKER_URL"]
    celery_app.control.purge()
    campaign = CampaignFactory.create()
    stage = Stage.objects.create(
        campaign=campaign, title="Trial", estimated_hours=Decimal("40"), state=StageState.POSSIBLE
    )
    made = []
    for i in range(PLEDGES):
        pledge = pledges.pledge_start(stage=stage, amount=cad("20"), email=f"w{i}@example.ca")
        redirect = pledges.pledge_setup_begin(
            pledge=pledge, success_url="http://testserver/ok", cancel_url="http://testserver/no"
        )
        session = stripe_fake.complete_setup(redirect.session_id)
        pledges.pledge_setup_complete(result=gateway.setup_result_from(session))
        made.append(pledge)
    assert _states() == {PledgeState.PLEDGED: PLEDGES}
    stripe_fake.delay_seconds = 0.4  # slow charges, so the kill lands while some are in flight

    worker = Worker(
        broker=broker,
        concurrency=3,
        PAYMENT_GATEWAY="stripe",
        STRIPE_SECRET_KEY="sk_test_fake",
        STRIPE_API_BASE=stripe_fake.url,
        STRIPE_MAX_NETWORK_RETRIES="0",
    )
    try:
        stages.stage_activate(stage_id=stage.pk)  # autocommit: the fan-out is enqueued now
        wait_until(
            lambda: _states().get(PledgeState.CHARGED, 0) >= 2, timeout=150, what="first charges"
        )
        killed = worker.children()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)  # the pool processes die mid-task
        assert killed

        def all_charged() -> bool:
            return _states() == {PledgeState.CHARGED: PLEDGES}

        deadline = time.monotonic() + 150
        while not all_charged() and time.monotonic() < deadline:
            time.sleep(0.5)
        if not all_charged():
            # A task lost with its process: the periodic sweep finds the pledge still charging.
            monkeypatch.setattr(pledge_tasks, "STUCK_AFTER", timedelta(0))
            pledge_tasks.pledges_sweep()
            wait_until(all_charged, timeout=150, what="every pledge charged after the sweep")
        # A duplicate delivery of the whole fan-out changes nothing.
        pledge_tasks.charge_stage_pledges.delay(stage.pk)
        time.sleep(2)
    finally:
        worker.stop()

    assert _states() == {PledgeState.CHARGED: PLEDGES}
    for pledge in made:
        ref = str(pledge.public_id)
        assert len(stripe_fake.intents_for_pledge(ref)) == 1, f"{ref} charged more than once"
        keys = {r["headers"]["idempotency-key"] for r in stripe_fake.charge_requests_for(ref)}
        assert keys == {f"pledge-charge-{ref}"}
    assert len(stripe_fake.charges) == PLEDGES
