"""The public subscribe form sends an email to whatever address it is given: a script could make
the site mail strangers. It is limited per client address and per target address, answering 429
with when to try again (never a 500), and a cache outage lets members through."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import caches
from django.test import Client
from django_redis.exceptions import ConnectionInterrupted

from campaign.models import Subscriber

pytestmark = pytest.mark.django_db


def _subscribe(campaign, email: str, ip: str = "203.0.113.20", on_commit=None):
    def post():
        return Client().post(
            f"/campaigns/{campaign.slug}/subscribe/", {"email": email}, REMOTE_ADDR=ip
        )

    if on_commit is None:
        return post()
    with on_commit(execute=True):
        return post()


def test_one_client_cannot_mail_many_strangers(
    campaign, limits_on, django_capture_on_commit_callbacks
):
    responses = [
        _subscribe(
            campaign, f"stranger{n}@example.org", on_commit=django_capture_on_commit_callbacks
        )
        for n in range(12)
    ]

    statuses = [r.status_code for r in responses]
    assert statuses == [200] * 5 + [429] * 7
    assert len(mail.outbox) == 5 and Subscriber.objects.count() == 5
    limited = responses[-1]
    text = limited.content.decode()
    assert "Too many subscription requests" in text and "Nothing was sent" in text
    assert re.search(r"try again in \d+ minutes?", text)
    assert 0 < int(limited["Retry-After"]) <= 3600
    assert 'name="email"' in text  # the form is still there, with the address typed


def test_many_clients_cannot_flood_one_address(
    campaign, limits_on, django_capture_on_commit_callbacks
):
    # A fixed instant: the counters' fixed windows then fall the same way on every run.
    start = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    statuses = []
    for n in range(5):
        # Past the ten minutes after which the service would send the confirmation again.
        with time_machine.travel(start + timedelta(minutes=11 * n), tick=False):
            response = _subscribe(
                campaign, "Victim@Example.org", ip=f"198.51.100.{n}",
                on_commit=django_capture_on_commit_callbacks,
            )  # fmt: skip
            statuses.append(response.status_code)

    assert statuses == [200, 200, 200, 429, 429]
    assert [m.to for m in mail.outbox] == [["victim@example.org"]] * 3


def test_other_clients_and_addresses_are_not_locked_out(campaign, limits_on):
    for n in range(6):
        _subscribe(campaign, f"bot{n}@example.org")
    assert _subscribe(campaign, "member@example.ca", ip="192.0.2.44").status_code == 200


def test_invalid_addresses_do_not_use_up_the_allowance(campaign, limits_on):
    for _ in range(8):
        assert _subscribe(campaign, "not-an-email").status_code == 400
    assert _subscribe(campaign, "member@example.ca").status_code == 200


def test_the_limits_are_configurable(campaign, limits_on, settings):
    settings.SUBSCRIBE_RATE_LIMIT = "2/1h"
    statuses = [_subscribe(campaign, f"m{n}@example.ca").status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_a_cache_outage_lets_members_subscribe(campaign, limits_on, monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionInterrupted(connection=None)

    backend = caches["default"]
    for name in ("get", "add", "incr"):
        monkeypatch.setattr(backend, name, down)

    response = _subscribe(campaign, "member@example.ca")

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert "Rate-limit cache unavailable" in caplog.text
