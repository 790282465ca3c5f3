"""Offline gifts recorded in the admin, and the accountant's CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from core.money import cad
from donations import selectors, services
from donations.admin import exports
from donations.models import Channel, Donation, DonationState
from donations.services import surplus
from tests.support.factories import confirmed_donation

pytestmark = pytest.mark.django_db


def record_cheque(admin_client, campaign, capture, **fields):
    data = {
        "campaign": campaign.pk, "received_on": "2026-11-18", "gift_amount": "150.00",
        "channel": "cheque", "reference": "Cheque #221", "display_name": "Luc",
        "email": "", "show_amount": "on", "message": "",
    }  # fmt: skip
    data.update(fields)
    with capture(execute=True):
        return admin_client.post("/admin/donations/offlinegift/add/", data)


def test_a_cheque_recorded_in_admin_counts_at_once_and_apart(
    admin_client, client, campaign, django_capture_on_commit_callbacks
):
    confirmed_donation(campaign, "50.00")

    response = record_cheque(admin_client, campaign, django_capture_on_commit_callbacks)

    assert response.status_code == 302, response.content.decode()[-2000:]
    gift = Donation.objects.get(channel=Channel.CHEQUE)
    assert (gift.state, gift.amount, gift.reference) == (
        DonationState.CONFIRMED, cad("150.00"), "Cheque #221",
    )  # fmt: skip
    assert gift.confirmed_at is not None and gift.confirmed_at.date() == date(2026, 11, 18)
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.gross, t.offline, t.online, t.raised) == (
        cad("200.00"), cad("150.00"), cad("50.00"), cad("200.00"),
    )  # fmt: skip
    assert t.donor_count == 2 and t.fees == cad("0.00")
    assert "$200.00" in client.get(f"/campaigns/{campaign.slug}/").content.decode()
    listing = admin_client.get("/admin/donations/offlinegift/").content.decode()
    assert "Cheque #221" in listing


def test_a_recorded_gift_cannot_be_edited_or_deleted(
    admin_client, campaign, django_capture_on_commit_callbacks
):
    record_cheque(admin_client, campaign, django_capture_on_commit_callbacks)
    gift = Donation.objects.get()
    page = admin_client.get(f"/admin/donations/offlinegift/{gift.pk}/change/").content.decode()
    assert 'name="gift_amount"' not in page
    assert (
        admin_client.post(
            f"/admin/donations/offlinegift/{gift.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert selectors.campaign_totals(campaign=campaign).gross == cad("150.00")


def test_bad_offline_amounts_are_form_errors(
    admin_client, campaign, django_capture_on_commit_callbacks
):
    for bad in ("0", "-5", "abc", "12.345"):
        response = record_cheque(
            admin_client, campaign, django_capture_on_commit_callbacks, gift_amount=bad
        )
        assert response.status_code == 200, bad
    assert Donation.objects.count() == 0


def test_offline_gift_service_refuses_online_channels(campaign):
    with pytest.raises(ValueError, match="not an offline channel"):
        services.offline_gift_record(
            campaign=campaign,
            amount=cad("5"),
            channel=Channel.STRIPE,
            received_on=date(2026, 11, 1),
        )


def read_csv(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[arg-type]
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_csv_export_has_every_field_and_neutralises_formulas(admin_client, campaign):
    plain = confirmed_donation(campaign, "25.00", display_name="Marie-Ève", message="Bravo, é à")
    evil = confirmed_donation(
        campaign, "10.50", display_name="=HYPERLINK(\"http://x\",\"y\")", message="+1 -2",
        anonymous=True,
    )  # fmt: skip
    hidden = confirmed_donation(
        campaign, "7.00", display_name="@SUM(A1)", message="\tcmd", show_amount=False
    )
    Donation.objects.create(campaign=campaign, amount=cad("3.00"), display_name="-pending")

    response = admin_client.get(f"/admin/donations/donation/export/{campaign.pk}/")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{campaign.slug}-')
    rows = read_csv(response)
    assert list(rows[0].keys()) == exports.HEADER
    assert len(rows) == 4
    by_ref = {r["reference"]: r for r in rows}
    first = by_ref[str(plain.public_id)]
    assert (first["amount"], first["state"], first["channel"], first["currency"]) == (
        "25.00", "confirmed", "stripe", "CAD",
    )  # fmt: skip
    assert first["display_name"] == "Marie-Ève" and first["message"] == "Bravo, é à"
    assert first["public_visibility"] == "name and amount" and first["net"] == "25.00"
    assert first["payment_intent"] == plain.payment_intent_id
    assert by_ref[str(evil.public_id)]["display_name"] == '\'=HYPERLINK("http://x","y")'
    assert by_ref[str(evil.public_id)]["message"] == "'+1 -2"
    assert by_ref[str(evil.public_id)]["public_visibility"] == "anonymous"
    assert by_ref[str(hidden.public_id)]["display_name"] == "'@SUM(A1)"
    assert by_ref[str(hidden.public_id)]["message"] == "'\tcmd"
    assert by_ref[str(hidden.public_id)]["public_visibility"] == "name only"
    pending = next(r for r in rows if r["state"] == "pending")
    assert pending["display_name"] == "'-pending" and pending["confirmed_at"] == ""


def test_neutralise_covers_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert exports.neutralise(f"{start}x") == f"'{start}x"
    assert exports.neutralise("plain") == "plain" and exports.neutralise(None) == ""


def test_export_streams_rows_across_chunks(admin_client, campaign, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    for _ in range(5):
        confirmed_donation(campaign, "5.00")
    response = admin_client.get(f"/admin/donations/donation/export/{campaign.pk}/")
    rows = read_csv(response)
    assert len(rows) == 5 and len({r["reference"] for r in rows}) == 5


def test_export_is_for_staff(client, outsider, campaign):
    client.force_login(outsider)
    response = client.get(f"/admin/donations/donation/export/{campaign.pk}/")
    assert response.status_code == 302


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "tomorrow", "two years before"])
def test_an_offline_gift_dated_in_the_future_or_long_before_is_a_form_error(
    admin_client, campaign, django_capture_on_commit_callbacks, day
):
    named = {
        "tomorrow": timezone.localdate() + timedelta(days=1),
        "two years before": campaign.starts_on - timedelta(days=730),
    }
    received_on = named[day].isoformat() if day in named else day

    response = record_cheque(
        admin_client, campaign, django_capture_on_commit_callbacks, received_on=received_on
    )

    assert response.status_code == 200
    assert "The date must be between" in response.content.decode()
    assert not Donation.objects.exists()
    with pytest.raises(services.OfflineGiftRefused):
        services.offline_gift_record(
            campaign=campaign,
            amount=cad("5"),
            channel=Channel.CASH,
            received_on=date.fromisoformat(received_on),
        )


def test_no_offline_gift_after_the_case_is_closed(
    admin_client, campaign, django_capture_on_commit_callbacks
):
    confirmed_donation(campaign, "50.00", channel="demo")
    preview = surplus.surplus_preview(campaign=campaign, recovered=cad("0"))
    surplus.case_close(campaign=campaign, recovered=cad("0"), expected_surplus=preview.surplus)

    response = record_cheque(
        admin_client,
        campaign,
        django_capture_on_commit_callbacks,
        received_on=campaign.starts_on.isoformat(),
    )

    assert response.status_code == 200
    assert "This case is closed" in response.content.decode()
    assert Donation.objects.filter(channel=Channel.CHEQUE).count() == 0
    assert selectors.campaign_totals(campaign=campaign).raised == cad("50.00")


def test_negative_amounts_stay_numbers_while_text_cells_are_neutralised(admin_client, campaign):
    # Fully refunded, Stripe kept its fee: the campaign's net on this gift is −$0.59.
    refunded = confirmed_donation(
        campaign, "10.00", refunded=True, display_name="-1+cmd", message="=1+1"
    )
    Donation.objects.filter(pk=refunded.pk).update(fee=cad("0.59"), flag="")

    rows = read_csv(admin_client.get(f"/admin/donations/donation/export/{campaign.pk}/"))

    [row] = rows
    assert (row["amount"], row["amount_refunded"], row["fee"], row["net"]) == (
        "10.00", "10.00", "0.59", "-0.59",
    )  # fmt: skip
    assert sum(Decimal(row[name]) for name in exports.NUMERIC_COLUMNS) == Decimal("20.00")
    assert row["display_name"] == "'-1+cmd" and row["message"] == "'=1+1"
