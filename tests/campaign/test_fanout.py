"""Publishing an update emails every confirmed subscriber once, in batches, in the background."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from campaign import services, tasks
from campaign.models import DeliveryStatus, Subscriber, SubscriberState, Update, UpdateDelivery
from tests.support.factories import UpdateFactory
from tests.support.mailers import RecordingBackend, WorkerCrash

pytestmark = pytest.mark.django_db


def new_update(**fields: Any) -> Update:
    """An update from the factory, typed for mypy."""
    return cast(Update, UpdateFactory(**fields))


@pytest.fixture(autouse=True)
def recording_mailer(settings) -> Iterator[type[RecordingBackend]]:
    RecordingBackend.reset()
    settings.MAILERS = {"default": {"BACKEND": "tests.support.mailers.RecordingBackend"}}
    yield RecordingBackend
    RecordingBackend.reset()


def subscribers(campaign, n: int, state=SubscriberState.CONFIRMED, prefix="m"):
    return [
        Subscriber.objects.create(campaign=campaign, email=f"{prefix}{i}@example.ca", state=state)
        for i in range(1, n + 1)
    ]


def publish_in_admin(admin_client, campaign, capture, **extra):
    now = timezone.localtime()
    data = {
        "campaign": campaign.pk,
        "title": "Hearing set for March 3",
        "slug": "hearing",
        "body": "The court set the **hearing**.",
        "is_published": "on",
        "published_at_0": now.strftime("%Y-%m-%d"),
        "published_at_1": now.strftime("%H:%M:%S"),
        **extra,
    }
    with capture(execute=True):
        response = admin_client.post("/admin/campaign/update/add/", data)
    assert response.status_code == 302, response.content
    return Update.objects.get(slug="hearing")


def recipients() -> Counter[str]:
    return Counter(m.to[0] for m in mail.outbox)


def test_publishing_emails_each_confirmed_subscriber_once(
    admin_client, campaign, settings, django_capture_on_commit_callbacks
):
    settings.UPDATE_EMAIL_BATCH_SIZE = 2
    subscribers(campaign, 5)
    subscribers(campaign, 1, SubscriberState.PENDING, prefix="pending")
    subscribers(campaign, 1, SubscriberState.UNSUBSCRIBED, prefix="gone")

    update = publish_in_admin(admin_client, campaign, django_capture_on_commit_callbacks)

    assert recipients() == Counter({f"m{i}@example.ca": 1 for i in range(1, 6)})
    assert RecordingBackend.opened == 3  # 5 emails in batches of 2: one connection per batch
    assert set(UpdateDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert UpdateDelivery.objects.filter(update=update).count() == 5
    message = next(m for m in mail.outbox if m.to == ["m1@example.ca"])
    assert message.subject == "Hearing set for March 3 — Legal Defense Fund"
    assert "The court set the **hearing**." in message.body
    assert "<strong>hearing</strong>" in message.alternatives[0].content  # type: ignore[attr-defined]
    leave = message.extra_headers["List-Unsubscribe"]
    assert leave.startswith("<http://testserver/subscriptions/unsubscribe/") and leave.endswith(
        "/>"
    )
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert leave[1:-1] in message.body
    # The link in the email unsubscribes in one click.
    admin_client.get(leave[1:-1].removeprefix("http://testserver"))
    assert Subscriber.objects.get(email="m1@example.ca").state == SubscriberState.UNSUBSCRIBED
    page = admin_client.get(f"/admin/campaign/update/{update.pk}/change/").content.decode()
    assert "<tr><th>Sent</th><td>5</td></tr>" in page


def test_a_retried_fanout_and_redelivered_batches_send_nothing_twice(
    admin_client, campaign, django_capture_on_commit_callbacks
):
    subscribers(campaign, 3)
    update = publish_in_admin(admin_client, campaign, django_capture_on_commit_callbacks)
    ids = list(UpdateDelivery.objects.values_list("pk", flat=True))

    tasks.update_fanout.delay(update.pk)  # the fan-out task retried
    tasks.update_send_batch.delay(update.pk, ids)  # a batch delivered twice by the broker
    update.title = "Hearing moved"
    services.update_save(update=update, content_changed=True)  # an edit after sending

    assert recipients() == Counter({"m1@example.ca": 1, "m2@example.ca": 1, "m3@example.ca": 1})


def test_one_refused_address_does_not_stop_the_rest(
    admin_client, campaign, django_capture_on_commit_callbacks
):
    subscribers(campaign, 4)
    RecordingBackend.refuse = {"m2@example.ca"}

    update = publish_in_admin(admin_client, campaign, django_capture_on_commit_callbacks)

    assert recipients() == Counter({"m1@example.ca": 1, "m3@example.ca": 1, "m4@example.ca": 1})
    failed = UpdateDelivery.objects.get(status=DeliveryStatus.FAILED)
    assert failed.subscriber.email == "m2@example.ca"
    assert "No such user" in failed.error
    listing = admin_client.get("/admin/campaign/update/").content.decode()
    assert "3 sent, 1 failed, 0 pending" in listing
    assert update.pk


def test_a_worker_killed_mid_batch_never_sends_anyone_twice(campaign):
    subscribers(campaign, 5)
    update = new_update(campaign=campaign, slug="news")
    [batch] = services.update_fanout_start(update_id=update.pk, batch_size=100)
    RecordingBackend.crash_on = {"m3@example.ca"}

    with pytest.raises(WorkerCrash):  # the process dies while handing m3's email over
        tasks.update_send_batch.run(update.pk, batch)

    assert recipients() == Counter({"m1@example.ca": 1, "m2@example.ca": 1})
    RecordingBackend.crash_on = set()

    # acks_late: the broker delivers the same batch again to another worker.
    tasks.update_send_batch.delay(update.pk, batch)
    tasks.update_fanout.delay(update.pk)

    # m3's email may have left before the crash: it is never sent again (at most once).
    assert recipients() == Counter(
        {"m1@example.ca": 1, "m2@example.ca": 1, "m4@example.ca": 1, "m5@example.ca": 1}
    )
    stuck = UpdateDelivery.objects.get(subscriber__email="m3@example.ca")
    assert stuck.status == DeliveryStatus.SENDING

    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        tasks.updates_sweep.delay()

    stuck.refresh_from_db()
    assert stuck.status == DeliveryStatus.FAILED
    assert stuck.error.startswith("Interrupted")
    assert len(mail.outbox) == 4


def test_a_scheduled_update_is_emailed_when_its_time_comes(campaign):
    subscribers(campaign, 2)
    later = timezone.now() + timedelta(hours=1)
    update = new_update(campaign=campaign, slug="later", published_at=later)

    assert tasks.updates_sweep.delay().get() == 0
    tasks.update_fanout.delay(update.pk)  # even if asked early, nothing goes before its time
    assert mail.outbox == []

    with time_machine.travel(later + timedelta(seconds=30)):
        assert tasks.updates_sweep.delay().get() == 1
        assert tasks.updates_sweep.delay().get() == 0

    assert recipients() == Counter({"m1@example.ca": 1, "m2@example.ca": 1})
    update.refresh_from_db()
    assert update.fanout_started_at is not None


def test_someone_who_unsubscribes_before_their_batch_gets_nothing(campaign):
    [first, second] = subscribers(campaign, 2)
    update = new_update(campaign=campaign, slug="news")
    [batch] = services.update_fanout_start(update_id=update.pk, batch_size=100)
    services.subscriber_unsubscribe(token=services.subscriber_unsubscribe_token(subscriber=second))

    tasks.update_send_batch.delay(update.pk, batch)

    assert recipients() == Counter({"m1@example.ca": 1})
    assert UpdateDelivery.objects.get(subscriber=second).status == DeliveryStatus.FAILED
    assert first.pk


def test_drafts_are_never_emailed(admin_client, campaign, django_capture_on_commit_callbacks):
    subscribers(campaign, 2)
    publish_in_admin(admin_client, campaign, django_capture_on_commit_callbacks, is_published="")
    assert mail.outbox == [] and UpdateDelivery.objects.count() == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_sends_the_update_once(campaign, settings):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app as celery_app

    settings.UPDATE_EMAIL_BATCH_SIZE = 2
    subscribers(campaign, 5)
    celery_app.control.purge()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        update = new_update(campaign=campaign, slug="live", published_at=timezone.now())
        services.update_save(update=update, content_changed=False)  # commits: enqueues on commit
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if UpdateDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 5:
                break
            time.sleep(0.1)
        tasks.update_fanout.delay(update.pk)  # a duplicate fan-out on the real broker
        time.sleep(1.0)

    assert UpdateDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 5
    assert recipients() == Counter({f"m{i}@example.ca": 1 for i in range(1, 6)})
