"""The public pages read a fixed, small number of rows whatever the number of donations.

Totals come from the counter row, supporters from an index-ordered LIMIT: nothing here may grow with
the donations. With the page cache on (production, Redis), a repeat visit reads nothing at all,
and any change that shows on the page drops the cached copy.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaign.models import Campaign
from front import cache as page_cache
from tests.support.factories import confirmed_donation

# Campaign, totals row, stages, closure, supporters, latest update, ledger and goal history: 8
# today, with a little headroom for small additions. It must never depend on the donations.
MAX_PAGE_QUERIES = 10
MAX_TOTALS_QUERIES = 2

PAGE = "/campaigns/legal-defense-fund/"
TOTALS = "/campaigns/legal-defense-fund/totals.json"


def queries_for(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries)


def give(campaign: Campaign, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        confirmed_donation(campaign, "10.00", email=f"member{n}@example.ca", display_name=f"M{n}")


@pytest.mark.parametrize(
    ("path", "limit"), [(PAGE, MAX_PAGE_QUERIES), (TOTALS, MAX_TOTALS_QUERIES)]
)
def test_queries_do_not_grow_with_donations(
    client: Client, campaign: Campaign, path: str, limit: int
) -> None:
    give(campaign, 2)
    few = queries_for(client, path)
    give(campaign, 25, start=2)
    many = queries_for(client, path)
    assert few == many
    assert many <= limit


def test_totals_json_within_the_pinned_count(
    client: Client, campaign: Campaign, django_assert_max_num_queries: Any
) -> None:
    give(campaign, 3)
    with django_assert_max_num_queries(MAX_TOTALS_QUERIES):
        assert client.get(TOTALS).json()["raised"] == "30.00"


@pytest.fixture
def page_cache_on(settings: Any) -> None:
    settings.PAGE_CACHE = True
    page_cache.local_reset()


@pytest.mark.django_db(transaction=True)
def test_cached_page_reads_nothing_and_drops_on_a_new_gift(
    page_cache_on: None, campaign: Campaign
) -> None:
    client = Client()
    give(campaign, 1)
    first = client.get(PAGE)
    assert "$10.00" in first.content.decode()
    assert queries_for(client, PAGE) == 0
    assert queries_for(client, TOTALS) <= MAX_TOTALS_QUERIES  # first time: built and stored
    assert queries_for(client, TOTALS) == 0

    confirmed_donation(campaign, "15.00", email="late@example.ca")

    assert client.get(TOTALS).json()["raised"] == "25.00"
    assert "$25.00" in client.get(PAGE).content.decode()


@pytest.mark.django_db(transaction=True)
def test_cached_page_gives_each_visitor_a_working_csrf_token(
    page_cache_on: None, campaign: Campaign, donor: dict[str, str]
) -> None:
    Client().get(PAGE)  # someone else's visit fills the cache
    visitor = Client(enforce_csrf_checks=True)
    html = visitor.get(PAGE).content.decode()
    assert page_cache.CSRF_PLACEHOLDER not in html
    assert page_cache.NONCE_PLACEHOLDER not in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token is not None
    response = visitor.post(
        f"/campaigns/{campaign.slug}/donate/", {**donor, "csrfmiddlewaretoken": token.group(1)}
    )
    assert response.status_code == 303


@pytest.mark.django_db(transaction=True)
def test_pending_donations_keep_the_cached_page(page_cache_on: None, campaign: Campaign) -> None:
    """The donation rush creates pending rows: they are invisible, so the page stays cached."""
    client = Client()
    client.get(PAGE)
    generation = page_cache._generation()
    client.post(f"/campaigns/{campaign.slug}/donate/", {"amount": "25"})
    assert page_cache._generation() == generation


@pytest.mark.django_db(transaction=True)
def test_donor_wall_and_badge_are_cached_until_a_gift_counts(
    page_cache_on: None, campaign: Campaign
) -> None:
    client = Client()
    give(campaign, 1)
    wall = f"/campaigns/{campaign.slug}/supporters/"
    badge = f"/campaigns/{campaign.slug}/badge.svg"
    assert "M0" in client.get(wall).content.decode()
    first_badge = client.get(badge)
    assert first_badge["Content-Type"].startswith("image/svg+xml")
    assert queries_for(client, wall) == 0
    assert queries_for(client, badge) == 0
    html = client.get(wall).content.decode()
    assert page_cache.CSRF_PLACEHOLDER not in html

    confirmed_donation(campaign, "15.00", email="late@example.ca", display_name="Latecomer")

    assert "Latecomer" in client.get(wall).content.decode()
    assert client.get(badge).content != first_badge.content
