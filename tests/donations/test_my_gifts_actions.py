"""The donor's page lists only the donor's own gifts, and each action (a POST with CSRF, on a gift
named by its unguessable reference) checks ownership first: change the display, print a receipt,
cancel a pledge, download the data, ask for erasure (confirmed by the organizer in the admin)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core import mail
from django.test import Client

from campaign.models import StageState
from donations.models import (
    CampaignTotals,
    Donation,
    DonationState,
    DonorAccess,
    ErasureRequest,
    PledgeState,
)
from donations.services import donor_access, privacy
from front import cache as page_cache
from tests.support.donor_page import email_parts, sign_in
from tests.support.factories import (
    DonationFactory,
    PledgeFactory,
    StageFactory,
    confirmed_donation,
)

pytestmark = pytest.mark.django_db

MARIE = "marie@example.ca"
LUC = "luc@example.ca"


@pytest.fixture
def gifts(campaign):
    mine = confirmed_donation(
        campaign, "40.00", email=MARIE, display_name="Marie-Ève", message="On lâche pas!"
    )
    second = confirmed_donation(campaign, "15.00", email="Marie@Example.ca", display_name="M")
    theirs = confirmed_donation(campaign, "99.00", email=LUC, display_name="Luc")
    abandoned = DonationFactory.create(campaign=campaign, email=MARIE)  # pending, never paid
    pledge = PledgeFactory.create(email=MARIE, stage__campaign=campaign, amount="30.00")
    their_pledge = PledgeFactory.create(email=LUC, stage__campaign=campaign)
    return {
        "mine": mine,
        "second": second,
        "theirs": theirs,
        "abandoned": abandoned,
        "pledge": pledge,
        "their_pledge": their_pledge,
    }


@pytest.fixture
def marie(client, gifts) -> Client:
    sign_in(client, MARIE)
    return client


def display(client, donation, **fields):
    prefix = f"d-{donation.public_id}-"
    data = {"shown_as": "name", "display_name": "Marie-Ève", "show_amount": "on", "message": ""}
    data.update(fields)
    if data.get("show_amount") is None:
        data.pop("show_amount")
    return client.post(
        f"/my-gifts/gifts/{donation.public_id}/display/",
        {prefix + key: value for key, value in data.items()},
    )


# --- The list -----------------------------------------------------------------------------------


def test_the_page_lists_the_donors_own_gifts_and_pledges(marie, gifts):
    body = marie.get("/my-gifts/gifts/").content.decode()

    assert f'id="gift-{gifts["mine"].public_id}"' in body
    assert f'id="gift-{gifts["second"].public_id}"' in body  # the same address, other case
    assert f'id="pledge-{gifts["pledge"].public_id}"' in body
    assert "$40.00 to" in body and "$15.00 to" in body and "Pledge of $30.00" in body
    assert "confirmed" in body and "pledged" in body
    for other in ("theirs", "abandoned", "their_pledge"):
        assert str(gifts[other].public_id) not in body, other
    assert "$99.00" not in body and LUC not in body


def test_the_page_in_french_formats_money_the_french_way(marie, gifts):
    body = marie.get("/fr/my-gifts/gifts/").content.decode()
    assert "40,00\xa0$" in body and 'lang="fr-CA"' in body


def test_a_donor_with_no_gift_sees_so(client, gifts):
    sign_in(client, "new@example.ca")
    assert "No gift was found for this address." in client.get("/my-gifts/gifts/").content.decode()


# --- Receipts -----------------------------------------------------------------------------------


def test_a_printable_receipt_for_each_paid_gift(marie, gifts):
    donation = gifts["mine"]
    page = marie.get("/my-gifts/gifts/").content.decode()
    assert f'href="/my-gifts/gifts/{donation.public_id}/receipt/"' in page

    receipt = marie.get(f"/my-gifts/gifts/{donation.public_id}/receipt/")

    assert receipt.status_code == 200
    body = receipt.content.decode()
    assert "Thank you for your gift of $40.00" in body and str(donation.public_id) in body
    assert "css/my-gifts.css" in body and 'id="print"' in body
    assert receipt["Cache-Control"] == "private, no-store"
    css = (page_cache.settings.BASE_DIR / "static/css/my-gifts.css").read_text()
    assert "@media print" in css


@pytest.mark.parametrize("other", ["theirs", "abandoned", "random"])
def test_no_receipt_for_another_donors_or_an_unpaid_gift(marie, gifts, other):
    ref = uuid.uuid4() if other == "random" else gifts[other].public_id
    assert marie.get(f"/my-gifts/gifts/{ref}/receipt/").status_code == 404


def test_an_integer_id_is_no_address(marie, gifts):
    assert marie.get(f"/my-gifts/gifts/{gifts['mine'].pk}/receipt/").status_code == 404


def test_nothing_without_signing_in(client, gifts):
    ref = gifts["mine"].public_id
    assert client.get(f"/my-gifts/gifts/{ref}/receipt/")["Location"] == "/my-gifts/"
    refused = display(client, gifts["mine"], shown_as="anonymous")
    assert refused.status_code == 403 and "Your session ended" in refused.content.decode()
    assert client.post("/my-gifts/data/").status_code == 403
    assert client.post("/my-gifts/erasure/", {"confirm": "yes"}).status_code == 403
    assert client.post(f"/my-gifts/pledges/{gifts['pledge'].public_id}/cancel/").status_code == 403
    assert ErasureRequest.objects.count() == 0
    assert Donation.objects.get(pk=gifts["mine"].pk).anonymous is False


# --- How a gift appears -------------------------------------------------------------------------


def test_change_the_name_amount_and_message(marie, gifts, campaign):
    donation = gifts["mine"]
    response = display(
        marie, donation, shown_as="nickname", display_name="Loutre", show_amount=None,
        message="Merci à tous",
    )  # fmt: skip

    assert response.status_code == 303
    assert response["Location"] == f"/my-gifts/gifts/#gift-{donation.public_id}"
    donation.refresh_from_db()
    assert (donation.display_name, donation.anonymous, donation.show_amount, donation.message) == (
        "Loutre", False, False, "Merci à tous",
    )  # fmt: skip
    wall = marie.get(f"/campaigns/{campaign.slug}/supporters/").content.decode()
    assert "Loutre" in wall and "Merci à tous" in wall and "Marie-Ève" not in wall
    after = marie.get("/my-gifts/gifts/").content.decode()
    assert "Saved. The list of supporters shows your change now." in after


def test_go_anonymous(marie, gifts, campaign):
    display(marie, gifts["mine"], shown_as="anonymous", display_name="ignored")
    donation = Donation.objects.get(pk=gifts["mine"].pk)
    assert donation.anonymous and donation.display_name == ""
    totals = CampaignTotals.objects.get(campaign=campaign)
    assert totals.gross.amount == 154  # 40 + 15 + 99: the display changes no money


def test_the_form_rules_of_the_donation_form_apply(marie, gifts):
    donation = gifts["mine"]
    no_name = display(marie, donation, shown_as="name", display_name="  ")
    assert no_name.status_code == 400
    assert "Enter the name to show, or choose “Anonymous”." in no_name.content.decode()
    control = display(marie, donation, message="bad\x07bell")
    assert (
        control.status_code == 400 and "Remove the control characters." in control.content.decode()
    )
    too_long = display(marie, donation, message="x" * 501)
    assert too_long.status_code == 400
    assert Donation.objects.get(pk=donation.pk).message == "On lâche pas!"


def test_a_hidden_message_stays_hidden_after_an_edit(marie, gifts, campaign):
    Donation.objects.filter(pk=gifts["mine"].pk).update(message_hidden=True)
    display(marie, gifts["mine"], message="A new message")
    donation = Donation.objects.get(pk=gifts["mine"].pk)
    assert donation.message == "A new message" and donation.message_hidden
    wall = marie.get(f"/campaigns/{campaign.slug}/supporters/").content.decode()
    assert "A new message" not in wall


def test_another_donors_gift_is_not_found_and_unchanged(marie, gifts):
    theirs = gifts["theirs"]
    assert display(marie, theirs, shown_as="anonymous").status_code == 404
    assert display(marie, gifts["abandoned"], shown_as="anonymous").status_code == 404
    theirs.refresh_from_db()
    assert theirs.display_name == "Luc" and not theirs.anonymous


def test_actions_need_the_csrf_token(gifts):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, MARIE)
    assert display(client, gifts["mine"], shown_as="anonymous").status_code == 403
    assert not Donation.objects.get(pk=gifts["mine"].pk).anonymous


def test_the_cached_public_pages_drop_at_once(
    marie, gifts, campaign, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE = True
    page_cache.local_reset()
    public = Client()
    for path in (f"/campaigns/{campaign.slug}/", f"/campaigns/{campaign.slug}/supporters/"):
        assert "Marie-Ève" in public.get(path).content.decode()
        assert "Marie-Ève" in public.get(path).content.decode()  # now from the cache

    with django_capture_on_commit_callbacks(execute=True):
        display(marie, gifts["mine"], shown_as="nickname", display_name="Loutre")

    for path in (f"/campaigns/{campaign.slug}/", f"/campaigns/{campaign.slug}/supporters/"):
        page = public.get(path).content.decode()
        assert "Loutre" in page and "Marie-Ève" not in page, path
    page_cache.local_reset()


# --- Pledges --------------------------------------------------------------------------------------


def test_cancel_a_pledge(marie, gifts, django_capture_on_commit_callbacks):
    pledge = gifts["pledge"]
    with django_capture_on_commit_callbacks(execute=True):
        response = marie.post(f"/my-gifts/pledges/{pledge.public_id}/cancel/")

    assert response.status_code == 303
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CANCELLED and pledge.ended_at is not None
    page = marie.get("/my-gifts/gifts/").content.decode()
    assert "Your pledge is cancelled. Nothing will be charged for it." in page
    assert f"/my-gifts/pledges/{pledge.public_id}/cancel/" not in page  # no button any more


def test_a_pledge_whose_stage_started_cannot_be_cancelled(marie, gifts):
    pledge = PledgeFactory.create(
        email=MARIE, stage=StageFactory(state=StageState.ACTIVE), state=PledgeState.CHARGING
    )
    marie.post(f"/my-gifts/pledges/{pledge.public_id}/cancel/")
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CHARGING
    assert "can no longer be cancelled" in marie.get("/my-gifts/gifts/").content.decode()


def test_another_donors_pledge_is_not_found(marie, gifts):
    theirs = gifts["their_pledge"]
    assert marie.post(f"/my-gifts/pledges/{theirs.public_id}/cancel/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == PledgeState.PLEDGED


# --- The donor's data -----------------------------------------------------------------------------


def test_download_the_same_export_as_the_command(marie, gifts):
    response = marie.post("/my-gifts/data/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="my-gifts-data.json"'
    assert response["Cache-Control"] == "private, no-store"
    data = json.loads(response.content)
    assert data == json.loads(json.dumps(privacy.donor_data_export(email=MARIE)))
    refs = {d["reference"] for d in data["donations"]}
    assert str(gifts["mine"].public_id) in refs and str(gifts["theirs"].public_id) not in refs
    assert marie.get("/my-gifts/data/").status_code == 405


def test_ask_for_erasure(marie, gifts, django_capture_on_commit_callbacks):
    assert marie.post("/my-gifts/erasure/").status_code == 400  # the box is not ticked
    assert ErasureRequest.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = marie.post("/my-gifts/erasure/", {"confirm": "yes"})
        marie.post("/my-gifts/erasure/", {"confirm": "yes"})  # twice: recorded once

    assert response.status_code == 303
    [request] = ErasureRequest.objects.all()
    assert request.email == MARIE and request.confirmed_at is None
    acks = [m for m in mail.outbox if m.subject == "We received your request to erase your data"]
    assert len(acks) == 2 and acks[0].to == [MARIE]
    subject, text, html = email_parts(acks[0])
    assert (
        "The organizer confirms it by hand" in text and "The organizer confirms it by hand" in html
    )
    page = marie.get("/my-gifts/gifts/").content.decode()
    assert "You asked for your data to be erased on" in page
    # Nothing is erased until the organizer confirms.
    assert Donation.objects.get(pk=gifts["mine"].pk).email == MARIE


def test_the_organizer_confirms_the_erasure_in_the_admin(
    admin_client, marie, gifts, campaign, admin_user
):
    donor_access.erasure_request(email=MARIE, language="en")
    request = ErasureRequest.objects.get()
    before = CampaignTotals.objects.get(campaign=campaign)
    listing = admin_client.get("/admin/donations/erasurerequest/")
    assert listing.status_code == 200 and MARIE in listing.content.decode()

    response = admin_client.post(
        "/admin/donations/erasurerequest/",
        {"action": "erasure_confirm", "_selected_action": [request.pk]},
        follow=True,
    )

    assert "1 donor&#x27;s personal data erased" in response.content.decode()
    mine = Donation.objects.get(pk=gifts["mine"].pk)
    assert (mine.email, mine.display_name, mine.message, mine.anonymous) == ("", "", "", True)
    assert mine.amount.amount == 40 and mine.state == DonationState.CONFIRMED
    after = CampaignTotals.objects.get(campaign=campaign)
    assert (after.gross, after.donation_count, after.donor_count) == (
        before.gross, before.donation_count, before.donor_count,
    )  # fmt: skip
    assert Donation.objects.get(pk=gifts["theirs"].pk).email == LUC
    request.refresh_from_db()
    assert request.confirmed_at is not None and request.confirmed_by == "admin"
    assert request.email == ""
    assert not DonorAccess.objects.filter(email=MARIE).exists()
    assert marie.get("/my-gifts/gifts/").status_code == 302  # the donor's session ended

    # Confirming again erases nothing more.
    assert donor_access.erasure_confirm(request=request, user=admin_user) is None


def test_an_erasure_refused_while_a_pledge_is_charged_says_so_and_stays_open(
    admin_client, campaign
):
    stage = StageFactory.create(campaign=campaign, active=True)
    PledgeFactory.create(stage=stage, email=MARIE, state=PledgeState.CHARGING)
    confirmed_donation(campaign, "10.00", email=MARIE, display_name="Marie")
    donor_access.erasure_request(email=MARIE, language="en")
    request = ErasureRequest.objects.get()

    response = admin_client.post(
        "/admin/donations/erasurerequest/",
        {"action": "erasure_confirm", "_selected_action": [request.pk]},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "being charged now" in page and "Confirm it again to finish" in page
    request.refresh_from_db()
    assert (request.confirmed_at, request.email) == (None, MARIE)
    assert Donation.objects.get(email=MARIE).display_name == "Marie"
