"""The organizer's own text in French: shown on the French site, in French feeds and emails, with
the English as the fallback wherever the French is left empty."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, cast

import pytest
from django.core import mail
from django.utils import translation

from campaign import tasks
from campaign.demo import DEMO_SLUG
from campaign.models import Campaign, Stage, StageState, Subscriber, SubscriberState, Update
from campaign.services import campaign_seed_demo
from donations.emails import receipt_send
from front import cache as page_cache
from tests.support.factories import DonationFactory, UpdateFactory

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def new_update(**fields: Any) -> Update:
    return cast(Update, UpdateFactory(**fields))


def french(campaign: Campaign) -> Campaign:
    campaign.title_fr = "Fonds de défense"
    campaign.summary_fr = "Aidez le forum à se défendre."
    campaign.story_fr = "On se **bat** contre une mise en demeure."
    campaign.save()
    return campaign


def test_localized_picks_french_only_when_french_is_active_and_filled(campaign):
    french(campaign)
    with translation.override("fr"):
        assert campaign.localized("story") == "On se **bat** contre une mise en demeure."
        assert campaign.title_local == "Fonds de défense"
    with translation.override("en"):
        assert campaign.story_local == "We are **fighting** a cease-and-desist."
    campaign.story_fr = "   "
    with translation.override("fr"):
        assert campaign.story_local == "We are **fighting** a cease-and-desist."


def test_french_page_shows_the_french_text_and_the_english_page_the_english(client, campaign):
    french(campaign)
    Stage.objects.create(
        campaign=campaign,
        position=1,
        title="Answer the letters",
        title_fr="Répondre aux lettres",
        description="Eight hours.",
        description_fr="Huit heures.",
        estimated_hours=8,
        state=StageState.FUNDING,
    )
    new_update(campaign=campaign, title="Hearing set", title_fr="Audience fixée", body_fr="Le 3.")

    fr = client.get(f"/fr/campaigns/{campaign.slug}/").content.decode()
    assert "<h1>Fonds de défense</h1>" in fr
    assert "Aidez le forum à se défendre." in fr
    assert "On se <strong>bat</strong> contre une mise en demeure." in fr
    assert "Répondre aux lettres" in fr and "Huit heures." in fr
    assert "Audience fixée" in fr
    assert "fighting" not in fr and "Answer the letters" not in fr

    en = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "<h1>Legal Defense Fund</h1>" in en
    assert "We are <strong>fighting</strong> a cease-and-desist." in en
    assert "Answer the letters" in en and "Hearing set" in en
    assert "Fonds de défense" not in en and "Audience fixée" not in en


def test_french_page_falls_back_to_english_when_the_french_is_empty(client, campaign):
    new_update(campaign=campaign, title="Hearing set", body="The court **set** a date.")

    fr = client.get(f"/fr/campaigns/{campaign.slug}/").content.decode()
    assert "<h1>Legal Defense Fund</h1>" in fr
    assert "We are <strong>fighting</strong> a cease-and-desist." in fr
    assert "Hearing set" in fr
    detail = client.get(f"/fr/campaigns/{campaign.slug}/updates/").content.decode()
    assert "The court <strong>set</strong> a date." in detail


def test_update_detail_in_french(client, campaign):
    update = new_update(
        campaign=campaign, slug="audience", title_fr="Audience fixée", body_fr="Le **3 mars**."
    )
    html = client.get(f"/fr/campaigns/{campaign.slug}/updates/audience/").content.decode()
    assert "<h1>Audience fixée</h1>" in html
    assert "Le <strong>3 mars</strong>." in html
    assert (
        update.title in client.get(f"/campaigns/{campaign.slug}/updates/audience/").content.decode()
    )


def test_french_feed_carries_french_titles_and_bodies(client, campaign):
    french(campaign)
    new_update(campaign=campaign, title="Hearing set", title_fr="Audience fixée", body_fr="Le 3.")
    new_update(campaign=campaign, title="Only in English", body="English **only**.")

    feed = ET.fromstring(  # noqa: S314 - our own response
        client.get(f"/fr/campaigns/{campaign.slug}/updates/feed/").content
    )
    assert feed.findtext(f"{ATOM}title") == "Fonds de défense\u00a0: nouvelles"
    titles = {
        e.findtext(f"{ATOM}title"): e.findtext(f"{ATOM}summary") for e in feed.iter(f"{ATOM}entry")
    }
    assert titles == {
        "Audience fixée": "<p>Le 3.</p>",
        "Only in English": "<p>English <strong>only</strong>.</p>",
    }

    english = ET.fromstring(  # noqa: S314 - our own response
        client.get(f"/campaigns/{campaign.slug}/updates/feed/").content
    )
    assert english.findtext(f"{ATOM}title") == "Legal Defense Fund: updates"
    assert {e.findtext(f"{ATOM}title") for e in english.iter(f"{ATOM}entry")} == {
        "Hearing set",
        "Only in English",
    }


def test_update_email_is_in_each_subscribers_language(campaign):
    french(campaign)
    for email, language in (("fr@example.ca", "fr"), ("en@example.ca", "en")):
        Subscriber.objects.create(
            campaign=campaign, email=email, language=language, state=SubscriberState.CONFIRMED
        )
    update = new_update(
        campaign=campaign,
        title="Hearing set",
        body="The court set the **hearing**.",
        title_fr="Audience fixée",
        body_fr="La cour a fixé l’**audience**.",
    )
    mail.outbox.clear()

    tasks.update_fanout(update.pk)

    by_address = {m.to[0]: m for m in mail.outbox}
    fr = by_address["fr@example.ca"]
    assert fr.subject == "Audience fixée — Fonds de défense"
    assert "La cour a fixé l’**audience**." in fr.body
    assert "<strong>audience</strong>" in fr.alternatives[0].content  # type: ignore[attr-defined]
    assert "/fr/campaigns/" in fr.body
    en = by_address["en@example.ca"]
    assert en.subject == "Hearing set — Legal Defense Fund"
    assert "The court set the **hearing**." in en.body
    assert "Audience" not in en.body


def test_receipt_names_the_campaign_in_the_donors_language(campaign):
    french(campaign)
    receipt_send(DonationFactory.create(campaign=campaign, language="fr", email="fr@example.org"))
    receipt_send(DonationFactory.create(campaign=campaign, language="en", email="en@example.org"))
    by_address = {m.to[0]: m for m in mail.outbox}
    assert "Fonds de défense" in by_address["fr@example.org"].subject
    assert "Legal Defense Fund" in by_address["en@example.org"].subject


def test_french_markdown_is_sanitised(client, campaign):
    campaign.story_fr = 'Bonjour <script>alert("x")</script> [lien](javascript:alert(1)) **gras**'
    campaign.save()
    new_update(campaign=campaign, slug="u", body_fr="Salut <script>alert(2)</script><img src=x>")

    html = client.get(f"/fr/campaigns/{campaign.slug}/").content.decode()
    assert "<strong>gras</strong>" in html
    assert 'alert("x")' not in html and "javascript:alert" not in html
    detail = client.get(f"/fr/campaigns/{campaign.slug}/updates/u/").content.decode()
    assert "alert(2)" not in detail and "<img" not in detail
    feed = client.get(f"/fr/campaigns/{campaign.slug}/updates/feed/").content.decode()
    assert "alert(2)" not in feed and "&lt;script" not in feed


def test_seed_writes_french_and_fills_it_once_for_an_older_seed(db):
    campaign, created = campaign_seed_demo()
    assert created
    with translation.override("fr"):
        assert campaign.title_local == "Fonds de défense juridique de Maple Swarm"
        assert "46\u00a0000 membres" in campaign.story_local
    stages = list(Stage.objects.filter(campaign=campaign).order_by("position"))
    assert [s.title_fr for s in stages] == ["Réponse aux mises en demeure", "Préparation du procès"]
    update = Update.objects.get(campaign=campaign, slug="letters-received")
    assert update.title_fr == "Mise en demeure reçue\u00a0: on se bat"

    # A campaign seeded before the French fields existed: the seed fills them, once.
    Campaign.objects.filter(pk=campaign.pk).update(title_fr="", summary_fr="", story_fr="")
    Stage.objects.filter(campaign=campaign).update(title_fr="", description_fr="")
    Update.objects.filter(pk=update.pk).update(title_fr="", body_fr="")
    again, created = campaign_seed_demo()
    assert not created and again.pk == campaign.pk
    again.refresh_from_db()
    assert again.title_fr == "Fonds de défense juridique de Maple Swarm" and again.story_fr
    assert again.summary_fr.startswith("Aidez un forum québécois")
    assert set(Stage.objects.values_list("title_fr", flat=True)) == {
        "Réponse aux mises en demeure",
        "Préparation du procès",
    }
    assert all(Stage.objects.values_list("description_fr", flat=True))
    update.refresh_from_db()
    assert update.title_fr and update.body_fr.startswith("Les lettres de quatre")

    # The organizer's own French is kept; a third run changes nothing.
    Campaign.objects.filter(pk=campaign.pk).update(title_fr="Notre fonds")
    campaign_seed_demo()
    assert Campaign.objects.get(slug=DEMO_SLUG).title_fr == "Notre fonds"
    assert Campaign.objects.count() == 1 and Stage.objects.count() == 2
    assert Update.objects.filter(campaign=campaign).count() == 1


@pytest.mark.django_db(transaction=True)
def test_cached_pages_are_kept_apart_by_language(client, campaign, settings):
    settings.PAGE_CACHE = True
    page_cache.local_reset()
    french(campaign)
    for _ in range(2):  # the second round is served from the cache
        assert (
            "<h1>Fonds de défense</h1>"
            in client.get(f"/fr/campaigns/{campaign.slug}/").content.decode()
        )
        assert (
            "<h1>Legal Defense Fund</h1>"
            in client.get(f"/campaigns/{campaign.slug}/").content.decode()
        )
    fr_badge = client.get(f"/fr/campaigns/{campaign.slug}/badge.svg").content.decode()
    en_badge = client.get(f"/campaigns/{campaign.slug}/badge.svg").content.decode()
    assert "Fonds de défense" in fr_badge and "Legal Defense Fund" in en_badge
    assert "Fonds de défense" not in en_badge

    # Editing the French story drops the cached French page.
    campaign.story_fr = "Nouvelle histoire."
    campaign.save()
    assert "Nouvelle histoire." in client.get(f"/fr/campaigns/{campaign.slug}/").content.decode()


def test_admin_shows_the_french_fields_beside_the_english(admin_client, campaign):
    stage = Stage.objects.create(campaign=campaign, title="Trial")
    update = new_update(campaign=campaign)
    for url, names in (
        (f"/admin/campaign/campaign/{campaign.pk}/change/", ("title_fr", "summary_fr", "story_fr")),
        (f"/admin/campaign/update/{update.pk}/change/", ("title_fr", "body_fr")),
        (f"/admin/campaign/stage/{stage.pk}/change/", ("title_fr", "description_fr")),
    ):
        page = admin_client.get(url).content.decode()
        assert all(f'name="{name}"' in page for name in names), url
