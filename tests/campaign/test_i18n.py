"""English and Canadian French: URLs, the switcher, first-visit language, formats, completeness."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from donations.models import Donation
from tests.support.factories import confirmed_donation

ROOT = Path(__file__).resolve().parents[2]
PO_FILE = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
NBSP = "\u00a0"


def untranslated(po_path: Path) -> list[str]:
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else [message.string]
        if message.fuzzy or not all(strings):
            problems.append(str(message.id))
    return problems


def test_every_french_entry_is_translated_and_not_fuzzy():
    assert PO_FILE.exists(), "locale/fr/LC_MESSAGES/django.po is missing"
    assert untranslated(PO_FILE) == []


@pytest.mark.skipif(
    shutil.which("xgettext") is None, reason="needs gettext (apt-get install gettext)"
)
def test_no_string_in_the_code_is_missing_from_the_french_catalog(tmp_path):
    """Run makemessages on a copy of the project, so strings added since the last pass show up."""
    copy = tmp_path / "project"
    skip = shutil.ignore_patterns(
        ".*", "__pycache__", "tests", "bench", "staticfiles", "test-artifacts", "docs", "*.mo",
        "node_modules", "*.sqlite3",
    )  # fmt: skip
    shutil.copytree(ROOT, copy, ignore=skip)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete", "-v0"],
        cwd=copy,
        env={"TESTING": "1", "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    missing = untranslated(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po")
    assert missing == [], (
        "Untranslated French strings: run `make messages-extract`, translate them in "
        f"locale/fr/LC_MESSAGES/django.po, then `make messages`: {missing}"
    )


@pytest.mark.django_db
def test_french_page_is_under_fr_with_french_text_and_formats(client, campaign):
    confirmed_donation(campaign, "1250.00")

    page = client.get(f"/fr/campaigns/{campaign.slug}/").content.decode()

    assert '<html lang="fr-CA">' in page
    assert f"1{NBSP}250,00{NBSP}$" in page
    assert f"83{NBSP}% — 1{NBSP}250,00{NBSP}$ sur 1{NBSP}500,00{NBSP}$" in page
    assert "Choisissez un montant" in page and "Passer au paiement" in page
    assert "Choose an amount" not in page
    assert 'lang="en-CA">English</button>' in page
    # Numbers for the script stay in the dot notation whatever the language.
    assert 'data-fee-percent="2.9" data-fee-fixed="0.30"' in page


@pytest.mark.django_db
def test_english_page_has_no_prefix_and_english_formats(client, campaign):
    confirmed_donation(campaign, "1250.00")

    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()

    assert '<html lang="en-CA">' in page
    assert "83% — $1,250.00 of $1,500.00" in page
    assert 'lang="fr-CA">Français</button>' in page
    assert '<nav class="lang" aria-label="Language">' in page


@pytest.mark.django_db
def test_first_visit_with_a_french_browser_goes_to_the_french_site(client, campaign):
    response = client.get(
        f"/campaigns/{campaign.slug}/?ref=forum",
        headers={**BROWSER, "Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/fr/campaigns/{campaign.slug}/?ref=forum"
    assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]


@pytest.mark.django_db
def test_an_english_browser_or_a_non_page_request_stays_put(client, campaign):
    url = f"/campaigns/{campaign.slug}/"
    assert client.get(url, headers={**BROWSER, "Accept-Language": "en-CA"}).status_code == 200
    # Images and scripts (no text/html in Accept) keep their address.
    assert client.get(url + "badge.png", headers={"Accept-Language": "fr"}).status_code == 200
    assert (
        client.get(
            url + "progress/",
            headers={**BROWSER, "Accept-Language": "fr", "Sec-Fetch-Mode": "cors"},
        ).status_code
        == 200
    )


@pytest.mark.django_db
def test_the_switcher_choice_beats_the_browser(client, campaign):
    french = client.get(f"/fr/campaigns/{campaign.slug}/").content.decode()
    assert f'<input name="next" type="hidden" value="/campaigns/{campaign.slug}/">' in french
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": f"/campaigns/{campaign.slug}/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.slug}/"

    page = client.get(response["Location"], headers={**BROWSER, "Accept-Language": "fr"})
    assert page.status_code == 200 and '<html lang="en-CA">' in page.content.decode()

    english = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert f'<input name="next" type="hidden" value="/fr/campaigns/{campaign.slug}/">' in english
    response = client.post(
        "/i18n/setlang/", {"language": "fr", "next": f"/fr/campaigns/{campaign.slug}/"}
    )
    assert response["Location"] == f"/fr/campaigns/{campaign.slug}/"
    again = client.get(f"/campaigns/{campaign.slug}/", headers=BROWSER)
    assert again.status_code == 302 and again["Location"] == f"/fr/campaigns/{campaign.slug}/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "Entrez un montant en dollars, comme 25 ou 25,50."),
        ("1", "Le don minimal est de 2,00\u00a0$."),
        ("20000", "Le don maximal en ligne est de 10\u00a0000,00\u00a0$."),
        ("", "Ce champ est obligatoire."),
    ],
)
def test_form_errors_in_french(client, campaign, donor, amount, message):
    response = client.post(f"/fr/campaigns/{campaign.slug}/donate/", {**donor, "amount": amount})

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'id="amount-error" class="error" role="alert"' in page
    assert not Donation.objects.exists()


@pytest.mark.django_db
def test_french_donor_gets_a_french_receipt(
    client, campaign, donor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/fr/campaigns/{campaign.slug}/donate/", donor)
        client.post(response["Location"], {"action": "pay"})

    [email] = mail.outbox
    assert isinstance(email, EmailMultiAlternatives)
    assert email.subject == f"Votre don de 25,00{NBSP}$ à {campaign.title}{NBSP}: merci"
    assert "Merci pour votre don de 25,00" in email.body
    html = email.alternatives[0][0]
    assert isinstance(html, str)
    assert "Ce reçu est pour vos dossiers" in html


@pytest.mark.django_db
def test_french_embed_and_wall(client, campaign):
    confirmed_donation(campaign, "30.00", anonymous=True)

    assert (
        "<strong>Anonyme</strong>"
        in client.get(f"/fr/campaigns/{campaign.slug}/supporters/").content.decode()
    )
    embed = client.get(f"/fr/campaigns/{campaign.slug}/embed/").content.decode()
    assert "1 donateur" in embed and "Donner" in embed
