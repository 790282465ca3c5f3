"""Signing in to the donor's page ("Manage my gifts"): the same answer for any address, a signed
link that expires and is voided by a newer one or by erasure, a clean address, private headers."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from donations.models import DonorAccess
from donations.services import donor_access, privacy
from tests.support.donor_page import email_parts, link_in, sign_in
from tests.support.factories import PledgeFactory, confirmed_donation

pytestmark = pytest.mark.django_db

KNOWN = "marie@example.ca"


@pytest.fixture
def gift(campaign):
    donation = confirmed_donation(campaign, "40.00", email=KNOWN, display_name="Marie-Ève")
    mail.outbox.clear()  # the receipt
    return donation


def without_tokens(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


_hooks: list[Any] = []


@pytest.fixture(autouse=True)
def _commit_hooks_run(django_capture_on_commit_callbacks):
    """The sign-in email is queued on commit: run those hooks as a real request would."""
    _hooks[:] = [django_capture_on_commit_callbacks]


def ask(client, email: str, language: str = ""):
    with _hooks[0](execute=True):
        return client.post(f"{language}/my-gifts/", {"email": email})


def test_known_and_unknown_addresses_get_the_same_answer(client, gift):
    known = ask(client, KNOWN)
    unknown = ask(client, "nobody@example.ca")

    assert known.status_code == unknown.status_code == 200
    assert without_tokens(known) == without_tokens(unknown)
    assert "a sign-in link is on its way" in known.content.decode()
    # Only the known address gets mail, and only the sign-in link.
    assert [m.to for m in mail.outbox] == [[KNOWN]]
    assert mail.outbox[0].subject == "Your link to manage your gifts"


def test_the_request_is_queued_for_any_address(client, monkeypatch, gift):
    queued = []
    monkeypatch.setattr(
        "donations.services.donor_access.jobs.enqueue", lambda *args: queued.append(args)
    )
    ask(client, "nobody@example.ca")
    ask(client, " Marie@Example.ca ")

    assert queued == [
        ("donations.tasks.send_my_gifts_link", "nobody@example.ca", "en"),
        ("donations.tasks.send_my_gifts_link", KNOWN, "en"),
    ]


def test_a_pledger_with_no_donation_is_known(client, campaign):
    PledgeFactory.create(email="luc@example.ca", stage__campaign=campaign)
    ask(client, "luc@example.ca")
    assert [m.to for m in mail.outbox] == [["luc@example.ca"]]


def test_a_bad_address_is_a_form_error(client):
    response = ask(client, "not-an-address")
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert mail.outbox == []


def test_the_emailed_link_opens_the_page_at_a_clean_address(client, gift):
    ask(client, KNOWN)
    [email] = mail.outbox
    subject, text, html = email_parts(email)
    path = link_in(text)
    assert path in html and "60 minutes" in text and "60 minutes" in html

    opened = client.get(path)

    assert opened.status_code == 303 and opened["Location"] == "/my-gifts/gifts/"
    assert opened["Referrer-Policy"] == "no-referrer"
    page = client.get("/my-gifts/gifts/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Signed in as marie@example.ca." in body and "$40.00 to" in body


def test_the_email_and_the_link_are_in_the_readers_language(client, gift):
    ask(client, KNOWN, language="/fr")
    [email] = mail.outbox
    subject, text, html = email_parts(email)
    assert subject == "Votre lien pour gérer vos dons"
    path = link_in(text)
    assert path.startswith("/fr/my-gifts/open/")

    assert client.get(path)["Location"] == "/fr/my-gifts/gifts/"
    page = client.get("/fr/my-gifts/gifts/").content.decode()
    assert "40,00\xa0$" in page and "Vos dons" in page


def test_the_link_expires(client, gift, settings):
    settings.MY_GIFTS_LINK_MAX_AGE = 3600
    token = donor_access.donor_link_issue(email=KNOWN)

    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        assert client.get(f"/my-gifts/open/{token}/").status_code == 303
    client.cookies.clear()
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        expired = client.get(f"/my-gifts/open/{token}/")
        assert expired.status_code == 410
        assert "This link no longer works" in expired.content.decode()
        assert client.get("/my-gifts/gifts/")["Location"] == "/my-gifts/"


def test_a_tampered_link_is_refused_clearly(client, gift):
    token = donor_access.donor_link_issue(email=KNOWN)
    value, stamp, signature = token.rsplit(":", 2)
    other = donor_access.donor_link_issue(email="else@example.ca")
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        f"{other.rsplit(':', 2)[0]}:{stamp}:{signature}",  # another address under this signature
        "garbage",
        # The same value and key under another purpose's salt is not a sign-in link.
        __import__("django.core.signing", fromlist=["x"]).dumps({"e": KNOWN}, salt="other"),
    ):
        response = client.get(f"/my-gifts/open/{bad}/")
        assert response.status_code == 400, bad
        assert "The link is incomplete or was changed" in response.content.decode()
    assert client.get("/my-gifts/gifts/").status_code == 302


def test_a_newer_link_voids_the_older_one_and_its_session(client, gift):
    old = donor_access.donor_link_issue(email=KNOWN)
    assert client.get(f"/my-gifts/open/{old}/").status_code == 303
    assert client.get("/my-gifts/gifts/").status_code == 200

    new = donor_access.donor_link_issue(email=KNOWN)

    assert client.get("/my-gifts/gifts/").status_code == 302  # the session of the old link ends
    assert client.get(f"/my-gifts/open/{old}/").status_code == 410
    assert client.get(f"/my-gifts/open/{new}/").status_code == 303
    assert DonorAccess.objects.filter(email=KNOWN).count() == 1


def test_an_erasure_voids_every_link(client, gift):
    token = donor_access.donor_link_issue(email=KNOWN)
    sign_in(client, KNOWN)

    privacy.donor_data_erase(email=KNOWN)  # as `manage.py donor_data --erase` does

    assert client.get("/my-gifts/gifts/").status_code == 302
    leaked = client.get(f"/my-gifts/open/{token}/")
    assert leaked.status_code == 410 and KNOWN not in leaked.content.decode()


def test_the_session_is_short(client, gift):
    sign_in(client, KNOWN)
    with time_machine.travel(timezone.now() + timedelta(minutes=29)):
        assert client.get("/my-gifts/gifts/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert client.get("/my-gifts/gifts/").status_code == 302


def test_signing_in_gives_a_new_session_id(client, gift):
    client.get("/my-gifts/")
    client.session.save()
    before = client.cookies["sessionid"].value
    sign_in(client, KNOWN)
    assert client.cookies["sessionid"].value != before


def test_signing_out_ends_the_session(client, gift):
    sign_in(client, KNOWN)
    assert client.post("/my-gifts/sign-out/").status_code == 303
    assert client.get("/my-gifts/gifts/").status_code == 302


@pytest.mark.parametrize(
    "path", ["/my-gifts/", "/fr/my-gifts/", "/my-gifts/gifts/", "/fr/my-gifts/gifts/"]
)
def test_the_pages_are_never_cached_or_indexed(client, gift, path):
    sign_in(client, KNOWN)
    response = client.get(path, follow=True)

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    # A referrer to this site only: `no-referrer` would make browsers post forms with
    # `Origin: null`, which the CSRF check refuses (tests/e2e/test_my_gifts_browser.py).
    assert response["Referrer-Policy"] == "same-origin"
    assert '<meta name="robots" content="noindex, nofollow">' in response.content.decode()


def test_an_expired_link_page_is_private_too(client):
    response = client.get("/my-gifts/open/garbage/")
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_issuing_links_does_not_drop_the_cached_public_pages(client, campaign, gift, settings):
    from front import cache as page_cache

    settings.PAGE_CACHE = True
    page_cache.local_reset()
    key = page_cache.page_key("detail", campaign.slug)
    # Anyone may ask for links: that must not let them empty the page cache for everyone.
    with _hooks[0](execute=True):
        donor_access.donor_link_issue(email=KNOWN)
        donor_access.erasure_request(email=KNOWN, language="en")
    assert page_cache.page_key("detail", campaign.slug) == key
    page_cache.local_reset()


class TestRateLimits:
    @pytest.fixture(autouse=True)
    def limits_on(self, settings):
        settings.RATELIMIT_ENABLE = True
        cache.clear()
        yield
        cache.clear()

    def test_per_address(self, client, gift):
        answers = [ask(client, KNOWN).status_code for _ in range(4)]

        assert answers == [200, 200, 200, 429]
        assert len(mail.outbox) == 3
        limited = ask(client, KNOWN.upper())  # the same address, however it is typed
        assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
        assert "Nothing was sent" in limited.content.decode()

    def test_per_client_address_whatever_the_target(self, client, gift):
        answers = [ask(client, f"n{n}@example.ca").status_code for n in range(11)]
        assert answers == [200] * 10 + [429]

    def test_the_limit_does_not_tell_known_from_unknown(self, client, gift):
        known = [ask(client, KNOWN).status_code for _ in range(4)]
        unknown = [ask(client, "nobody@example.ca").status_code for _ in range(4)]
        assert known == unknown


def test_every_receipt_opens_the_donors_page(client, campaign):
    with _hooks[0](execute=True):
        confirmed_donation(campaign, "25.00", email=KNOWN, language="fr")
    [receipt] = mail.outbox
    subject, text, html = email_parts(receipt)
    assert "Gérer mes dons" in text and "Gérer mes dons" in html
    path = link_in(text)
    assert path in html and path.startswith("/fr/my-gifts/open/")

    assert client.get(path)["Location"] == "/fr/my-gifts/gifts/"
    assert "25,00\xa0$" in client.get("/fr/my-gifts/gifts/").content.decode()


def test_a_monthly_supporter_is_known(client, campaign):
    from core.money import cad
    from donations.services import monthly

    monthly.monthly_start(campaign=campaign, amount=cad("20.00"), email="zoe@example.ca")
    ask(client, "zoe@example.ca")
    assert [m.to for m in mail.outbox] == [["zoe@example.ca"]]
