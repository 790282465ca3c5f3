from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_http_methods, require_POST

from campaign.formatting import hours_format
from campaign.models import Campaign
from campaign.pages import campaign_page

from . import gateway, selectors, services
from .forms import DonationForm
from .models import Donation, DonationState

logger = logging.getLogger(__name__)


class SeeOther(HttpResponseRedirect):
    status_code = 303


def _donation_or_404(public_id: object) -> Donation:
    donation = selectors.donation_by_public_id(public_id=str(public_id))
    if donation is None:
        raise Http404("No such donation.")
    return donation


@require_POST
def donate(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    form = DonationForm(request.POST)
    if not campaign.is_active:
        form.add_error(None, "This campaign no longer accepts donations.")
    if not form.is_valid():
        return campaign_page(request, campaign=campaign, form=form, status=400)
    data = form.cleaned_data
    donation = services.donation_start(
        campaign=campaign,
        amount=data["amount"],
        display_name=data["display_name"],
        message=data["message"],
        anonymous=data["anonymous"],
        show_amount=data["show_amount"],
        email=data["email"],
        language=translation.get_language() or "en",
    )
    thanks = reverse("donations:thanks", kwargs={"public_id": donation.public_id})
    cancel = reverse("donations:cancelled", kwargs={"public_id": donation.public_id})
    try:
        checkout = services.checkout_begin(
            donation=donation,
            success_url=request.build_absolute_uri(thanks) + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=request.build_absolute_uri(cancel),
            locale="fr" if (translation.get_language() or "").startswith("fr") else "en",
        )
    except gateway.GatewayError as error:
        logger.error("Checkout for donation %s failed: %s", donation.pk, error)
        return render(
            request,
            "donations/unavailable.html",
            {"campaign": campaign, "donation": donation},
            status=503,
        )
    return SeeOther(checkout.url)


@require_http_methods(["GET", "POST"])
def demo_checkout(request: HttpRequest, public_id: object) -> HttpResponse:
    if not gateway.is_demo():
        raise Http404("The demo gateway is off.")
    donation = _donation_or_404(public_id)
    if request.method == "POST":
        if request.POST.get("action") == "pay":
            services.donation_fulfil(
                result=gateway.demo_result(
                    donation_ref=str(donation.public_id), amount=donation.amount
                )
            )
            return SeeOther(reverse("donations:thanks", kwargs={"public_id": donation.public_id}))
        return SeeOther(reverse("donations:cancelled", kwargs={"public_id": donation.public_id}))
    return render(request, "donations/demo_checkout.html", {"donation": donation})


def thanks(request: HttpRequest, public_id: object) -> HttpResponse:
    donation = _donation_or_404(public_id)
    session_id = request.GET.get("session_id", "")
    waiting = (DonationState.PENDING, DonationState.PROCESSING, DonationState.CANCELLED)
    if (
        donation.state in waiting
        and not gateway.is_demo()
        and session_id
        and session_id == donation.checkout_session_id
    ):
        # The member may close this tab before the webhook arrives; asking Stripe here means
        # the gift counts at once, and the same fulfilment service keeps it from counting twice.
        try:
            result = gateway.checkout_session_retrieve(session_id=session_id)
            donation = services.donation_fulfil(result=result)
        except (gateway.GatewayError, services.DonationNotFound) as error:
            logger.warning("Could not confirm %s from the success page: %s", donation.pk, error)
    return render(
        request,
        "donations/thanks.html",
        {
            "donation": donation,
            "campaign": donation.campaign,
            "confirmed": donation.is_counted,
            "buys": hours_format(donation.campaign.hours_for(donation.amount)),
            "waiting": donation.state in waiting and not donation.flag,
        },
    )


def cancelled(request: HttpRequest, public_id: object) -> HttpResponse:
    donation = _donation_or_404(public_id)
    donation = services.donation_cancel(donation=donation)
    if donation.is_counted:
        return redirect("donations:thanks", public_id=donation.public_id)
    return render(
        request, "donations/cancelled.html", {"donation": donation, "campaign": donation.campaign}
    )
