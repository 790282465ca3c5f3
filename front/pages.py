"""The campaign page, rendered by its own view and again by the donation form with its errors."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from campaign import selectors
from campaign.models import Campaign
from core.formatting import babel_locale, hours_format, money_format, number_format
from core.money import cad
from donations import selectors as donation_selectors
from donations.services.fees import fee_schedule
from front import cache as page_cache
from front.case_page import case_context
from front.forms import PRESET_AMOUNTS, DonationForm
from front.images import Progress
from front.monthly import monthly_context


def campaign_page(
    request: HttpRequest,
    *,
    campaign: Campaign,
    form: DonationForm | None = None,
    status: int = 200,
    extra: Mapping[str, object] | None = None,
) -> HttpResponse:
    totals = donation_selectors.campaign_totals(campaign=campaign)
    context = {
        "campaign": campaign,
        "totals": totals,
        **case_context(campaign=campaign, totals=totals),
        **monthly_context(campaign=campaign, totals=totals),
        "supporters": donation_selectors.public_gifts_recent(campaign=campaign, limit=5),
        "fee_schedule": fee_schedule(),
        **share_context(campaign=campaign),
        "latest_update": selectors.update_latest(campaign=campaign),
        "ledger": selectors.ledger_summary(campaign=campaign),
        "form": form or DonationForm(),
        "presets": PRESET_AMOUNTS,
        **example_context(campaign=campaign, form=form),
        **(extra or {}),
    }
    return render(request, "campaign/detail.html", context, status=status)


def campaign_page_cached(request: HttpRequest, *, slug: str) -> HttpResponse:
    """The campaign page as an anonymous visitor sees it, rendered once per change (see cache.py).

    Signed-in users and URLs with a query string are rendered afresh, so nothing personal or
    attacker-chosen is ever stored for everyone.
    """
    if not page_cache.enabled() or request.GET or request.user.is_authenticated:
        return campaign_page(request, campaign=_campaign_or_404(slug))
    key = page_cache.page_key("detail", slug, translation.get_language() or "")

    def build() -> str:
        response = campaign_page(
            request, campaign=_campaign_or_404(slug), extra=page_cache.placeholders()
        )
        return response.content.decode()

    html = page_cache.cached(key, build) or ""
    return HttpResponse(page_cache.personalise(html, request))


def example_context(*, campaign: Campaign, form: DonationForm | None) -> dict[str, object]:
    """What the typed amount (or $25 before anything is typed) buys: "$50 pays for 12 minutes"."""
    amount = cad(25)
    if form is not None and form.is_bound and not form.has_error("amount"):
        amount = form.cleaned_data.get("amount") or amount
    return {"example_amount": amount, "example_minutes": campaign.minutes_for(amount)}


def share_context(*, campaign: Campaign) -> dict[str, str]:
    """Absolute addresses for the share card, the embeddable widget and its badges."""
    site = settings.SITE_URL

    def url(name: str) -> str:
        return site + reverse(name, kwargs={"slug": campaign.slug})

    return {
        "page_url": url("campaign:detail"),
        "share_image_url": url("campaign:share_png"),
        "embed_url": url("campaign:embed"),
        "badge_svg_url": url("campaign:badge_svg"),
        "badge_png_url": url("campaign:badge_png"),
    }


def progress_picture(*, campaign: Campaign, totals: donation_selectors.Totals) -> Progress:
    """The progress as the images show it, formatted in the active language."""
    donors = ngettext("%(n)s donor", "%(n)s donors", totals.donor_count) % {"n": totals.donor_count}
    whole_percent = number_format(Decimal(int(totals.percent)), places=0)
    funded = gettext("%(time)s of legal work funded") % {"time": hours_format(totals.hours_funded)}
    return Progress(
        title=campaign.title_local,
        headline=gettext("%(raised)s of %(goal)s")
        % {"raised": money_format(totals.raised), "goal": money_format(totals.community_goal)},
        # Whole percent rounded down: the image never shows 100 % before the goal is met.
        percent_text=f"{whole_percent}\u00a0%"
        if babel_locale() == "fr_CA"
        else f"{whole_percent}%",
        detail=f"{donors} · {funded}",
        bar_percent=totals.bar_percent,
    )


def _campaign_or_404(slug: str) -> Campaign:
    campaign = selectors.campaign_by_slug(slug=slug)
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign
