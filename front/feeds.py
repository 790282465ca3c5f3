"""The updates feed (Atom) with Django's syndication framework: absolute links, real dates."""

from __future__ import annotations

from datetime import datetime

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.feedgenerator import Atom1Feed
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from campaign import selectors
from campaign.models import Campaign, Update
from core.rendering import markdown_to_html

FEED_LENGTH = 30


class UpdatesFeed(Feed):  # type: ignore[type-arg]
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, slug: str) -> Campaign:  # type: ignore[override]
        return get_object_or_404(Campaign, slug=slug)

    def title(self, obj: Campaign) -> str:
        return gettext("%(title)s: updates") % {"title": obj.title_local}

    def link(self, obj: Campaign) -> str:
        return obj.get_absolute_url()

    def subtitle(self, obj: Campaign) -> str:
        return obj.summary_local or gettext("News about the case from the organizer.")

    def author_name(self, obj: Campaign) -> str:
        return obj.organizer_name or obj.title_local

    def items(self, obj: Campaign) -> list[Update]:
        return list(
            selectors.updates_visible(campaign=obj).select_related("campaign")[:FEED_LENGTH]
        )

    def item_title(self, item: Update) -> str:
        return item.title_local

    def item_description(self, item: Update) -> SafeString:
        return markdown_to_html(item.body_local)

    def item_link(self, item: Update) -> str:
        return item.get_absolute_url()

    def item_guid(self, item: Update) -> str:
        # Stable even if the slug changes: the id link keeps working.
        return f"tag:{item.campaign.slug},update:{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Update) -> datetime:
        return item.published_at

    def item_updateddate(self, item: Update) -> datetime:
        return item.edited_at or item.published_at
