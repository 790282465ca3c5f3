"""The campaign page in two parts (front/pages.py): the frame (story, updates, ledger, form, the
stages' texts) rendered once per edit, the figures (totals, stages' progress, supporters) once per
change. With the page cache on, an edit still shows on the very next page, and a counted gift
re-renders the figures alone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaign.models import Campaign
from core.money import cad
from front import cache as page_cache
from front import personal
from tests.support.factories import PledgeFactory, StageFactory, UpdateFactory, confirmed_donation

PAGE = "/campaigns/legal-defense-fund/"
# Per change: the totals row and the recent supporters, plus the stages' pledges (one query) once
# any pledge exists.
FIGURES_QUERIES = 2


@pytest.fixture
def page_cache_on(settings: Any) -> None:
    settings.PAGE_CACHE = True
    page_cache.local_reset()


def page(client: Client) -> str:
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.content.decode()


pytestmark = pytest.mark.django_db(transaction=True)


def test_a_story_edit_shows_on_the_next_page(page_cache_on: None, campaign: Campaign) -> None:
    client = Client()
    assert "Nouvelle **histoire**" not in page(client)
    campaign.story = "A new **chapter** of the story."
    campaign.save()
    html = page(client)
    assert "A new <strong>chapter</strong> of the story." in html


def test_an_update_and_its_edit_show_on_the_next_page(
    page_cache_on: None, campaign: Campaign
) -> None:
    client = Client()
    assert "The hearing is set" not in page(client)
    update = UpdateFactory.create(campaign=campaign, title="The hearing is set", body="On *May 4*.")
    html = page(client)
    assert "The hearing is set" in html and "On <em>May 4</em>." in html
    update.body = "Moved to *June 1*."
    update.save()
    html = page(client)
    assert "Moved to <em>June 1</em>." in html and "May 4" not in html


def test_a_stage_edit_shows_on_the_next_page(page_cache_on: None, campaign: Campaign) -> None:
    client = Client()
    stage = StageFactory.create(campaign=campaign, title="Appeal")
    assert "Appeal" in page(client)
    stage.title = "Appeal to the Court of Appeal"
    stage.save()
    assert "Appeal to the Court of Appeal" in page(client)


def test_the_first_pledge_and_a_closure_show_on_the_next_page(
    page_cache_on: None, campaign: Campaign
) -> None:
    """The frame knows whether any pledge exists (no pledge: no pledge query per render) and
    keeps the final accounts: the first pledge and the closure each drop it."""
    from donations.models import CaseClosure

    stage = StageFactory.create(campaign=campaign, title="Trial preparation")
    client = Client()
    assert "1 pledge" not in page(client)
    PledgeFactory.create(stage=stage, amount=cad("75.00"))
    html = page(client)
    assert "$75.00" in html and "1 pledge" in html
    assert "Final accounts" not in html
    CaseClosure.objects.create(
        campaign=campaign, rule="refund", raised=cad("0"), fees=cad("0"), spent=cad("0"),
        recovered=cad("0"), surplus=cad("0"), refunded=cad("0"), given=cad("0"), state="done",
    )  # fmt: skip
    assert "Final accounts" in page(client)


def test_a_gift_renders_the_figures_alone_and_shows_at_once(
    page_cache_on: None, campaign: Campaign
) -> None:
    StageFactory.create(campaign=campaign, funding=True, title="Motion to dismiss")
    UpdateFactory.create(campaign=campaign, title="We filed", body="The *motion* is filed.")
    client = Client()
    first = page(client)
    assert "The <em>motion</em> is filed." in first
    confirmed_donation(campaign, "40.00", email="a@example.ca", display_name="Ada")
    with CaptureQueriesContext(connection) as captured:
        html = page(client)
    # The new figures and supporter, in the frame rendered before the gift.
    assert "$40.00" in html and "Ada" in html
    assert "The <em>motion</em> is filed." in html and "Motion to dismiss" in html
    tables = " ".join(q["sql"] for q in captured.captured_queries)
    assert len(captured.captured_queries) == FIGURES_QUERIES, tables
    assert "campaign_update" not in tables and "campaign_stage" not in tables
    # Nothing but the figures differs from the page before the gift.
    assert html.count("<!--live:") == 0 and first.count("<!--live:") == 0


def test_the_cached_page_is_the_page_rendered_in_one_go(
    page_cache_on: None, campaign: Campaign, settings: Any
) -> None:
    """The frame and figures put together give exactly the page a signed-out visitor got when
    it was rendered whole (only the per-visitor CSRF token and nonce differ)."""
    StageFactory.create(campaign=campaign, funding=True)
    UpdateFactory.create(campaign=campaign)
    confirmed_donation(campaign, "12.00", email="b@example.ca", display_name="Bea")
    cached = page(Client())
    settings.PAGE_CACHE = False
    whole = page(Client())

    assert _normalise(cached) == _normalise(whole)


def _normalise(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "TOKEN", html)
    return re.sub(r'nonce="[^"]*"', "NONCE", html)


def _every_kind_of_stage(campaign: Campaign) -> None:
    """Stages in each state and with each notice, titles that need escaping, a pledge, a ledger,
    a community size, monthly gifts and two milestones passed: every branch of the live parts."""
    from datetime import timedelta

    from django.utils import timezone

    from campaign.models import StageState
    from tests.support.factories import LegalCostFactory
    from tests.support.factories.monthly import MonthlyGiftFactory

    campaign.member_count = 4600
    campaign.save()
    StageFactory.create(
        campaign=campaign, title="Answer & \"reply\"", title_fr="Réponse à l'avis",
        description="Two <b>letters</b>\nand a call.", done=True, position=1,
    )  # fmt: skip
    StageFactory.create(campaign=campaign, title="Motion", funding=True, position=2)
    trial = StageFactory.create(campaign=campaign, title="Trial", position=3)
    PledgeFactory.create(stage=trial, amount=cad("75.00"))
    StageFactory.create(campaign=campaign, title="Appeal", all_or_nothing_target=True, position=4)
    StageFactory.create(
        campaign=campaign, title="Late", all_or_nothing_target=True, position=5,
        deadline_missed_at=timezone.now(), pledge_deadline=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    StageFactory.create(campaign=campaign, title="Dropped", cancelled=True, position=6)
    StageFactory.create(
        campaign=campaign, title="Flat", estimated_hours=None, flat_amount=cad("900.00"),
        state=StageState.POSSIBLE, position=7,
    )  # fmt: skip
    LegalCostFactory.create(campaign=campaign)
    MonthlyGiftFactory.create(campaign=campaign, active=True, amount=cad("30.00"))
    confirmed_donation(campaign, "800.00", email="c@example.ca", display_name="Cé & <Co>")
    confirmed_donation(campaign, "5.00", email="d@example.ca", anonymous=True, display_name="")


@pytest.mark.parametrize("prefix", ["", "/fr"])
def test_every_live_part_is_the_page_rendered_in_one_go(
    page_cache_on: None, campaign: Campaign, settings: Any, prefix: str
) -> None:
    """In English and in French: the stages' texts and notices rendered once per edit, the
    progress label and milestones computed in Python, each the same as the template made them."""
    _every_kind_of_stage(campaign)
    cached = Client().get(prefix + PAGE).content.decode()
    settings.PAGE_CACHE = False
    whole = Client().get(prefix + PAGE).content.decode()
    assert _normalise(cached) == _normalise(whole)
    assert cached.count('class="stage stage-') == 7
    french = prefix == "/fr"
    # 805 of 1,500: two milestones passed, the labels in the page's language.
    assert cached.count('<li class="reached">') == 2
    assert ("50\u00a0% atteint" if french else "50% reached") in cached
    assert ("1 promesse" if french else "1 pledge") in cached
    assert ("Réponse à l&#x27;avis" if french else "Answer &amp; &quot;reply&quot;") in cached
    assert "Two &lt;b&gt;letters&lt;/b&gt;<br>and a call." in cached


def test_the_final_accounts_are_the_page_rendered_in_one_go(
    page_cache_on: None, campaign: Campaign, settings: Any
) -> None:
    """Kept with the frame (a closure and a stage's spending are both edits): the same lines,
    each stage's spending included, as the page rendered whole."""
    from tests.support.factories import CaseClosureFactory

    _every_kind_of_stage(campaign)
    CaseClosureFactory.create(campaign=campaign, cause="")
    cached = page(Client())
    assert 'data-field="final-spent">' in cached and "Final accounts" in cached
    settings.PAGE_CACHE = False
    assert _normalise(cached) == _normalise(page(Client()))


def test_the_fast_csrf_token_is_djangos_format_for_the_cookie_secret(rf: Any) -> None:
    from django.middleware.csrf import (  # type: ignore[attr-defined]
        CSRF_ALLOWED_CHARS,
        _unmask_cipher_token,
    )

    request = rf.get(PAGE)
    first = personal.csrf_token(request)
    secret = request.META["CSRF_COOKIE"]
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    second = personal.csrf_token(request)  # the same visitor: same secret, a new mask
    assert len(first) == len(second) == 64 and first != second
    assert set(first + second + secret) <= set(CSRF_ALLOWED_CHARS)
    assert _unmask_cipher_token(first) == _unmask_cipher_token(second) == secret
    # Every character can come out (uniform over the 62): 2,000 draws miss none.
    assert set("".join(personal._random_chars(32) for _ in range(63))) == set(CSRF_ALLOWED_CHARS)


def test_a_signed_in_visitor_gets_the_page_rendered_for_them(
    page_cache_on: None, campaign: Campaign, admin_client: Client
) -> None:
    """No session cookie: anonymous, served from the cache without loading the user. With one,
    the user is loaded and a signed-in visitor's page is rendered for them."""
    anonymous = Client()
    page(anonymous)  # fills the cache
    with CaptureQueriesContext(connection) as captured:
        page(anonymous)
    assert len(captured.captured_queries) == 0
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(PAGE)
    assert response.status_code == 200
    tables = " ".join(q["sql"] for q in captured.captured_queries)
    assert "auth_user" in tables and "campaign_campaign" in tables  # rendered afresh, for them
