"""Public pages of a campaign. They compose the campaign with its donation totals."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from donations import selectors as donation_selectors

from . import selectors
from .models import Campaign
from .pages import campaign_page


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    campaign = selectors.campaign_active()
    if campaign is None:
        return render(request, "campaign/none.html", status=404)
    return redirect(campaign.get_absolute_url())


@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    return campaign_page(request, campaign=campaign)


@require_GET
def totals_json(request: HttpRequest, slug: str) -> JsonResponse:
    campaign = selectors.campaign_by_slug(slug=slug)
    if campaign is None:
        raise Http404("No such campaign.")
    t = donation_selectors.campaign_totals(campaign=campaign)
    response = JsonResponse(
        {
            "campaign": campaign.slug,
            "currency": "CAD",
            "goal": f"{t.legal_cost.amount:.2f}",
            "community_goal": f"{t.community_goal.amount:.2f}",
            "raised": f"{t.raised.amount:.2f}",
            "remaining": f"{t.remaining.amount:.2f}",
            "hourly_rate": f"{t.hourly_rate.amount:.2f}",
            "donor_count": t.donor_count,
            "donation_count": t.donation_count,
            "percent": float(t.percent),
            "hours_funded": float(t.hours_funded),
        }
    )
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=15"
    return response


@require_GET
def progress_fragment(request: HttpRequest, slug: str) -> HttpResponse:
    """The progress block alone, for the page's 15-second refresh."""
    campaign = get_object_or_404(Campaign, slug=slug)
    totals = donation_selectors.campaign_totals(campaign=campaign)
    response = render(
        request, "campaign/_progress.html", {"campaign": campaign, "totals": totals}
    )
    response["Cache-Control"] = "public, max-age=10"
    return response
