"""A member chooses a monthly gift in a real browser, in English and in French, "until the legal
cost is covered", subscribes on the demo gateway, and sees the campaign's monthly pace."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from campaign.models import Campaign
from donations.models import MonthlyGift, MonthlyStatus
from tests.support.browser import LANGUAGES, axe_violations, screenshot
from tests.support.factories import CampaignFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {
        "monthly": "Every month",
        "until": "Stop my monthly gift by itself once the legal cost is covered",
        "continue": "Continue to payment",
        "heading": "Give $20.00 every month",
        "subscribe": "Subscribe (demo)",
        "active": "Your monthly gift of $20.00 is active.",
        "until_note": "It stops by itself once the legal cost is covered: we will email you, "
        "and nothing more will be charged.",
        "renew": "Play next month's renewal (demo)",
        "pace": "1 member gives $20.00 every month.",
        "covered_by": "At this pace, the community share is covered by",
    },
    "fr": {
        "monthly": "Chaque mois",
        "until": "Arrêter mon don mensuel de lui-même une fois les frais juridiques couverts",
        "continue": "Passer au paiement",
        "heading": "Donner 20,00\u00a0$ chaque mois",
        "subscribe": "M’abonner (démo)",
        "active": "Votre don mensuel de 20,00\u00a0$ est actif.",
        "until_note": "Il s’arrête de lui-même une fois les frais juridiques couverts\u00a0: "
        "nous vous écrirons, et plus rien ne sera prélevé.",
        "renew": "Jouer le renouvellement du mois prochain (démo)",
        "pace": "1 membre donne 20,00\u00a0$ chaque mois.",
        "covered_by": "À ce rythme, la part de la communauté est couverte d’ici",
    },
}


@pytest.fixture
def campaign(db: None) -> Campaign:
    return CampaignFactory.create(slug="legal-defense-fund", title="Maple Swarm Legal Defense Fund")


def norm(text: str) -> str:
    return text.replace("\u202f", "\u00a0").strip()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_choose_monthly_until_covered_and_subscribe(live_server, open_page, campaign, language):
    t = TEXT[language]
    url = f"{live_server.url}{LANGUAGES[language]}/campaigns/{campaign.slug}/"
    page = open_page("phone", locale="fr-CA" if language == "fr" else "en-CA")
    page.goto(url)

    once = page.locator("#id_frequency_0")
    assert once.is_checked()  # a one-off gift unless the member chooses otherwise
    page.get_by_label(t["monthly"], exact=True).check()
    page.get_by_label(t["until"]).check()
    page.locator("#id_amount").fill("20")
    page.locator("#id_display_name").fill("Marie-Ève")
    page.locator("#id_email").fill("marie@example.ca")
    assert axe_violations(page) == []
    screenshot(page, f"campaign-monthly-form-{language}-phone")
    page.get_by_role("button", name=t["continue"]).click()

    page.wait_for_url(re.compile(r"/monthly/[0-9a-f-]+/pay/$"))
    assert norm(page.get_by_role("heading", level=1).inner_text()) == t["heading"]
    page.get_by_role("button", name=t["subscribe"]).click()

    page.wait_for_url(re.compile(r"/monthly/[0-9a-f-]+/thanks/"))
    assert norm(page.locator(".state.confirmed").inner_text()) == t["active"]
    assert norm(page.locator(".until-covered").inner_text()) == t["until_note"]
    gift = MonthlyGift.objects.get()
    assert (gift.status, gift.until_covered, gift.language) == (
        MonthlyStatus.ACTIVE,
        True,
        language,
    )
    assert gift.donations.count() == 1
    screenshot(page, f"campaign-monthly-thanks-{language}-phone")

    page.get_by_role("button", name=t["renew"]).click()  # the demo plays a renewal
    page.wait_for_url(re.compile(r"/monthly/[0-9a-f-]+/thanks/"))
    assert gift.donations.count() == 2

    page.goto(url)
    pace = norm(page.locator("[data-field=monthly]").inner_text())
    assert pace.startswith(t["pace"]) and t["covered_by"] in pace
    hosts = {urlsplit(u).netloc for u in page.requested}
    assert hosts == {urlsplit(live_server.url).netloc}, "no third-party requests"
    assert page.console_errors == []


def test_the_monthly_choice_works_without_javascript(live_server, browser, campaign):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")
        page.get_by_label("Every month", exact=True).check()
        page.locator("#id_amount").fill("15")
        page.locator("#id_display_name").fill("No Script")
        page.get_by_role("button", name="Continue to payment").click()
        error = page.locator("#id_email-error, .has-error .error").first
        assert "A monthly gift needs your email" in error.inner_text()
        page.locator("#id_email").fill("noscript@example.org")
        page.get_by_role("button", name="Continue to payment").click()
        page.get_by_role("button", name="Subscribe (demo)").click()
        page.wait_for_url(re.compile(r"/thanks/"))
        assert "Your monthly gift of $15.00 is active." in page.content()
    finally:
        context.close()
