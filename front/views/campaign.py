"""Public pages of a campaign. They compose the campaign with its donation totals."""

from __future__ import annotations

import json

from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaign import selectors, services
from campaign.models import Campaign
from donations import selectors as donation_selectors
from front import cache as page_cache
from front import ratelimits
from front.forms import SubscribeForm
from front.monthly import monthly_context
from front.pages import campaign_page_cached


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    campaign = selectors.campaign_active()
    if campaign is None:
        return render(request, "campaign/none.html", status=404)
    return redirect(campaign.get_absolute_url())


@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    return campaign_page_cached(request, slug=slug)


@require_GET
def totals_json(request: HttpRequest, slug: str) -> HttpResponse:
    if page_cache.enabled():
        # Kept serialised: the same bytes for every visitor until the next change.
        key = page_cache.page_key("totals.json", slug)
        body = page_cache.cached(key, lambda: _totals_body(slug))
    else:
        body = _totals_body(slug)
    if body is None:
        raise Http404("No such campaign.")
    return HttpResponse(body, headers=TOTALS_HEADERS)


TOTALS_HEADERS = {
    "Content-Type": "application/json",
    "Access-Control-Allow-Origin": "*",
    "Cache-Control": "public, max-age=15",
}


def _totals_body(slug: str) -> bytes | None:
    payload = _totals_payload(slug)
    return None if payload is None else json.dumps(payload).encode()


def _totals_payload(slug: str) -> dict[str, object] | None:
    campaign = selectors.campaign_by_slug(slug=slug)
    if campaign is None:
        return None
    t = donation_selectors.campaign_totals(campaign=campaign)
    return {
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
        "monthly_supporters": t.monthly_supporters,
        "monthly_amount": f"{t.monthly_amount.amount:.2f}",
    }


@require_GET
def progress_fragment(request: HttpRequest, slug: str) -> HttpResponse:
    """The progress block alone, for the page's 15-second refresh."""
    campaign = get_object_or_404(Campaign, slug=slug)
    totals = donation_selectors.campaign_totals(campaign=campaign)
    context = {
        "campaign": campaign,
        "totals": totals,
        **monthly_context(campaign=campaign, totals=totals),
    }
    response = render(request, "campaign/_progress.html", context)
    response["Cache-Control"] = "public, max-age=10"
    return response


# --- Updates and subscriptions (public) ------------------------------------------------------


@require_GET
def update_list(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    page = Paginator(selectors.updates_visible(campaign=campaign), 10).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "campaign/updates.html",
        {"campaign": campaign, "page": page, "updates": page.object_list},
    )


@require_GET
def update_detail(request: HttpRequest, slug: str, update: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    found = selectors.update_by_ref(campaign=campaign, ref=update)
    if found is None:
        raise Http404("No such update.")  # a draft or a scheduled post is not there yet
    if found.slug != update:
        return redirect(found.get_absolute_url(), permanent=True)
    return render(
        request,
        "campaign/update_detail.html",
        {"campaign": campaign, "update": found, "subscribe_form": SubscribeForm()},
    )


@require_POST
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "campaign/subscribe.html",
            {"campaign": campaign, "subscribe_form": form},
            status=400,
        )
    wait = ratelimits.subscribe_wait_seconds(request, email=form.cleaned_data["email"])
    if wait:
        return ratelimits.subscribe_limited_response(request, campaign, form, wait)
    services.subscriber_request(
        campaign=campaign,
        email=form.cleaned_data["email"],
        language=translation.get_language() or "en",
    )
    # The same answer for a new, pending or known address: the form reveals nobody.
    return render(request, "campaign/subscribe.html", {"campaign": campaign, "sent": True})


@require_GET
def subscription_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = services.subscriber_confirm(token=token)
    except signing.BadSignature:
        return render(request, "campaign/subscription.html", {"invalid": True}, status=400)
    return render(
        request,
        "campaign/subscription.html",
        {"subscriber": subscriber, "campaign": subscriber.campaign, "confirmed": True},
    )


@csrf_exempt  # RFC 8058: mail providers POST "List-Unsubscribe=One-Click" without a form token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One click unsubscribes (the link in the email, or the provider's button); the page offers
    to undo it, in case a link scanner followed the link."""
    try:
        if request.method == "POST" and request.POST.get("action") == "resubscribe":
            subscriber = services.subscriber_resubscribe(token=token)
            return render(
                request,
                "campaign/subscription.html",
                {"subscriber": subscriber, "campaign": subscriber.campaign, "confirmed": True},
            )
        subscriber = services.subscriber_unsubscribe(token=token)
    except signing.BadSignature:
        return render(request, "campaign/subscription.html", {"invalid": True}, status=400)
    return render(
        request,
        "campaign/subscription.html",
        {
            "subscriber": subscriber,
            "campaign": subscriber.campaign,
            "unsubscribed": True,
            "token": token,
        },
    )
