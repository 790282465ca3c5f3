"""Update posts: drafts, scheduled publishing, the edited marker, public pages and the Atom feed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import time_machine
from django.utils import timezone

from campaign import selectors
from campaign.models import Update
from tests.support.factories import UpdateFactory

pytestmark = pytest.mark.django_db


def new_update(**fields: Any) -> Update:
    """An update from the factory, typed for mypy."""
    return cast(Update, UpdateFactory(**fields))


ATOM = "{http://www.w3.org/2005/Atom}"
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 12:00 in Toronto


def admin_update_form(campaign, **fields):
    local = timezone.localtime(fields.pop("when", timezone.now()))
    data = {
        "campaign": campaign.pk,
        "title": "The lawyer answered",
        "slug": "lawyer-answered",
        "body": "We sent our **answer** today.",
        "is_published": "on",
        "published_at_0": local.strftime("%Y-%m-%d"),
        "published_at_1": local.strftime("%H:%M:%S"),
    }
    data.update(fields)
    return data


def test_a_scheduled_update_appears_on_its_own_at_its_time(admin_client, client, campaign):
    with time_machine.travel(NOON, tick=False):
        response = admin_client.post(
            "/admin/campaign/update/add/",
            admin_update_form(campaign, when=NOON + timedelta(hours=2)),
        )
        assert response.status_code == 302, response.content
        assert client.get(f"/campaigns/{campaign.slug}/updates/lawyer-answered/").status_code == 404
        assert (
            "The lawyer answered" not in client.get(f"/campaigns/{campaign.slug}/").content.decode()
        )
        assert selectors.update_latest(campaign=campaign) is None

    with time_machine.travel(NOON + timedelta(hours=2, seconds=1), tick=False):
        page = client.get(f"/campaigns/{campaign.slug}/updates/lawyer-answered/")
        assert page.status_code == 200
        assert "<strong>answer</strong>" in page.content.decode()
        latest = selectors.update_latest(campaign=campaign)
        assert latest is not None and latest.slug == "lawyer-answered"
        listing = client.get(f"/campaigns/{campaign.slug}/updates/").content.decode()
        assert "The lawyer answered" in listing


def test_a_draft_is_never_shown(client, campaign):
    new_update(campaign=campaign, slug="draft", title="Secret draft", is_published=False)

    assert client.get(f"/campaigns/{campaign.slug}/updates/draft/").status_code == 404
    assert "Secret draft" not in client.get(f"/campaigns/{campaign.slug}/updates/").content.decode()
    assert (
        "Secret draft"
        not in client.get(f"/campaigns/{campaign.slug}/updates/feed/").content.decode()
    )


def test_editing_a_published_update_shows_edited(admin_client, client, campaign):
    with time_machine.travel(NOON, tick=False):
        admin_client.post("/admin/campaign/update/add/", admin_update_form(campaign))
    update = Update.objects.get()
    assert update.edited_at is None

    with time_machine.travel(NOON + timedelta(days=1), tick=False):
        response = admin_client.post(
            f"/admin/campaign/update/{update.pk}/change/",
            admin_update_form(campaign, when=NOON, body="We sent our answer. Correction: Tuesday."),
        )
        assert response.status_code == 302, response.content

    update.refresh_from_db()
    assert update.edited_at == NOON + timedelta(days=1)
    page = client.get(update.get_absolute_url()).content.decode()
    assert "edited Nov. 21, 2026" in page
    assert "Correction: Tuesday." in page


def test_fixing_a_draft_before_it_is_shown_is_not_an_edit(admin_client, campaign):
    admin_client.post("/admin/campaign/update/add/", admin_update_form(campaign, is_published=""))
    update = Update.objects.get()
    admin_client.post(
        f"/admin/campaign/update/{update.pk}/change/",
        admin_update_form(campaign, is_published="", body="Better words."),
    )
    update.refresh_from_db()
    assert update.edited_at is None and update.body == "Better words."


def test_update_detail_by_id_redirects_to_the_slug(client, campaign):
    update = new_update(campaign=campaign, slug="hearing-date")

    response = client.get(f"/campaigns/{campaign.slug}/updates/{update.pk}/")

    assert response.status_code == 301
    assert response["Location"] == f"/campaigns/{campaign.slug}/updates/hearing-date/"


def test_update_body_is_sanitised(client, campaign):
    update = new_update(
        campaign=campaign, body="Hi <script>alert(1)</script> [x](javascript:alert(2))"
    )
    html = client.get(update.get_absolute_url()).content.decode()
    assert "<script>alert(1)" not in html and "javascript:" not in html


def test_the_feed_is_atom_with_absolute_links_and_publish_times(client, campaign):
    older = new_update(
        campaign=campaign, slug="letters", title="Letters received",
        published_at=datetime(2026, 11, 1, 14, 0, tzinfo=UTC),
    )  # fmt: skip
    newer = new_update(
        campaign=campaign, slug="answer", title="Answer sent", body="Sent **today**.",
        published_at=datetime(2026, 11, 10, 15, 30, tzinfo=UTC),
        edited_at=datetime(2026, 11, 11, 9, 0, tzinfo=UTC),
    )  # fmt: skip
    new_update(
        campaign=campaign, slug="later", title="Not yet",
        published_at=timezone.now() + timedelta(days=3),
    )  # fmt: skip

    response = client.get(f"/campaigns/{campaign.slug}/updates/feed/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314 - our own response

    def text(node: ET.Element, tag: str) -> str:
        found = node.find(f"{ATOM}{tag}")
        assert found is not None and found.text is not None, tag
        return found.text

    assert feed.tag == f"{ATOM}feed"
    assert text(feed, "title") == "Legal Defense Fund: updates"
    entries = feed.findall(f"{ATOM}entry")
    assert [text(e, "title") for e in entries] == ["Answer sent", "Letters received"]
    first = entries[0]
    link = first.find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == f"http://testserver/campaigns/{campaign.slug}/updates/answer/"
    assert text(first, "published") == "2026-11-10T15:30:00+00:00"
    assert text(first, "updated") == "2026-11-11T09:00:00+00:00"
    assert text(first, "id") == f"tag:{campaign.slug},update:{newer.pk}"
    assert "<strong>today</strong>" in text(first, "summary")
    assert text(entries[1], "published") == "2026-11-01T14:00:00+00:00"
    assert older.pk != newer.pk


def test_feed_of_an_unknown_campaign_is_404(client, db):
    assert client.get("/campaigns/nope/updates/feed/").status_code == 404


def test_campaign_page_links_updates_feed_and_subscription(client, campaign):
    new_update(campaign=campaign, slug="news", title="Big news")
    html = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "Big news" in html
    assert f'href="/campaigns/{campaign.slug}/updates/"' in html
    assert f'href="/campaigns/{campaign.slug}/updates/feed/"' in html
    assert f'action="/campaigns/{campaign.slug}/subscribe/"' in html
