"""Across the two web hosts: a change committed through web1 shows on web2 within the page cache's
documented delay, and one member's donation attempts are limited across both hosts."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from donations.models import Donation, DonationState
from front import cache as page_cache
from tests.cluster.cluster import Cluster, wait_until
from tests.cluster.members import DIRECT, donation_form, post_donation, start_donation
from tests.cluster.network import MEMBERS
from tests.support.factories import CampaignFactory

pytestmark = [pytest.mark.cluster, pytest.mark.postgres]


def raised(cluster: Cluster, host: str, slug: str) -> str:
    client = cluster.web_client(host, source=MEMBERS[0])
    status, _, body = client.request("GET", f"/campaigns/{slug}/totals.json", headers=DIRECT)
    assert status == 200, (host, status)
    return str(json.loads(body)["raised"])


def test_a_gift_confirmed_through_web1_shows_on_web2_within_the_documented_delay(
    cluster, cluster_db
):
    campaign = CampaignFactory.create(slug="cache-across-hosts")
    slug = campaign.slug
    assert raised(cluster, "web2", slug) == "0.00"  # web2 has it cached now
    assert raised(cluster, "web2", slug) == "0.00"

    # A member donates through web1 and comes back to web1's thanks page, which confirms the gift
    # with Stripe and commits it there.
    member = cluster.web_client("web1", source=MEMBERS[1])
    headers = DIRECT
    status, response = start_donation(member, cluster, slug, amount="40", headers=headers)
    assert status in (302, 303), status
    session_id = urlsplit(response["location"]).path.rsplit("/", 1)[-1]
    assert cluster.fake is not None
    cluster.fake.complete(session_id)
    donation = Donation.objects.get(checkout_session_id=session_id)
    thanks = f"/donations/{donation.public_id}/thanks/?session_id={session_id}"
    status, _, _ = member.request("GET", thanks, headers=headers)
    assert status == 200
    committed = time.monotonic()
    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED

    def web2_shows_it() -> bool:
        return raised(cluster, "web2", slug) == "40.00" and b'"raised">$40.00<' in page(
            cluster, slug
        )

    wait_until(web2_shows_it, timeout=10, every=0.05, what="web2 to show the gift")
    first_seen = time.monotonic() - committed
    # Each web process trusts the generation it read for GENERATION_SECONDS: after that, every
    # request to web2, whichever of its processes answers, shows the gift.
    time.sleep(max(0.0, committed + page_cache.GENERATION_SECONDS + 0.2 - time.monotonic()))
    assert all(web2_shows_it() for _ in range(8))
    cluster.log(
        f"page cache: web1 committed a $40.00 gift; web2 showed it after {first_seen:.2f}s, "
        f"on every request after {page_cache.GENERATION_SECONDS:.1f}s (documented delay)"
    )
    assert first_seen <= page_cache.GENERATION_SECONDS + 0.5  # plus a request's own time


def page(cluster: Cluster, slug: str) -> bytes:
    headers = DIRECT
    status, _, body = cluster.web_client("web2", source=MEMBERS[0]).request(
        "GET", f"/campaigns/{slug}/", headers=headers
    )
    assert status == 200
    return body


def served(cluster: Cluster, host: str, path: str) -> int:
    log = cluster.read_log(host, "access")
    return len(re.findall(rf'"POST {re.escape(path)} HTTP/[\d.]+" (?:303|429)', log))


def test_one_members_attempts_are_limited_across_both_web_hosts(cluster, cluster_db):
    campaign = CampaignFactory.create(slug="limits-across-hosts")
    path = f"/campaigns/{campaign.slug}/donate/"
    assert cluster.fake is not None
    sessions_before = len(cluster.fake.requests_to("POST", "/v1/checkout/sessions"))
    limit = int(settings.DONATION_RATE_LIMIT.split("/")[0])
    member = cluster.lb_client(source=MEMBERS[2])  # one browser, one address, through lb
    # A card-testing bot: loads the form once, then posts it again and again. The balancer
    # spreads the posts over both web hosts.
    form = donation_form(member, cluster, campaign.slug)
    statuses = [post_donation(member, cluster, campaign.slug, form)[0] for _ in range(limit + 4)]

    reached = len(cluster.fake.requests_to("POST", "/v1/checkout/sessions")) - sessions_before

    # gunicorn writes an access-log line just after its response: give the last one a moment.
    def by_host() -> dict[str, int]:
        return {host: served(cluster, host, path) for host in ("web1", "web2")}

    wait_until(lambda: sum(by_host().values()) >= len(statuses), timeout=5, what="access logs")
    served_by = by_host()
    cluster.log(f"rate limit {settings.DONATION_RATE_LIMIT}: {len(statuses)} attempts through lb "
                f"-> {statuses}; served by {served_by}; {reached} reached Stripe")  # fmt: skip
    assert statuses == [303] * limit + [429] * 4
    assert reached == limit
    assert all(served_by.values()), served_by  # both hosts took attempts, and counted them together
    assert sum(served_by.values()) == limit + 4
