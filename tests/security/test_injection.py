"""Hostile text from donors and the organizer is inert everywhere it appears: the public pages,
the admin, the feed, the emails and the CSV export."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from django.core import mail

from donations import emails
from tests.security.public_urls import public_get_urls
from tests.support.factories import UpdateFactory, confirmed_donation

pytestmark = pytest.mark.django_db

NAME = '<script>alert("name")</script>'
MESSAGE = (
    '<img src=x onerror=alert(1)> <a href="javascript:alert(2)">click</a> '
    "<svg onload=alert(3)> &lt;b&gt;entity&amp;"
)
FORMULA = '=HYPERLINK("http://evil.example","x")'
UPDATE_TITLE = '<b onmouseover="alert(4)">News</b>'
UPDATE_BODY = (
    "<script>alert(5)</script>\n\n[click me](javascript:alert(6))\n\n"
    '<a href="JaVaScRiPt:alert(7)">x</a> <iframe src="https://evil.example"></iframe>'
)


class InertChecker(HTMLParser):
    """Fails on any script we did not write, event-handler attribute or javascript: URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in ("iframe", "object", "embed"):
            self.problems.append(f"<{tag}>")
        if tag == "script":
            if not (a.get("src", "").startswith("/static/") or a.get("type") == "application/json"):
                self.in_script = True
        for name, value in a.items():
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}={value}")
            if name in ("href", "src", "action", "formaction", "xlink:href"):
                if value.strip().lower().replace("\t", "").startswith(("javascript:", "data:text")):
                    self.problems.append(f"{tag} {name}={value}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and "alert" in data:
            self.problems.append(f"script: {data[:60]}")


def assert_inert(html: str, where: str) -> None:
    checker = InertChecker()
    checker.feed(html)
    assert checker.problems == [], where
    assert "<script>alert" not in html, where


def assert_feed_inert(xml: str, where: str) -> None:
    """A feed must stay well-formed XML; the HTML it carries (Atom type="html", RSS description)
    is what a feed reader renders, so that part must be inert."""
    root = ElementTree.fromstring(xml.encode())  # noqa: S314 - our own feed
    for element in root.iter():
        if element.get("type") == "html" or element.tag.endswith(("description", "encoded")):
            assert_inert(element.text or "", f"{where} <{element.tag}>")


@pytest.fixture
def hostile(campaign):
    UpdateFactory.create(campaign=campaign, slug="news", title=UPDATE_TITLE, body=UPDATE_BODY)
    donation = confirmed_donation(
        campaign, "25.00", display_name=NAME, message=MESSAGE, email="x@example.org"
    )
    formula = confirmed_donation(
        campaign, "10.00", display_name=FORMULA, message="-2+3+cmd|' /C calc'!A0"
    )
    return donation, formula


def test_public_pages_and_feed_render_hostile_text_inert(client, campaign, hostile):
    saw_escaped_name = False
    for url in public_get_urls(slug=campaign.slug, update_slug="news"):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        body = response.content.decode(errors="replace")
        if "xml" in response["Content-Type"] and "svg" not in response["Content-Type"]:
            assert_feed_inert(body, url)
        elif "html" in response["Content-Type"] or "svg" in response["Content-Type"]:
            assert_inert(body, url)
            saw_escaped_name = saw_escaped_name or "&lt;script&gt;" in body
    assert saw_escaped_name  # the name is shown, as text


def test_admin_pages_render_hostile_text_inert(admin_client, campaign, hostile):
    donation, _ = hostile
    update = campaign.updates.get(slug="news")
    for url in (
        "/admin/donations/donation/",
        f"/admin/donations/donation/{donation.pk}/change/",
        "/admin/campaign/update/",
        f"/admin/campaign/update/{update.pk}/change/",
        f"/admin/campaign/campaign/{campaign.pk}/change/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert_inert(response.content.decode(), url)


def test_receipt_email_renders_hostile_text_inert(campaign, hostile):
    donation, _ = hostile
    emails.receipt_send(donation)

    [message] = mail.outbox
    assert isinstance(message, mail.EmailMultiAlternatives)
    html = str(message.alternatives[0][0])
    assert_inert(html, "receipt html")
    assert "<script>" not in message.subject and "\n" not in message.subject


def test_csv_export_neutralises_formulas(admin_client, campaign, hostile):
    response = admin_client.get(f"/admin/donations/donation/export/{campaign.pk}/")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    cells = [cell for row in rows[1:] for cell in row]
    assert any(FORMULA in cell for cell in cells)  # the text is kept...
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell  # ...but never as a formula
        assert not (cell.startswith("-") and not cell[1:2].isdigit()), cell


def test_update_email_renders_hostile_text_inert(campaign, hostile):
    from campaign.emails import update_message
    from campaign.models import Subscriber, UpdateDelivery

    subscriber = Subscriber.objects.create(campaign=campaign, email="reader@example.org")
    delivery = UpdateDelivery.objects.create(
        update=campaign.updates.get(slug="news"), subscriber=subscriber
    )

    message = update_message(delivery)

    assert_inert(str(message.alternatives[0][0]), "update email html")
    assert "\n" not in message.subject and "\r" not in message.subject
