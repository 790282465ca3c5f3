"""What other sites show of a campaign: the embeddable widget, the badges, the share card, the wall.

These compose the campaign with its donation totals, like the other public pages. Images are cached
for `WIDGET_CACHE_SECONDS` (in the shared cache and by browsers), so they are right within a minute
without redrawing a PNG for every forum page view.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.views.decorators.http import require_GET

from config.security import frame_embeddable
from donations import selectors as donation_selectors

from . import cache as page_cache
from . import images
from .models import Campaign
from .pages import progress_picture

WIDGET_CACHE_SECONDS = 60


def _cache_headers(response: HttpResponse, seconds: int = WIDGET_CACHE_SECONDS) -> HttpResponse:
    response["Cache-Control"] = f"public, max-age={seconds}"
    return response


@require_GET
@page_cache.cached_response("supporters")
def supporters(request: HttpRequest, slug: str) -> HttpResponse:
    """The donor wall: every public gift, newest first, as each donor chose to appear."""
    campaign = get_object_or_404(Campaign, slug=slug)
    wall = donation_selectors.donor_wall(campaign=campaign, page=request.GET.get("page", 1))
    return render(request, "campaign/supporters.html", {"campaign": campaign, "wall": wall})


@require_GET
@frame_embeddable  # no X-Frame-Options, CSP frame-ancestors from EMBED_FRAME_ANCESTORS
def embed(request: HttpRequest, slug: str) -> HttpResponse:
    """A small progress card meant for an <iframe> on the forum or any other site."""
    campaign = get_object_or_404(Campaign, slug=slug)
    totals = donation_selectors.campaign_totals(campaign=campaign)
    response = render(
        request,
        "campaign/embed.html",
        {
            "campaign": campaign,
            "totals": totals,
            "page_url": settings.SITE_URL + campaign.get_absolute_url(),
        },
    )
    return _cache_headers(response, 30)


@require_GET
@page_cache.cached_response("badge.svg")
def badge_svg(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    totals = donation_selectors.campaign_totals(campaign=campaign)
    picture = progress_picture(campaign=campaign, totals=totals)
    response = render(
        request,
        "campaign/badge.svg",
        {"picture": picture, "fill_width": int(380 * float(picture.bar_percent) / 100)},
        content_type="image/svg+xml; charset=utf-8",
    )
    return _cache_headers(response)


def _cached_png(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    language = translation.get_language() or settings.LANGUAGE_CODE
    key = f"campaign:{kind}:{slug}:{language}"
    data = page_cache.safe_get(key)
    if data is None:
        campaign = get_object_or_404(Campaign, slug=slug)
        totals = donation_selectors.campaign_totals(campaign=campaign)
        picture = progress_picture(campaign=campaign, totals=totals)
        if kind == "badge":
            data = images.badge_png(picture)
        else:
            host = settings.SITE_URL.split("://", 1)[-1]
            data = images.share_png(picture, site=host)
        page_cache.safe_set(key, data, timeout=WIDGET_CACHE_SECONDS)
    return _cache_headers(HttpResponse(data, content_type="image/png"))


@require_GET
def badge_png(request: HttpRequest, slug: str) -> HttpResponse:
    """The badge as a PNG, for forum signatures that only accept images."""
    return _cached_png(request, slug, "badge")


@require_GET
def share_png(request: HttpRequest, slug: str) -> HttpResponse:
    """The 1200×630 Open Graph / Twitter card image."""
    return _cached_png(request, slug, "share")
