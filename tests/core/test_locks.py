"""Periodic tasks sent by two beats run once per tick (core/locks.py); direct calls always run."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from campaign import tasks
from core import locks
from core.models import PeriodicClaim

pytestmark = pytest.mark.django_db

NAME = "campaign.tasks.updates_sweep"


def beat_message() -> object:
    """What a worker does with one message from beat (it carries beat's header)."""
    return tasks.updates_sweep.apply(headers={locks.BEAT_HEADER: True}).get()


def test_of_two_beats_messages_for_one_tick_one_runs():
    assert beat_message() == 0  # ran: no update was due
    assert beat_message() is None  # the other beat's message for the same tick
    claim = PeriodicClaim.objects.get(name=NAME)
    assert (claim.runs, claim.skipped) == (1, 1)


def test_the_next_tick_runs_again():
    beat_message()
    period = locks.beat_period_seconds(NAME)
    assert period == 60.0
    with time_machine.travel(timezone.now() + timedelta(seconds=period * locks.CLAIM_SHARE + 1)):
        assert beat_message() == 0
    assert PeriodicClaim.objects.get(name=NAME).runs == 2


def test_a_call_not_from_beat_always_runs():
    beat_message()
    assert tasks.updates_sweep.delay().get() == 0
    assert tasks.updates_sweep() == 0
    claim = PeriodicClaim.objects.get(name=NAME)
    assert (claim.runs, claim.skipped) == (1, 0)


MUST_NOT_RUN_TWICE = (
    "donations.tasks.sweep_unprocessed_events",
    "donations.tasks.sweep_lost_work",
    "donations.tasks.reconcile_stripe",
    "campaign.tasks.updates_sweep",
    "donations.tasks.pledges_sweep",
)


def test_the_sweeps_reconciliation_and_fan_out_are_guarded_and_scheduled():
    from config.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    for name in MUST_NOT_RUN_TWICE:
        assert name in scheduled, name
        assert getattr(app.tasks[name].run, "__wrapped__", None) is not None, name
