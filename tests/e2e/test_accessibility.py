"""axe-core finds no WCAG 2.2 A/AA violation on any public page, in both languages, on a phone and a
desktop; each page's screenshot is saved under test-artifacts/screenshots/ as it is checked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from campaign.models import Campaign, Stage, StageState, Update
from core.money import cad
from donations import services
from donations.models import Donation
from tests.support.browser import LANGUAGES, VIEWPORTS, axe_violations, screenshot
from tests.support.factories import CampaignFactory, DonationFactory, confirmed_donation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(db: None) -> dict[str, str]:
    """A campaign with gifts of all kinds, an update, a stage taking pledges; page paths by name."""
    campaign: Campaign = CampaignFactory.create(
        slug="legal-defense-fund",
        title="Maple Swarm Legal Defense Fund",
        summary="Help a 46,000-member Quebec forum answer a cease-and-desist in court.",
        story="Four record labels sent **cease-and-desist** letters. We answer in court.\n\n"
        "- Lawyer: $250 an hour\n- Confirmed fees: $2,000",
    )
    confirmed_donation(campaign, "400.00", display_name="Marie-Ève", message="On lâche pas!")
    confirmed_donation(campaign, "50.00", display_name="LoupGris", show_amount=False)
    confirmed_donation(campaign, "25.00", anonymous=True, message="Courage à tous.")
    Update.objects.create(
        campaign=campaign,
        title="Cease-and-desist received: we are fighting it",
        slug="letters-received",
        body="The letters arrived. Our lawyer's fees are confirmed at **$2,000**.",
        is_published=True,
        published_at=timezone.now(),
    )
    stage = Stage.objects.create(
        campaign=campaign,
        title="Hearing",
        state=StageState.POSSIBLE,
        estimated_hours=Decimal("8"),
    )
    pending = services.donation_start(campaign=campaign, amount=cad("25.00"), cover_fees=True)
    to_cancel = DonationFactory.create(campaign=campaign)
    thanked = Donation.objects.filter(display_name="Marie-Ève").get()
    with translation.override("en"):
        paths = {
            "campaign": reverse("campaign:detail", kwargs={"slug": campaign.slug}),
            "supporters": reverse("campaign:supporters", kwargs={"slug": campaign.slug}),
            "embed": reverse("campaign:embed", kwargs={"slug": campaign.slug}),
            "updates": reverse("campaign:updates", kwargs={"slug": campaign.slug}),
            "update": reverse(
                "campaign:update_detail",
                kwargs={"slug": campaign.slug, "update": "letters-received"},
            ),
            "pledge": reverse(
                "donations:pledge_new", kwargs={"slug": campaign.slug, "stage_id": stage.pk}
            ),
            "payment": reverse("donations:demo_checkout", kwargs={"public_id": pending.public_id}),
            "thanks": reverse("donations:thanks", kwargs={"public_id": thanked.public_id}),
            "cancelled": reverse("donations:cancelled", kwargs={"public_id": to_cancel.public_id}),
        }
    return paths


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_public_pages_have_no_axe_violations(live_server, open_page, site, language, viewport):
    page = open_page(viewport, locale="fr-CA" if language == "fr" else "en-CA")
    failures: dict[str, list[str]] = {}
    for name, path in site.items():
        response = page.goto(f"{live_server.url}{LANGUAGES[language]}{path}")
        assert response is not None and response.status == 200, (
            f"{name}: {response and response.status}"
        )
        assert page.locator("html").get_attribute("lang") == (
            "fr-CA" if language == "fr" else "en-CA"
        )
        screenshot(page, f"{name}-{language}-{viewport}")
        violations = axe_violations(page)
        if violations:
            failures[name] = violations

    # The form with its errors shown, as a member who mistyped sees it.
    page.goto(f"{live_server.url}{LANGUAGES[language]}{site['campaign']}")
    page.locator("#id_amount").fill("-5")
    page.locator("#donate-form button[type=submit]").click()
    page.locator("#amount-error").wait_for()
    screenshot(page, f"form-error-{language}-{viewport}")
    if violations := axe_violations(page):
        failures["form-error"] = violations

    assert failures == {}


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_focus_is_visible_on_the_amount_picker(live_server, open_page, site, language):
    page = open_page("desktop")
    page.goto(f"{live_server.url}{LANGUAGES[language]}{site['campaign']}")
    page.locator(".preset").first.focus()
    page.keyboard.press("Tab")
    focused = page.locator(".preset:focus-visible")
    assert focused.count() == 1
    outline = focused.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid"
