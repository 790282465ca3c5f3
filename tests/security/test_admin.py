"""Admin hardening: lock-out after repeated failed sign-ins, optional TOTP, the money audit log."""

from __future__ import annotations

import time
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import MoneyAction, MoneyAuditLog
from audit.services import audit_record
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff(db):
    return UserFactory.create(username="organizer", is_staff=True, is_superuser=True)


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5


def _login(client: Client, username: str, password: str, **extra: str):
    return client.post(
        LOGIN, {"username": username, "password": password, **extra}, REMOTE_ADDR="203.0.113.7"
    )


def test_five_failed_sign_ins_lock_the_address_out_even_with_the_right_password(staff, axes_on):
    client = Client()
    for _ in range(4):
        assert _login(client, "organizer", "wrong").status_code == 200  # the form again

    locked = _login(client, "organizer", "wrong")
    after = _login(client, "organizer", PASSWORD)

    assert locked.status_code == 429 and after.status_code == 429
    assert "Try again in 30 minutes" in after.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_correct_sign_in_is_not_locked(staff, axes_on):
    client = Client()
    _login(client, "organizer", "wrong")
    response = _login(client, "organizer", PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(staff.pk)


def _token(device: TOTPDevice) -> str:
    code = totp(
        device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift
    )
    return f"{code:0{device.digits}d}"


def test_with_otp_required_staff_need_a_code(staff, settings):
    settings.ADMIN_REQUIRE_OTP = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no wait after the wrong code below
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)

    without = Client()
    without.force_login(staff)  # a password alone
    assert without.get("/admin/").status_code == 302  # sent to sign in with a code

    client = Client()
    wrong = _login(
        client, "organizer", PASSWORD, otp_device=device.persistent_id, otp_token="000000"
    )
    assert wrong.status_code == 200 and client.get("/admin/").status_code == 302

    ok = _login(
        client, "organizer", PASSWORD, otp_device=device.persistent_id, otp_token=_token(device)
    )
    assert ok.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_without_the_setting_a_password_is_enough(staff, settings):
    settings.ADMIN_REQUIRE_OTP = False
    client = Client()
    assert _login(client, "organizer", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200


def _form_data(html: str) -> dict[str, str]:
    """What a browser would submit for the page's main form, as rendered."""
    data: dict[str, str] = {}

    class Parser(HTMLParser):
        select: str | None = None
        textarea: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = {k: v or "" for k, v in attrs}
            name = a.get("name")
            if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
                if a.get("type") in ("checkbox", "radio"):
                    if "checked" in a:
                        data[name] = a.get("value") or "on"
                else:
                    data[name] = a.get("value", "")
            elif tag == "select" and name:
                self.select = name
            elif tag == "option" and self.select and "selected" in a:
                data[self.select] = a.get("value", "")
            elif tag == "textarea" and name:
                self.textarea = name
                data[name] = ""

        def handle_endtag(self, tag: str) -> None:
            if tag == "select":
                self.select = None
            if tag == "textarea":
                self.textarea = None

        def handle_data(self, text: str) -> None:
            if self.textarea:
                data[self.textarea] += text.lstrip("\n") if not data[self.textarea] else text

    Parser().feed(html)
    return data


def test_goal_change_in_admin_is_logged_with_who_and_when(admin_client, admin_user, campaign):
    url = f"/admin/campaign/campaign/{campaign.pk}/change/"
    data = _form_data(admin_client.get(url).content.decode())
    data["community_goal_0"] = "1800.00"
    data.pop("_addanother", None)

    before = time.time()
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    entry = MoneyAuditLog.objects.get(action=MoneyAction.GOAL_CHANGE)
    assert entry.user == admin_user and entry.username == "admin"
    assert entry.at.timestamp() >= before - 1
    assert entry.detail == {"community_goal": {"from": "1500.00", "to": "1800.00"}}
    assert entry.object_id == str(campaign.pk)


def test_audit_record_service_and_the_log_is_read_only_in_admin(admin_client, admin_user, campaign):
    entry = audit_record(
        user=admin_user,
        action=MoneyAction.REFUND,
        obj=campaign,
        detail={"amount": Decimal("12.50"), "reason": "duplicate"},
    )
    assert entry.detail == {"amount": "12.50", "reason": "duplicate"}

    listing = admin_client.get("/admin/audit/moneyauditlog/")
    assert listing.status_code == 200 and "refund" in listing.content.decode()
    assert admin_client.get("/admin/audit/moneyauditlog/add/").status_code == 403
    delete = admin_client.post(f"/admin/audit/moneyauditlog/{entry.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert MoneyAuditLog.objects.filter(pk=entry.pk).exists()


def test_admin_refund_is_logged_with_who_and_how_much(admin_client, admin_user, campaign, settings):
    from tests.support.factories import confirmed_donation

    donation = confirmed_donation(campaign, "40.00", channel="demo")
    url = f"/admin/donations/donation/{donation.pk}/refund/"

    response = admin_client.post(url, {"amount": "15", "reason": "Asked twice", "confirm": "yes"})

    assert response.status_code == 302
    entry = MoneyAuditLog.objects.get(action=MoneyAction.REFUND)
    assert entry.user == admin_user and entry.object_id == str(donation.pk)
    assert entry.detail["amount"] == "15.00" and entry.detail["reason"] == "Asked twice"


def test_admin_offline_gift_is_logged(admin_client, admin_user, campaign):
    response = admin_client.post(
        "/admin/donations/offlinegift/add/",
        {
            "campaign": campaign.pk, "gift_amount": "120.00", "channel": "cheque",
            "received_on": "2026-11-20", "reference": "cheque 0042", "show_amount": "on",
        },
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = MoneyAuditLog.objects.get(action=MoneyAction.OFFLINE_GIFT)
    assert entry.user == admin_user and entry.username == "admin"
    assert entry.detail == {
        "amount": "120.00", "channel": "cheque", "received_on": "2026-11-20",
        "reference": "cheque 0042",
    }  # fmt: skip
