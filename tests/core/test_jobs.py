"""Background work asked for by name: never failing the caller, one retry schedule for all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery import shared_task
from django.core import mail

from campaign import services
from campaign.models import Subscriber, SubscriberState
from core import jobs
from core.jobs import RetryingTask
from donations import tasks as donation_tasks
from tests.donations.test_broker_outage import broker_down  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


@shared_task(bind=True, base=RetryingTask, backoff=(7, 11))
def _flaky(self: RetryingTask, fail: bool) -> str:
    if fail:
        self.retry_later(OSError("down"))
        return "left for the sweep"
    return "done"


def test_a_task_inherits_its_retry_count_from_its_schedule():
    assert _flaky.max_retries == 2
    assert donation_tasks.process_stripe_event.max_retries == len(RetryingTask.backoff)
    assert donation_tasks.charge_pledge.backoff == donation_tasks.CHARGE_RETRY_SECONDS
    assert donation_tasks.charge_pledge.max_retries == len(donation_tasks.CHARGE_RETRY_SECONDS)
    assert donation_tasks.send_receipt.acks_late is True


def test_an_eager_run_never_retries_and_returns_its_not_done_value():
    assert _flaky.apply(args=(True,)).get() == "left for the sweep"
    assert _flaky.apply(args=(False,)).get() == "done"


def test_a_worker_run_retries_on_the_schedule(monkeypatch):
    asked: list[dict[str, Any]] = []

    def retry(**options: Any) -> Exception:
        asked.append(options)
        return RuntimeError("retry raised")

    monkeypatch.setattr(_flaky, "retry", retry)
    for retries, countdown in ((0, 7), (1, 11), (5, 11)):  # the last step repeats
        _flaky.push_request(is_eager=False, retries=retries)
        try:
            with pytest.raises(RuntimeError, match="retry raised"):
                _flaky.run(True)
        finally:
            _flaky.pop_request()
        assert asked[-1]["countdown"] == countdown
        assert isinstance(asked[-1]["exc"], OSError)


def test_send_by_name_runs_the_task(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue("tests.core.test_jobs._flaky", False)
    assert jobs.send("tests.core.test_jobs._flaky", False) is True


def test_enqueue_waits_for_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        jobs.enqueue("tests.core.test_jobs._flaky", False)
    assert len(callbacks) == 1


def test_broker_down_is_logged_not_raised(broker_down, caplog):  # noqa: F811
    assert jobs.send("donations.tasks.send_receipt", 12345) is False
    assert "Could not enqueue donations.tasks.send_receipt(12345)" in caplog.text


def test_subscribing_while_the_broker_is_down_answers_normally(
    client,
    campaign,
    broker_down,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/campaigns/{campaign.slug}/subscribe/", {"email": "reader@example.ca"}
        )
    assert response.status_code in (200, 302, 303)
    subscriber = Subscriber.objects.get(email="reader@example.ca")
    assert subscriber.state == SubscriberState.PENDING
    assert mail.outbox == []  # queued nowhere: best-effort, the member may ask again later
    assert services.RESEND_CONFIRMATION_AFTER == timedelta(minutes=10)
