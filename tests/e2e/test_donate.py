"""A member gives in a real browser: picks an amount, fills the form, pays, sees the bar move."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from campaign.models import Campaign
from donations.models import Donation, DonationState
from tests.support.browser import LANGUAGES, screenshot
from tests.support.factories import CampaignFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {
        "preset": "$25",
        "fee": "Adds $1.06: you pay $26.06 and the campaign receives $25.00.",
        "continue": "Continue to payment",
        "pay_heading": "Pay $26.06",
        "pay": "Pay (demo)",
        "thanks": "Thank you!",
        "confirmed": "Your gift of $26.06 is confirmed.",
        "label": "1% — $26.06 of $1,500.00",
        "error": "Enter an amount in dollars, like 25 or 25.50.",
        "buys": "$25.00 pays for 6 minutes of legal work.",
    },
    "fr": {
        "preset": "25\u00a0$",
        "fee": "Ajoute 1,06\u00a0$\u00a0: vous payez 26,06\u00a0$ "
        "et la campagne reçoit 25,00\u00a0$.",
        "continue": "Passer au paiement",
        "pay_heading": "Payer 26,06\u00a0$",
        "pay": "Payer (démo)",
        "thanks": "Merci!",
        "confirmed": "Votre don de 26,06\u00a0$ est confirmé.",
        "label": "1\u00a0% — 26,06\u00a0$ sur 1\u00a0500,00\u00a0$",
        "error": "Entrez un montant en dollars, comme 25 ou 25,50.",
        "buys": "25,00\u00a0$ paie 6 min de travail juridique.",
    },
}


@pytest.fixture
def campaign(db: None) -> Campaign:
    return CampaignFactory.create(slug="legal-defense-fund", title="Maple Swarm Legal Defense Fund")


def norm(text: str) -> str:
    # Intl.NumberFormat uses U+00A0 or U+202F depending on the ICU version: compare both as U+00A0.
    return text.replace("\u202f", "\u00a0").strip()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_donate_pay_and_see_the_bar_move(live_server, open_page, campaign, language):
    t = TEXT[language]
    url = f"{live_server.url}{LANGUAGES[language]}/campaigns/{campaign.slug}/"
    watcher = open_page("desktop", locale="fr-CA" if language == "fr" else "en-CA")
    watcher.goto(url)
    assert watcher.get_by_role("progressbar").get_attribute("aria-valuenow") == "0.0"

    page = open_page("phone", locale="fr-CA" if language == "fr" else "en-CA")
    page.goto(url)
    preset = page.get_by_role("button", name=t["preset"], exact=True)
    preset.click()
    assert preset.get_attribute("aria-pressed") == "true"
    assert page.locator("#id_amount").input_value() == "25"
    assert norm(page.locator("#amount-help").inner_text()) == t["buys"]
    page.locator("#id_cover_fees").check()
    assert norm(page.locator("#fee-note").inner_text()) == t["fee"]
    page.locator("#id_display_name").fill("Marie-Ève")
    page.locator("#id_message").fill("On lâche pas! https://example.com")
    page.locator("#id_email").fill("marie@example.ca")
    page.get_by_role("button", name=t["continue"]).click()

    page.wait_for_url(re.compile(r"/donations/[0-9a-f-]+/pay/$"))
    assert norm(page.get_by_role("heading", level=1).inner_text()) == t["pay_heading"]
    page.get_by_role("button", name=t["pay"]).click()

    page.wait_for_url(re.compile(r"/donations/[0-9a-f-]+/thanks/"))
    assert page.get_by_role("heading", level=1).inner_text() == t["thanks"]
    assert norm(page.locator(".state.confirmed").inner_text()) == t["confirmed"]
    donation = Donation.objects.get()
    assert donation.state == DonationState.CONFIRMED
    assert (str(donation.amount.amount), str(donation.fee_covered.amount)) == ("26.06", "1.06")
    assert donation.language == language

    # The page left open notices by itself (the 15-second poll, asked to run now) and says so.
    watcher.locator("#progress").dispatch_event("progress:refresh")
    # (A locator wait, not wait_for_function: the page's CSP forbids evaluating strings.)
    expect(watcher.locator("#progress-announce")).to_have_text(re.compile(r"\S"))
    assert norm(watcher.locator("#progress-announce").inner_text()) == t["label"]
    assert watcher.get_by_role("progressbar").get_attribute("aria-valuenow") == "1.7"

    page.goto(url)
    assert norm(page.locator("[data-field=label]").inner_text()) == t["label"]
    assert "Marie-Ève" in page.locator(".supporters").inner_text()
    assert page.locator(".supporters a[href^='https://example.com']").count() == 0

    hosts = {urlsplit(u).netloc for u in page.requested + watcher.requested}
    assert hosts == {urlsplit(live_server.url).netloc}, "no third-party requests"
    assert page.console_errors == [] and watcher.console_errors == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_invalid_amount_shows_an_inline_error(live_server, open_page, campaign, language):
    page = open_page("desktop")
    page.goto(f"{live_server.url}{LANGUAGES[language]}/campaigns/{campaign.slug}/")
    page.locator("#id_amount").fill("abc")
    page.locator("#id_display_name").fill("Jo")
    page.get_by_role("button", name=TEXT[language]["continue"]).click()

    error = page.locator("#amount-error")
    error.wait_for()
    assert error.inner_text() == TEXT[language]["error"]
    assert error.get_attribute("role") == "alert"
    amount = page.locator("#id_amount")
    assert amount.get_attribute("aria-invalid") == "true"
    assert "amount-error" in (amount.get_attribute("aria-describedby") or "")
    assert amount.input_value() == "abc"
    assert amount.evaluate("el => el === document.activeElement")  # focus taken to the error
    assert not Donation.objects.exists()


def test_a_french_browser_lands_on_the_french_site(live_server, open_page, campaign):
    page = open_page("desktop", locale="fr-CA")
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")

    assert urlsplit(page.url).path == f"/fr/campaigns/{campaign.slug}/"
    assert page.locator("html").get_attribute("lang") == "fr-CA"

    page.get_by_role("button", name="English").click()
    page.wait_for_url(f"{live_server.url}/campaigns/{campaign.slug}/")
    assert page.locator("html").get_attribute("lang") == "en-CA"
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")  # the choice sticks
    assert page.locator("html").get_attribute("lang") == "en-CA"


def test_the_page_works_without_javascript(live_server, browser, campaign):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")
        page.locator("#id_amount").fill("30")
        page.locator("#id_display_name").fill("No Script")
        page.get_by_role("button", name="Continue to payment").click()
        page.get_by_role("button", name="Pay (demo)").click()
        page.wait_for_url(re.compile(r"/thanks/"))
        assert "Your gift of $30.00 is confirmed." in page.content()
        screenshot(page, "thanks-nojs-en-phone")
    finally:
        context.close()


@pytest.mark.parametrize(
    ("typed", "note"),
    [
        ("33.33", "Adds $1.30: you pay $34.63 and the campaign receives $33.33."),
        ("10000", "Adds $298.97: you pay $10,298.97 and the campaign receives $10,000.00."),
        ("2", "Adds $0.37: you pay $2.37 and the campaign receives $2.00."),
    ],
)
def test_the_live_fee_preview_matches_the_server_to_the_cent(
    live_server, open_page, campaign, typed, note
):
    page = open_page("desktop")
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")
    page.locator("#id_cover_fees").check()
    page.locator("#id_amount").fill(typed)

    assert norm(page.locator("#fee-note").inner_text()) == note
    page.locator("#id_display_name").fill("Jo")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/pay/$"))
    donation = Donation.objects.get()
    assert f"{donation.amount.amount:,.2f}" in note and f"{donation.gift.amount:,.2f}" in note
