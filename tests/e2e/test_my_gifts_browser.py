"""A donor signs in to "Manage my gifts" through a link, changes how a gift appears with the
keyboard alone, and sees the change on the page and on the public list, in both languages; the
pages (sign-in, list with a monthly gift and a pledge, receipt, a refused link) pass axe-core."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.money import cad
from donations import gateway
from donations.models import Donation
from donations.services import donor_access, monthly, monthly_events
from tests.support.browser import LANGUAGES, VIEWPORTS, axe_violations, screenshot
from tests.support.factories import CampaignFactory, PledgeFactory, confirmed_donation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "marie@example.ca"
TEXT = {
    "en": {
        "heading": "Your gifts",
        "summary": "Change how this gift appears",
        "nickname": "A nickname",
        "name": "Name or nickname to show",
        "save": "Save how it appears",
        "saved": "Saved. The list of supporters shows your change now.",
        "start": "Manage my gifts",
        "email": "The email you gave with",
        "send": "Email me a sign-in link",
        "sent": "Check your email.",
        "receipt": "Printable receipt for $40.00",
        "wall_new": "Loutre — $40.00",
        "wall_old": "Marie-Ève — $40.00",
    },
    "fr": {
        "heading": "Vos dons",
        "summary": "Changer l’affichage de ce don",
        "nickname": "Un pseudonyme",
        "name": "Nom ou pseudonyme à afficher",
        "save": "Enregistrer l’affichage",
        "saved": "Enregistré. La liste des donateurs montre votre changement dès maintenant.",
        "start": "Gérer mes dons",
        "email": "Le courriel donné avec votre don",
        "send": "M’envoyer un lien de connexion",
        "sent": "Consultez vos courriels.",
        "receipt": "Reçu imprimable de 40,00 $",
        "wall_new": "Loutre — 40,00 $",
        "wall_old": "Marie-Ève — 40,00 $",
    },
}


@pytest.fixture
def donor_site(db: None) -> dict[str, object]:
    campaign = CampaignFactory.create(slug="legal-defense-fund", title="Maple Swarm Legal Fund")
    gift = confirmed_donation(
        campaign, "40.00", email=EMAIL, display_name="Marie-Ève", message="On lâche pas!"
    )
    PledgeFactory.create(email=EMAIL, stage__campaign=campaign, amount=cad("30.00"))
    steady = monthly.monthly_start(
        campaign=campaign, amount=cad(Decimal("20.00")), email=EMAIL, display_name="Marie-Ève",
        until_covered=True,
    )  # fmt: skip
    for number in (1, 2):
        monthly_events.monthly_invoice_paid(
            invoice=gateway.demo_invoice(
                monthly_ref=str(steady.public_id),
                number=number,
                amount=steady.amount,
                period_end=int(time.time()) + number * 30 * 86400,
            )
        )
    return {"campaign": campaign, "gift": gift}


DOCS_SHOTS = {("start", "phone"), ("page", "desktop"), ("page-open", "desktop"),
              ("receipt", "desktop"), ("link-invalid", "phone")}  # fmt: skip


def norm(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_sign_in_by_link_and_change_the_display_with_the_keyboard(
    live_server, open_page, donor_site, language
):
    t, prefix = TEXT[language], LANGUAGES[language]
    gift: Donation = donor_site["gift"]  # type: ignore[assignment]
    page = open_page("desktop", locale="fr-CA" if language == "fr" else "en-CA")

    # Asking for a link answers the same for anyone; the link itself is made here, as the email's.
    page.goto(f"{live_server.url}{prefix}/my-gifts/")
    page.get_by_label(t["email"]).fill(EMAIL)
    page.get_by_role("button", name=t["send"]).click()
    expect(page.get_by_role("status")).to_contain_text(t["sent"])

    token = donor_access.donor_link_issue(email=EMAIL)
    page.goto(f"{live_server.url}{prefix}/my-gifts/open/{token}/")
    page.wait_for_url(f"{live_server.url}{prefix}/my-gifts/gifts/")  # the token left the address
    expect(page.get_by_role("heading", level=1)).to_have_text(t["heading"])
    expect(page.get_by_role("link", name=t["receipt"])).to_be_visible()

    card = page.locator(f"#gift-{gift.public_id}")
    card.get_by_text(t["summary"]).focus()
    page.keyboard.press("Enter")  # opens the <details>
    nickname = card.get_by_label(t["nickname"])
    nickname.focus()
    page.keyboard.press("Space")
    expect(nickname).to_be_checked()
    name = card.get_by_label(t["name"])
    name.focus()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("Loutre")
    card.get_by_role("button", name=t["save"]).focus()
    page.keyboard.press("Enter")

    expect(page.locator(".notice").first).to_have_text(t["saved"])
    expect(page.locator(f"#gift-{gift.public_id}")).to_contain_text("Loutre")
    gift.refresh_from_db()
    assert gift.display_name == "Loutre"

    wall = open_page("desktop")  # another visitor, no session
    wall.goto(f"{live_server.url}{prefix}/campaigns/{donor_site['campaign'].slug}/supporters/")  # type: ignore[attr-defined]
    expect(wall.locator("body")).to_contain_text("Loutre")
    listed = norm(wall.locator("main").inner_text())
    assert t["wall_new"] in listed and t["wall_old"] not in listed  # the monthly gift is its own
    assert page.console_errors == []


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_donor_pages_have_no_axe_violations(
    live_server, open_page, donor_site, language, viewport
):
    prefix = LANGUAGES[language]
    gift: Donation = donor_site["gift"]  # type: ignore[assignment]
    page = open_page(viewport, locale="fr-CA" if language == "fr" else "en-CA")
    failures: dict[str, list[str]] = {}

    def check(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == (
            "fr-CA" if language == "fr" else "en-CA"
        )
        # A few go to docs/screenshots/ (docs/monthly-and-donor-page.md), all to test-artifacts/.
        shown = (name, viewport) in DOCS_SHOTS
        screenshot(page, f"{'my-gifts' if shown else 'donor-page'}-{name}-{language}-{viewport}")
        if violations := axe_violations(page):
            failures[name] = violations

    page.goto(f"{live_server.url}{prefix}/my-gifts/")
    check("start")
    page.goto(f"{live_server.url}{prefix}/my-gifts/open/not-a-link/")
    check("link-invalid")
    token = donor_access.donor_link_issue(email=EMAIL)
    page.goto(f"{live_server.url}{prefix}/my-gifts/open/{token}/")
    page.wait_for_url(f"{live_server.url}{prefix}/my-gifts/gifts/")
    check("page")
    for summary in page.locator("details > summary").all():
        summary.click()  # every form open, as a donor changing things sees them
    check("page-open")
    page.goto(f"{live_server.url}{prefix}/my-gifts/gifts/{gift.public_id}/receipt/")
    check("receipt")

    assert failures == {}
