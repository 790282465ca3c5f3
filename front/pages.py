"""The campaign page, rendered by its own view and again by the donation form with its errors."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import engines
from django.template.backends.django import Template
from django.template.loader import render_to_string
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
from front.case_page import CaseFrame, case_context, case_frame
from front.forms import PRESET_AMOUNTS, DonationForm
from front.images import Progress
from front.monthly import monthly_context
from front.templatetags.live import FRAME_FLAG, marker

# The parts of the campaign page that change with the figures (each a `{% live %}` include in
# campaign/detail.html): re-rendered for every change. The rest, the *frame* (the story's Markdown,
# the latest update, the ledger, the form, the final accounts, the stages' texts), is rendered
# once per edit.
LIVE_BLOCKS = (
    "campaign/_share_meta.html",
    "campaign/_progress.html",
    "campaign/_community.html",
    "campaign/_stages.html",
    "campaign/_supporters.html",
    "campaign/_ledger_figures.html",  # inside the ledger: only when the campaign has one
)
_SPLIT = "<!--live-split-->"
# In the frame's key: a deploy that changes what `Frame` holds never reads an older one.
FRAME_VERSION = "v4"


@dataclass(frozen=True)
class Frame:
    """The campaign page rendered once per edit, with a marker for each live part, and what the
    live parts need that only an edit changes."""

    html: str
    campaign: Campaign
    values: dict[str, object]  # the frame's values the live parts show too (the ledger, links)
    case: CaseFrame


def figures_context(*, campaign: Campaign, case: CaseFrame | None = None) -> dict[str, object]:
    """What the live parts show: the totals, the stages' progress, the recent supporters."""
    totals = donation_selectors.campaign_totals(campaign=campaign)
    return {
        "campaign": campaign,
        "totals": totals,
        **case_context(campaign=campaign, totals=totals, frame=case),
        **monthly_context(campaign=campaign, totals=totals),
        "supporters": donation_selectors.public_gifts_recent(campaign=campaign, limit=5),
    }


def frame_context(
    *, campaign: Campaign, form: DonationForm | None, case: CaseFrame
) -> dict[str, object]:
    """What the rest of the page shows: changed only by an edit."""
    return {
        "campaign": campaign,
        "fee_schedule": fee_schedule(),
        **share_context(campaign=campaign),
        **links_context(campaign=campaign),
        "closure": case.closure,
        "case_stages": case.stages,
        "latest_update": selectors.update_latest(campaign=campaign),
        "ledger": selectors.ledger_summary(campaign=campaign),
        "form": form or DonationForm(),
        "presets": PRESET_AMOUNTS,
        **example_context(campaign=campaign, form=form),
    }


def campaign_page(
    request: HttpRequest,
    *,
    campaign: Campaign,
    form: DonationForm | None = None,
    status: int = 200,
    extra: Mapping[str, object] | None = None,
) -> HttpResponse:
    """The whole page in one render (signed-in visitors, the form with its errors)."""
    case = case_frame(campaign=campaign)
    context = {
        **frame_context(campaign=campaign, form=form, case=case),
        **figures_context(campaign=campaign, case=case),
        **(extra or {}),
    }
    return render(request, "campaign/detail.html", context, status=status)


def campaign_page_cached(request: HttpRequest, *, slug: str) -> HttpResponse:
    """The campaign page as an anonymous visitor sees it, rendered once per change (see cache.py).

    Signed-in users and URLs with a query string are rendered afresh, so nothing personal or
    attacker-chosen is ever stored for everyone.
    """
    if not page_cache.enabled() or page_cache.has_query(request) or page_cache.signed_in(request):
        return campaign_page(request, campaign=_campaign_or_404(slug))
    key = page_cache.page_key("detail", slug, translation.get_language() or "")
    html = page_cache.cached(key, lambda: campaign_page_render(request, slug=slug)) or ""
    return HttpResponse(page_cache.personalise(html, request))


def campaign_page_render(request: HttpRequest, *, slug: str) -> str:
    """What each change costs: the live parts rendered into the frame, itself rendered once per
    edit (`page_cache.content_key`), with the per-visitor parts as placeholders."""
    language = translation.get_language() or ""
    frame_key = page_cache.content_key("frame", FRAME_VERSION, "detail", slug, language)
    frame = page_cache.cached_part(frame_key, lambda: _frame_render(request, slug))
    context = {
        **frame.values,
        **figures_context(campaign=frame.campaign, case=frame.case),
        **page_cache.placeholders(),
    }
    html = frame.html
    parts = _live_template().render(context, request).split(_SPLIT)
    for name, part in zip(LIVE_BLOCKS, parts, strict=True):
        html = html.replace(marker(name), part, 1)
    return html


def _frame_render(request: HttpRequest, slug: str) -> Frame:
    campaign = _campaign_or_404(slug)
    case = case_frame(campaign=campaign)
    context = {
        **frame_context(campaign=campaign, form=None, case=case),
        **page_cache.placeholders(),
        FRAME_FLAG: True,
    }
    html = render_to_string("campaign/detail.html", context, request)
    # The ledger's figures line shows the hours billed; the share card and supporters, links.
    values = {
        "ledger": context["ledger"],
        **share_context(campaign=campaign),
        **links_context(campaign=campaign),
    }
    return Frame(html, campaign, values, case)


@functools.cache
def _live_template() -> Template:
    source = _SPLIT.join(f'{{% include "{name}" %}}' for name in LIVE_BLOCKS)
    return engines["django"].from_string(source)  # type: ignore[return-value]


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


def links_context(*, campaign: Campaign) -> dict[str, str]:
    """The page's own links the live parts show, resolved once per edit rather than per change."""
    return {"supporters_url": reverse("campaign:supporters", kwargs={"slug": campaign.slug})}


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
