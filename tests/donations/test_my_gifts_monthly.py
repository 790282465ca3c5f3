"""The monthly gifts on the donor's page: listed with their months and receipts, cancelled at
period end, a new amount, a new card (Checkout in setup mode, through the real SDK against the
strict Stripe fake), and how they appear; only the donor's own, by unguessable reference."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest

from core.money import cad
from donations import gateway
from donations.models import Donation, MonthlyEndReason, MonthlyGift, MonthlyStatus
from donations.services import monthly, monthly_events
from tests.support.donor_page import sign_in

pytestmark = pytest.mark.django_db

MARIE = "marie@example.ca"


def running(campaign, email: str, amount: str = "20.00", months: int = 1, **fields) -> MonthlyGift:
    """A monthly gift whose `months` first invoices were paid, as the webhooks record them."""
    gift = monthly.monthly_start(
        campaign=campaign,
        amount=cad(Decimal(amount)),
        email=email,
        display_name=fields.pop("display_name", "Marie-Ève"),
        message=fields.pop("message", "Chaque mois!"),
        **fields,
    )
    for number in range(1, months + 1):
        monthly_events.monthly_invoice_paid(
            invoice=gateway.demo_invoice(
                monthly_ref=str(gift.public_id),
                number=number,
                amount=gift.amount,
                period_end=int(time.time()) + number * 30 * 86400,
            )
        )
    gift.refresh_from_db()
    return gift


@pytest.fixture
def gifts(campaign):
    return {
        "mine": running(campaign, MARIE, months=3, until_covered=True),
        "theirs": running(campaign, "luc@example.ca", "35.00", display_name="Luc"),
    }


@pytest.fixture
def marie(client, gifts):
    sign_in(client, MARIE)
    return client


def test_the_monthly_gift_is_listed_with_its_months(marie, gifts):
    gift = gifts["mine"]
    assert gift.status == MonthlyStatus.ACTIVE and gift.donations.count() == 3
    body = marie.get("/my-gifts/gifts/").content.decode()

    assert f'id="monthly-{gift.public_id}"' in body
    assert "$20.00 every month to" in body and "3 months paid: receipts" in body
    assert "Ends by itself when the legal cost is covered" in body
    for donation in gift.donations.all():
        assert f"/my-gifts/gifts/{donation.public_id}/receipt/" in body
        assert f'id="gift-{donation.public_id}"' not in body  # not repeated as one-off gifts
    assert str(gifts["theirs"].public_id) not in body and "$35.00" not in body


def test_a_month_has_a_printable_receipt(marie, gifts):
    month = gifts["mine"].donations.order_by("created_at").first()
    receipt = marie.get(f"/my-gifts/gifts/{month.public_id}/receipt/")
    assert (
        receipt.status_code == 200
        and "Thank you for your gift of $20.00" in receipt.content.decode()
    )
    theirs = gifts["theirs"].donations.get()
    assert marie.get(f"/my-gifts/gifts/{theirs.public_id}/receipt/").status_code == 404


def test_cancel_at_period_end(marie, gifts, django_capture_on_commit_callbacks):
    gift = gifts["mine"]
    with django_capture_on_commit_callbacks(execute=True):
        response = marie.post(f"/my-gifts/monthly/{gift.public_id}/cancel/")

    assert response.status_code == 303
    assert response["Location"] == f"/my-gifts/gifts/#monthly-{gift.public_id}"
    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.ENDING and gift.end_reason == MonthlyEndReason.DONOR
    assert gift.donations.count() == 3  # the months paid stay counted
    page = marie.get("/my-gifts/gifts/").content.decode()
    assert "Your monthly gift is cancelled. Nothing more will be charged" in page
    assert f"/my-gifts/monthly/{gift.public_id}/cancel/" not in page  # no button any more


def test_change_the_amount(marie, gifts):
    gift = gifts["mine"]
    response = marie.post(
        f"/my-gifts/monthly/{gift.public_id}/amount/", {f"a-{gift.public_id}-amount": "32,50"}
    )

    assert response.status_code == 303
    gift.refresh_from_db()
    assert gift.amount == cad("32.50")
    assert (
        "Your new monthly amount starts with the next renewal."
        in marie.get("/my-gifts/gifts/").content.decode()
    )


@pytest.mark.parametrize(("typed", "error"), [("1", "The minimum gift is $2.00."),
                                              ("abc", "Enter an amount in dollars")])  # fmt: skip
def test_a_bad_amount_is_a_form_error(marie, gifts, typed, error):
    gift = gifts["mine"]
    response = marie.post(
        f"/my-gifts/monthly/{gift.public_id}/amount/", {f"a-{gift.public_id}-amount": typed}
    )
    assert response.status_code == 400 and error in response.content.decode()
    gift.refresh_from_db()
    assert gift.amount == cad("20.00")


def test_update_the_card_opens_checkout_in_setup_mode(marie, campaign, stripe_fake):
    gift = running(campaign, MARIE)
    # The customer Checkout created with the subscription, as the fake would hold it.
    stripe_fake.customers["cus_test_1"] = {"id": "cus_test_1", "object": "customer"}
    MonthlyGift.objects.filter(pk=gift.pk).update(
        subscription_id="sub_test_1", customer_id="cus_test_1"
    )

    response = marie.post(f"/my-gifts/monthly/{gift.public_id}/card/")

    assert response.status_code == 303
    [session] = [s for s in stripe_fake.sessions.values() if s["mode"] == "setup"]
    assert response["Location"] == session["url"]
    assert session["customer"] == "cus_test_1"
    assert session["metadata"]["monthly"] == str(gift.public_id)
    assert session["success_url"] == "http://testserver/my-gifts/gifts/?card=updated"
    back = marie.get("/my-gifts/gifts/?card=updated")
    assert back.status_code == 302 and back["Location"] == "/my-gifts/gifts/"
    assert (
        "Your new card is used from the next renewal"
        in marie.get("/my-gifts/gifts/").content.decode()
    )


def test_change_how_the_monthly_gift_appears(marie, gifts, campaign):
    gift = gifts["mine"]
    prefix = f"m-{gift.public_id}-"
    response = marie.post(
        f"/my-gifts/monthly/{gift.public_id}/display/",
        {
            prefix + "shown_as": "nickname",
            prefix + "display_name": "Loutre",
            prefix + "message": "Go",
        },
    )

    assert response.status_code == 303
    gift.refresh_from_db()
    assert (gift.display_name, gift.show_amount, gift.message) == ("Loutre", False, "Go")
    months = list(gift.donations.order_by("created_at"))
    assert {d.display_name for d in months} == {"Loutre"} and not any(d.show_amount for d in months)
    assert [d.message for d in months] == ["Go", "", ""]  # the message shows once
    wall = marie.get(f"/campaigns/{campaign.slug}/supporters/").content.decode()
    assert "Loutre" in wall and "Marie-Ève" not in wall


@pytest.mark.parametrize("action", ["cancel", "amount", "card", "display"])
def test_another_donors_monthly_gift_is_not_found(marie, gifts, action):
    theirs = gifts["theirs"]
    for ref in (theirs.public_id, uuid.uuid4()):
        assert marie.post(f"/my-gifts/monthly/{ref}/{action}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == MonthlyStatus.ACTIVE and theirs.amount == cad("35.00")
    assert theirs.display_name == "Luc"


def test_monthly_actions_need_a_session(client, gifts):
    gift = gifts["mine"]
    assert client.post(f"/my-gifts/monthly/{gift.public_id}/cancel/").status_code == 403
    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.ACTIVE


def test_an_ended_gift_offers_no_action(marie, gifts):
    gift = gifts["mine"]
    MonthlyGift.objects.filter(pk=gift.pk).update(status=MonthlyStatus.ENDED)
    body = marie.get("/my-gifts/gifts/").content.decode()
    for action in ("cancel", "amount", "card"):
        assert f"/my-gifts/monthly/{gift.public_id}/{action}/" not in body
    assert Donation.objects.filter(monthly_gift=gift).count() == 3
