"""With the page cache on, as production runs: what a moderator hides or an erasure removes is gone
from the very next public page, although those writes are queryset updates that send no post_save.

The cache is Redis when CACHE_URL names it (CI's second pass), the local-memory cache otherwise:
both are real caches, shared here by the test client's requests (never DummyCache)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import environ
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.money import cad
from donations.models import Donation
from front import cache as page_cache
from tests.support.factories import PledgeFactory, StageFactory, confirmed_donation

# Real commits, so the invalidation runs on commit as it does in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page_cache_on(settings) -> Iterator[None]:
    url = os.environ.get("CACHE_URL", "")
    if url.startswith("rediscache"):
        settings.CACHES = {"default": environ.Env.cache_url_config(url)}
    settings.PAGE_CACHE = True
    cache.clear()
    page_cache.local_reset()
    yield
    cache.clear()
    page_cache.local_reset()


def pages(campaign) -> list[str]:
    return [f"/campaigns/{campaign.slug}/", f"/campaigns/{campaign.slug}/supporters/"]


def cached_html(client: Client, path: str) -> str:
    """The page as the cache serves it: asked twice, the second answer comes from the cache."""
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    assert len(queries) == 0, "not served from the cache"
    return response.content.decode()


def test_a_message_hidden_by_the_admin_leaves_the_cached_pages_at_once(
    page_cache_on, campaign, admin_client
):
    donation = confirmed_donation(campaign, "20.00", display_name="Troll", message="Rude words")
    visitor = Client()
    for path in pages(campaign):
        assert "Rude words" in cached_html(visitor, path), path

    admin_client.post(
        "/admin/donations/donation/",
        {"action": "hide_messages", "_selected_action": [donation.pk]},
    )

    assert Donation.objects.get(pk=donation.pk).message_hidden
    for path in pages(campaign):
        page = visitor.get(path).content.decode()
        assert "Troll" in page and "Rude words" not in page, path

    admin_client.post(
        "/admin/donations/donation/",
        {"action": "show_messages", "_selected_action": [donation.pk]},
    )

    for path in pages(campaign):
        assert "Rude words" in visitor.get(path).content.decode(), path


def test_an_erased_donor_leaves_the_cached_pages_at_once(page_cache_on, campaign):
    confirmed_donation(
        campaign, "30.00", display_name="Visible Val", message="Go Val", email="val@example.org"
    )
    visitor = Client()
    for path in pages(campaign):
        page = cached_html(visitor, path)
        assert "Visible Val" in page and "Go Val" in page, path

    call_command("donor_data", "--email", "val@example.org", "--erase", stdout=io.StringIO())

    for path in pages(campaign):
        page = visitor.get(path).content.decode()
        assert "Visible Val" not in page and "Go Val" not in page, path
        assert "<strong>Anonymous</strong>" in page  # the gift stays, nameless


def test_an_erased_pledger_leaves_the_cached_pages_at_once(page_cache_on, campaign):
    stage = StageFactory.create(campaign=campaign, active=True)
    PledgeFactory.create(
        stage=stage, amount=cad("40"), email="pat@example.org", display_name="Pledging Pat",
        show_amount=True, charged=True,
    )  # fmt: skip
    visitor = Client()
    for path in pages(campaign):
        assert "Pledging Pat" in cached_html(visitor, path), path

    call_command("donor_data", "--email", "pat@example.org", "--erase", stdout=io.StringIO())

    for path in pages(campaign):
        assert "Pledging Pat" not in visitor.get(path).content.decode(), path
