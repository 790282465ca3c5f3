"""The client address behind a proxy (core/client_ip.py), and everything that uses it: rate limits,
axes, log lines, the audit log, and the `check --deploy` error when the proxy is not declared."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core import checks
from django.test import Client, RequestFactory
from django_redis.exceptions import ConnectionInterrupted

from audit.models import MoneyAction, MoneyAuditLog
from core.client_ip import UNKNOWN, client_ip
from tests.security.test_admin import _form_data
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

CHECKOUTS = "/v1/checkout/sessions"


@pytest.fixture
def proxied(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXIES = ["127.0.0.0/8", "::1/128"]
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"


def _ip(remote: str, forwarded: str | None = None) -> str:
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


def test_without_a_proxy_the_connecting_address_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert _ip("203.0.113.9", "198.51.100.1") == "203.0.113.9"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),  # what nginx sets
        ("10.9.9.9, 203.0.113.9", "203.0.113.9"),  # a client-written entry on the left is ignored
        ("evil, 1.2.3.4,203.0.113.9", "203.0.113.9"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("203.0.113.9:5678", "203.0.113.9"),
        ("not-an-address", "127.0.0.1"),  # malformed: the connecting address, never an error
        ("", "127.0.0.1"),
        ("999.1.1.1", "127.0.0.1"),
        (None, "127.0.0.1"),  # missing
    ],
)
def test_behind_one_proxy_the_rightmost_entry_is_the_client(proxied, forwarded, expected):
    assert _ip("127.0.0.1", forwarded) == expected


def test_the_header_is_ignored_unless_a_trusted_proxy_connected(proxied):
    # A client reaching gunicorn directly cannot choose its address.
    assert _ip("198.51.100.7", "203.0.113.9") == "198.51.100.7"


def test_two_proxies_count_from_the_right(proxied, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert _ip("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2") == "203.0.113.9"
    assert _ip("127.0.0.1", "10.0.0.2") == "127.0.0.1"  # fewer entries than proxies


def test_another_header_can_be_named(proxied, settings):
    settings.TRUSTED_PROXY_HEADER = "X-Real-IP"
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.4")
    assert client_ip(request) == "203.0.113.4"


def test_a_unix_socket_peer_is_a_local_proxy(proxied):
    assert _ip("", "203.0.113.9") == "203.0.113.9"
    assert _ip("", None) == UNKNOWN


def _attempt(campaign, **extra: Any):
    data = {"amount": "5", "display_name": "Bot", "email": "bot@example.org"}
    return Client().post(f"/campaigns/{campaign.slug}/donate/", data, **extra)


@pytest.mark.parametrize("junk", ["not-an-address", "", "203.0.113.9, garbage"])
def test_a_malformed_header_never_skips_the_limit(proxied, campaign, stripe_fake, limits_on, junk):
    statuses = [
        _attempt(campaign, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=junk).status_code
        for _ in range(8)
    ]
    assert statuses == [303] * 5 + [429] * 3
    assert len(stripe_fake.requests_to("POST", CHECKOUTS)) == 5


def test_members_behind_the_proxy_are_limited_apart(
    proxied, campaign, stripe_fake, limits_on, settings
):
    # 30 members at once: above the site-wide Checkout rate (20/s, tests/donations/
    # test_checkout_rate.py), which this test is not about.
    settings.STRIPE_CHECKOUT_RATE = 1000
    statuses = [
        _attempt(
            campaign, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}"
        ).status_code
        for i in range(30)
    ]
    assert statuses == [303] * 30


def test_a_limited_attempt_is_logged_with_the_client_address(
    proxied, campaign, stripe_fake, limits_on, caplog
):
    for _ in range(6):
        _attempt(campaign, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.77")
    bot = {"amount": "5", "display_name": "Bot", "email": "b@example.org", "website": "x"}
    Client().post(
        f"/campaigns/{campaign.slug}/donate/", bot,
        REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.78",
    )  # fmt: skip

    assert "Donation attempts rate-limited for 203.0.113.77" in caplog.text
    assert "Honeypot filled on legal-defense-fund from 203.0.113.78" in caplog.text
    assert "for 127.0.0.1" not in caplog.text and "from 127.0.0.1" not in caplog.text


def test_only_a_cache_outage_lets_attempts_through(
    campaign, stripe_fake, limits_on, monkeypatch, caplog
):
    from front import ratelimits as abuse

    def down(*args, **kwargs):
        raise ConnectionInterrupted(connection=None)

    monkeypatch.setattr(abuse, "get_usage", down)
    with caplog.at_level(logging.ERROR):
        statuses = [_attempt(campaign, REMOTE_ADDR="203.0.113.9").status_code for _ in range(8)]

    assert statuses == [303] * 8
    assert "Rate-limit cache unavailable; donation attempt from 203.0.113.9 allowed" in caplog.text

    def bug(*args, **kwargs):
        raise ValueError("not a cache outage")

    monkeypatch.setattr(abuse, "get_usage", bug)
    with pytest.raises(ValueError):
        _attempt(campaign, REMOTE_ADDR="203.0.113.9")


def test_an_attacker_cannot_lock_the_organizer_out_from_elsewhere(proxied, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    UserFactory.create(username="organizer", is_staff=True, is_superuser=True)
    login = "/admin/login/?next=/admin/"

    def sign_in(address: str, password: str) -> int:
        data = {"username": "organizer", "password": password}
        return (
            Client()
            .post(login, data, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=address)
            .status_code
        )

    attacker = [sign_in("198.51.100.66", "wrong") for _ in range(10)]
    organizer = sign_in("203.0.113.5", "correct horse battery staple")

    assert attacker == [200] * 4 + [429] * 6
    assert organizer == 302


def test_the_audit_log_records_the_staff_members_address(proxied, admin_user, campaign):
    client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.21")
    client.force_login(admin_user)
    url = f"/admin/campaign/campaign/{campaign.pk}/change/"
    data = _form_data(client.get(url).content.decode())
    data["community_goal_0"] = "1800.00"
    data.pop("_addanother", None)

    assert client.post(url, data).status_code == 302

    entry = MoneyAuditLog.objects.get(action=MoneyAction.GOAL_CHANGE)
    assert entry.ip_address == "203.0.113.21"


def test_check_deploy_fails_when_proxied_without_the_client_address_setting(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    errors = [m.id for m in checks.run_checks(include_deployment_checks=True)]
    assert "ops.E001" in errors

    settings.TRUSTED_PROXY_COUNT = 1
    errors = [m.id for m in checks.run_checks(include_deployment_checks=True)]
    assert "ops.E001" not in errors
    # An ordinary `check` (no --deploy) does not run it.
    settings.TRUSTED_PROXY_COUNT = 0
    assert "ops.E001" not in [m.id for m in checks.run_checks()]
