"""Cover the fees: the campaign nets exactly the gift chosen, to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import cad
from donations.models import Donation
from donations.services.fees import FeeSchedule, gross_up, stripe_fee

STRIPE_CA = FeeSchedule(percent=Decimal("2.9"), fixed=Decimal("0.30"))


@pytest.mark.parametrize(
    ("gift", "gross", "fee"),
    [
        ("2.00", "2.37", "0.37"),
        ("10.00", "10.61", "0.61"),
        ("25.00", "26.06", "1.06"),
        ("50.00", "51.80", "1.80"),
        ("100.00", "103.30", "3.30"),
        ("250.00", "257.78", "7.78"),
        ("33.33", "34.63", "1.30"),
        # The plain ceilings (34.64, 10,298.98) would net a cent more: one cent less nets exactly.
        ("10000.00", "10298.97", "298.97"),
    ],
)
def test_gross_up_nets_exactly_the_gift(gift: str, gross: str, fee: str) -> None:
    charged = gross_up(gift=cad(gift), schedule=STRIPE_CA)

    assert charged == cad(gross)
    assert stripe_fee(gross=charged, schedule=STRIPE_CA) == cad(fee)
    assert charged.amount - stripe_fee(gross=charged, schedule=STRIPE_CA).amount == Decimal(gift)


@given(cents=st.integers(min_value=200, max_value=1_000_000))
def test_every_gift_nets_exactly_and_no_cent_more_is_asked(cents: int) -> None:
    gift = cad(Decimal(cents) / 100)
    charged = gross_up(gift=gift, schedule=STRIPE_CA)
    one_less = cad(charged.amount - Decimal("0.01"))

    assert charged.amount - stripe_fee(gross=charged, schedule=STRIPE_CA).amount == gift.amount
    assert one_less.amount - stripe_fee(gross=one_less, schedule=STRIPE_CA).amount < gift.amount


def test_fee_schedule_comes_from_settings(settings) -> None:
    settings.STRIPE_FEE_PERCENT = "2.2"
    settings.STRIPE_FEE_FIXED_CAD = "0.30"

    # (25.00 + 0.30) / 0.978 = 25.869… -> 25.87; fee 0.5691 + 0.30 -> 0.87; nets 25.00.
    assert gross_up(gift=cad("25.00")) == cad("25.87")


@pytest.mark.django_db
def test_covering_the_fee_charges_the_grossed_up_amount_on_stripe(
    client, campaign, donor, stripe_fake
):
    response = client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, "cover_fees": "on"})

    assert response.status_code == 303
    donation = Donation.objects.get()
    assert donation.amount == cad("26.06")
    assert donation.fee_covered == cad("1.06")
    assert donation.gift == cad("25.00")
    assert donation.covers_fees is True
    [request] = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    assert request["params"]["line_items"][0]["price_data"]["unit_amount"] == "2606"


@pytest.mark.django_db
def test_without_the_box_the_gift_is_charged_as_typed(client, campaign, donor):
    client.post(f"/campaigns/{campaign.slug}/donate/", donor)

    donation = Donation.objects.get()
    assert (donation.amount, donation.fee_covered, donation.covers_fees) == (
        cad("25.00"),
        cad("0.00"),
        False,
    )


@pytest.mark.django_db
def test_demo_payment_page_shows_the_fee_before_paying(client, campaign, donor):
    response = client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, "cover_fees": "on"})
    page = client.get(response["Location"]).content.decode()

    assert "Pay $26.06" in page
    assert "Includes $1.06 to cover the processing fee: the campaign receives $25.00." in page


@pytest.mark.django_db
def test_campaign_page_gives_the_script_the_fee_schedule(client, campaign):
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()

    assert 'data-fee-percent="2.9"' in page
    assert 'data-fee-fixed="0.30"' in page
    assert "Stripe keeps 2.9% + $0.30 of each gift." in page
