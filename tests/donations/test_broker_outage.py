"""With the broker unreachable, a payment's thanks page and an admin refund still answer (the work
is stored, never lost), and the periodic `sweep_lost_work` queues it again once the broker is back:
receipts, requested refunds, pending surplus shares and Stripe fees."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db.models import Model
from django.utils import timezone

from config.celery import app as celery_app
from core.money import cad
from donations import services, tasks
from donations.models import (
    CaseClosure,
    ClosureState,
    Donation,
    Refund,
    RefundStatus,
    ShareState,
    SurplusShare,
)
from donations.services import recovery, surplus
from tests.support.factories import confirmed_donation
from tests.support.payments import start_checkout


def _fresh_pools() -> None:
    # Producers are pooled per broker URL: drop them so the next enqueue uses the current URL.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tasks go to a broker nobody listens on (the enqueue fails fast)."""
    conf = celery_app.conf
    old = (conf.task_always_eager, conf.broker_url)
    conf.task_always_eager = False
    # Celery reads CELERY_BROKER_URL from the environment before its own setting (CI sets it).
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    conf.broker_url = "redis://127.0.0.1:1/0"
    _fresh_pools()
    yield
    conf.task_always_eager, conf.broker_url = old
    _fresh_pools()


def _broker_back() -> None:
    celery_app.conf.task_always_eager = True


def _age(model: type[Model], pk: int, field: str) -> None:
    """Make the work older than the sweep's grace period."""
    model._default_manager.filter(pk=pk).update(**{field: timezone.now() - timedelta(minutes=10)})


@pytest.mark.django_db(transaction=True)
def test_thanks_page_answers_and_the_receipt_goes_out_later(
    client, campaign, stripe_fake, broker_down, mailoutbox
):
    donation, session_id = start_checkout(client, campaign, amount="25")
    stripe_fake.complete(session_id)
    client.raise_request_exception = False

    response = client.get(f"/donations/{donation.public_id}/thanks/?session_id={session_id}")

    assert response.status_code == 200
    donation.refresh_from_db()
    assert donation.is_counted
    assert donation.receipt_sent_at is None and mailoutbox == []

    _broker_back()
    _age(Donation, donation.pk, "confirmed_at")
    swept = recovery.work_sweep()

    assert swept["receipts"] == 1
    donation.refresh_from_db()
    assert donation.receipt_sent_at is not None
    assert len(mailoutbox) == 1
    assert recovery.work_sweep()["receipts"] == 0  # sent once


@pytest.mark.django_db(transaction=True)
def test_admin_refund_answers_and_is_submitted_later(admin_client, campaign, broker_down):
    celery_app.conf.task_always_eager = True
    donation = confirmed_donation(campaign, "40.00", channel="demo", email="")
    celery_app.conf.task_always_eager = False
    admin_client.raise_request_exception = False

    response = admin_client.post(
        f"/admin/donations/donation/{donation.pk}/refund/",
        {"amount": "40", "reason": "asked", "confirm": "yes"},
    )

    assert response.status_code == 302
    refund = Refund.objects.get(donation=donation)
    assert refund.status == RefundStatus.REQUESTED

    _broker_back()
    _age(Refund, refund.pk, "created_at")
    assert tasks.sweep_lost_work.delay().get()["refunds"] == 1

    refund.refresh_from_db()
    donation.refresh_from_db()
    assert refund.status == RefundStatus.CONFIRMED
    assert donation.amount_refunded == cad("40.00")
    assert services.refund_available(donation=donation) == cad("0.00")


@pytest.mark.django_db(transaction=True)
def test_closing_the_case_answers_and_the_shares_go_out_later(campaign, broker_down):
    celery_app.conf.task_always_eager = True
    gift = confirmed_donation(campaign, "100.00", channel="demo", email="")
    celery_app.conf.task_always_eager = False
    preview = surplus.surplus_preview(campaign=campaign, recovered=cad("50.00"))

    closure = surplus.case_close(
        campaign=campaign, recovered=cad("50.00"), expected_surplus=preview.surplus
    )

    assert SurplusShare.objects.get(closure=closure).state == ShareState.PENDING
    _broker_back()
    assert recovery.work_sweep()["closures"] == 1
    share = SurplusShare.objects.get(closure=closure)
    assert share.state == ShareState.REQUESTED
    assert share.refund is not None and share.refund.status == RefundStatus.CONFIRMED
    assert CaseClosure.objects.get(pk=closure.pk).state == ClosureState.DONE
    gift.refresh_from_db()
    assert gift.amount_refunded == share.amount


@pytest.mark.django_db(transaction=True)
def test_a_fee_never_fetched_is_fetched_by_the_sweep(client, campaign, stripe_fake, broker_down):
    donation, session_id = start_checkout(client, campaign, amount="25", email="")
    stripe_fake.complete(session_id)
    client.get(f"/donations/{donation.public_id}/thanks/?session_id={session_id}")
    donation.refresh_from_db()
    assert donation.is_counted and donation.fee == cad("0.00")

    _broker_back()
    _age(Donation, donation.pk, "confirmed_at")
    assert recovery.work_sweep()["fees"] == 1

    donation.refresh_from_db()
    assert donation.fee.amount > 0
