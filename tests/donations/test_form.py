"""The donation form: what is accepted, what is refused, and that a refusal creates nothing."""

from __future__ import annotations

import pytest

from core.money import cad
from donations.models import Donation, DonationState
from front.forms import DonationForm, parse_amount

pytestmark = pytest.mark.django_db

BAD_AMOUNTS = [
    ("-25", "Enter an amount in dollars"),
    ("NaN", "Enter an amount in dollars"),
    ("nan", "Enter an amount in dollars"),
    ("inf", "Enter an amount in dollars"),
    ("Infinity", "Enter an amount in dollars"),
    ("1e3", "Enter an amount in dollars"),
    ("2E2", "Enter an amount in dollars"),
    ("25.999", "at most two decimals"),
    ("25.", "Enter an amount in dollars"),
    ("abc", "Enter an amount in dollars"),
    ("", "This field is required"),
    ("   ", "This field is required"),
    ("99999999999", "Enter an amount in dollars"),
    ("9" * 40, "at most 32 characters"),
    ("0", "The minimum gift is $2.00"),
    ("0.00", "The minimum gift is $2.00"),
    ("1.99", "The minimum gift is $2.00"),
    ("10000.01", "The maximum gift online is $10,000.00"),
    ("25\x00", "Null characters are not allowed"),
    ("25\x07", "Enter an amount in dollars"),
    ("2\u200b5", "Enter an amount in dollars"),
    ("\u0662\u0665", "Enter an amount in dollars"),  # Arabic-Indic digits
    ("\uff12\uff15", "Enter an amount in dollars"),  # full-width digits
    ("25,00,00", "Enter an amount in dollars"),
    ("0x19", "Enter an amount in dollars"),
    ("25 50", "Enter an amount in dollars"),
]


@pytest.mark.parametrize(("raw", "message"), BAD_AMOUNTS, ids=[repr(r) for r, _ in BAD_AMOUNTS])
def test_bad_amount_is_refused_next_to_the_field_and_nothing_is_created(
    client, campaign, donor, raw, message
):
    response = client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, "amount": raw})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="amount-error"' in html
    assert 'aria-invalid="true"' in html
    assert message in response.context["form"].errors["amount"][0]
    assert Donation.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("25", "25.00"),
        ("2", "2.00"),
        ("2.00", "2.00"),
        ("25.5", "25.50"),
        ("25.50", "25.50"),
        ("25,50", "25.50"),
        ("$25", "25.00"),
        ("25 $", "25.00"),
        (" 25 ", "25.00"),
        ("25\u00a0$", "25.00"),
        ("10000", "10000.00"),
        ("10000.00", "10000.00"),
        ("0025", "25.00"),
    ],
)
def test_good_amounts(raw, expected):
    form = DonationForm({"amount": raw})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == cad(expected)


def test_parse_amount_keeps_the_cents_exactly():
    assert str(parse_amount("1234.05")) == "1234.05"
    assert str(parse_amount("0,1")) == "0.10"


def test_valid_form_creates_a_pending_donation_and_redirects_with_303(client, campaign, donor):
    response = client.post(f"/campaigns/{campaign.slug}/donate/", donor)

    donation = Donation.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"/donations/{donation.public_id}/pay/"
    assert donation.state == DonationState.PENDING
    assert donation.amount == cad("25.00")
    assert donation.display_name == "Marie-Ève"
    assert donation.message == "On lâche pas!"
    assert donation.email == "marie@example.ca"
    assert donation.show_amount is True
    assert donation.anonymous is False
    assert donation.is_counted is False


def test_anonymous_gift_keeps_no_name(client, campaign, donor):
    client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, "anonymous": "on"})

    donation = Donation.objects.get()
    assert donation.anonymous is True
    assert donation.display_name == ""
    assert donation.public_name == "Anonymous"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("display_name", "Bad\x1bname", "Remove the control characters"),
        ("message", "hi\x00there", "Null characters are not allowed"),
        ("message", "hi\x08there", "Remove the control characters"),
        ("display_name", "x" * 81, "at most 80 characters"),
        ("message", "x" * 501, "at most 500 characters"),
        ("email", "not-an-email", "Enter a valid email address"),
    ],
)
def test_bad_text_fields_are_refused_next_to_the_field(
    client, campaign, donor, field, value, message
):
    response = client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, field: value})

    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert f'id="id_{field}-error"' in response.content.decode()
    assert Donation.objects.count() == 0


def test_message_may_have_line_breaks(client, campaign, donor):
    client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, "message": "Go!\r\nGo!"})

    assert Donation.objects.get().message == "Go!\r\nGo!"


def test_inactive_campaign_refuses_donations(client, campaign, donor):
    campaign.is_active = False
    campaign.save()

    response = client.post(f"/campaigns/{campaign.slug}/donate/", donor)

    assert response.status_code == 400
    assert Donation.objects.count() == 0


def test_unknown_campaign_is_404(client, db, donor):
    assert client.post("/campaigns/nope/donate/", donor).status_code == 404


def test_donate_only_accepts_post(client, campaign):
    assert client.get(f"/campaigns/{campaign.slug}/donate/").status_code == 405
