"""The donor wall and the five on the campaign page show each gift only as its donor chose."""

from __future__ import annotations

import pytest

from campaign.models import Update
from donations.models import Donation
from tests.support.factories import DonationFactory, confirmed_donation

pytestmark = pytest.mark.django_db


def wall(client, campaign, query: str = "") -> str:
    response = client.get(f"/campaigns/{campaign.slug}/supporters/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_wall_respects_name_amount_and_anonymity(client, campaign):
    confirmed_donation(campaign, "40.00", display_name="Marie-Ève", show_amount=True)
    confirmed_donation(campaign, "15.00", display_name="Chat Noir", show_amount=False)
    confirmed_donation(
        campaign, "777.77", display_name="Secret Person", anonymous=True, email="secret@example.ca"
    )

    for page in (
        wall(client, campaign),
        client.get(f"/campaigns/{campaign.slug}/").content.decode(),
    ):
        assert "Marie-Ève</strong> — $40.00" in page
        assert "Chat Noir</strong>" in page and "$15.00" not in page
        assert "<strong>Anonymous</strong>" in page
        assert "Secret Person" not in page
        assert "777.77" not in page and "$777" not in page
        assert "secret@example.ca" not in page


def test_wall_shows_no_dates_that_could_match_a_bank_statement(client, campaign):
    donation = confirmed_donation(campaign, "20.00", anonymous=True)
    page = wall(client, campaign)

    assert "<time" not in page
    assert donation.confirmed_at is not None
    assert donation.confirmed_at.strftime("%H:%M") not in page
    assert str(donation.public_id) not in page


def test_hidden_and_unconfirmed_messages_stay_off_the_wall(client, campaign):
    confirmed_donation(campaign, "20.00", display_name="Troll", message="Rude words here")
    Donation.objects.filter(display_name="Troll").update(message_hidden=True)
    DonationFactory.create(campaign=campaign, display_name="Pending Pat", message="Not paid yet")
    page = wall(client, campaign)

    assert "Troll" in page
    assert "Rude words here" not in page
    assert "Pending Pat" not in page and "Not paid yet" not in page


def test_links_in_messages_are_not_clickable(client, campaign):
    confirmed_donation(
        campaign,
        "20.00",
        message='Go to https://evil.example/x and <a href="https://evil.example">here</a>',
    )
    page = wall(client, campaign)

    assert "https://evil.example/x" in page
    assert 'href="https://evil.example' not in page
    assert "&lt;a href=" in page


def test_wall_is_paginated_newest_first(client, campaign):
    for n in range(55):
        confirmed_donation(campaign, "5.00", display_name=f"Donor {n:02d}")

    first = wall(client, campaign)
    second = wall(client, campaign, "?page=2")

    assert first.count("<li>") == 50 and "Donor 54" in first and "Donor 04" not in first
    assert second.count("<li>") == 5 and "Donor 04" in second and "Donor 00" in second
    assert "Page 2 of 2" in second
    assert wall(client, campaign, "?page=999").count("<li>") == 5
    assert wall(client, campaign, "?page=abc").count("<li>") == 50


def test_unknown_campaign_wall_is_404(client, db):
    assert client.get("/campaigns/nope/supporters/").status_code == 404


def post(client, campaign, donor, **fields):
    return client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, **fields})


def test_choosing_anonymous_drops_the_typed_name(client, campaign, donor):
    response = post(client, campaign, donor, shown_as="anonymous")

    assert response.status_code == 303
    donation = Donation.objects.get()
    assert donation.anonymous is True
    assert donation.display_name == ""


def test_nickname_is_stored_as_the_name_shown(client, campaign, donor):
    post(client, campaign, donor, shown_as="nickname", display_name="LoupGris")

    donation = Donation.objects.get()
    assert (donation.anonymous, donation.display_name) == (False, "LoupGris")


def test_name_choice_without_a_name_is_an_inline_error(client, campaign, donor):
    response = post(client, campaign, donor, shown_as="name", display_name="")

    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter the name to show, or choose “Anonymous”." in page
    assert 'aria-invalid="true" aria-describedby="id_display_name-error"' in page
    assert not Donation.objects.exists()


def test_the_plain_anonymous_checkbox_still_works(client, campaign, donor):
    post(client, campaign, donor, anonymous="on")

    assert Donation.objects.get().anonymous is True


def test_admin_hides_and_shows_a_message(admin_client, client, campaign):
    donation = confirmed_donation(campaign, "20.00", message="Spam spam spam")

    response = admin_client.post(
        "/admin/donations/donation/",
        {"action": "hide_messages", "_selected_action": [donation.pk]},
        follow=True,
    )
    assert response.status_code == 200
    donation.refresh_from_db()
    assert donation.message_hidden is True
    assert "Spam spam spam" not in wall(client, campaign)

    admin_client.post(
        "/admin/donations/donation/",
        {"action": "show_messages", "_selected_action": [donation.pk]},
    )
    donation.refresh_from_db()
    assert donation.message_hidden is False
    assert "Spam spam spam" in wall(client, campaign)


def test_crossing_milestones_prepares_unpublished_drafts_once(
    client, campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        confirmed_donation(campaign, "300.00")
    assert not Update.objects.filter(slug__startswith="milestone-").exists()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed_donation(campaign, "500.00")  # 800 of 1,500: 53.3 %

    drafts = Update.objects.filter(campaign=campaign, slug__startswith="milestone-")
    assert sorted(drafts.values_list("slug", flat=True)) == ["milestone-25", "milestone-50"]
    assert not drafts.filter(is_published=True).exists()
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "25% reached" in page and "50% reached" in page and "75%: to come" in page
    assert "of the community goal raised" not in page  # drafts are never shown

    with django_capture_on_commit_callbacks(execute=True):
        confirmed_donation(campaign, "10.00")
    assert drafts.count() == 2


def test_reaching_the_goal_prepares_the_100_percent_draft(
    campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        confirmed_donation(campaign, "1500.00")

    draft = Update.objects.get(campaign=campaign, slug="milestone-100")
    assert draft.is_published is False
    assert draft.title == "We reached the community goal of $1,500.00!"
