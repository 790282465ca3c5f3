from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from campaign import services as campaign_services
from campaign.models import Campaign
from core.client_ip import client_ip
from core.formatting import minutes_format
from donations import gateway, selectors, services
from donations.models import Donation, DonationState
from front import ratelimits
from front.forms import DonationForm
from front.pages import campaign_page
from front.ratelimits import busy_response
from front.views import monthly
from front.views.checkout_pages import SeeOther, checkout_response

logger = logging.getLogger(__name__)


def _donation_or_404(public_id: object) -> Donation:
    donation = selectors.donation_by_public_id(public_id=str(public_id))
    if donation is None:
        raise Http404("No such donation.")
    return donation


def _checkout_redirect(request: HttpRequest, donation: Donation) -> HttpResponse:
    thanks = reverse("donations:thanks", kwargs={"public_id": donation.public_id})
    cancel = reverse("donations:cancelled", kwargs={"public_id": donation.public_id})
    return checkout_response(
        request,
        donation.campaign,
        lambda: services.checkout_begin(
            donation=donation,
            success_url=request.build_absolute_uri(thanks) + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=request.build_absolute_uri(cancel),
            locale="fr" if (translation.get_language() or "").startswith("fr") else "en",
        ),
        what=f"donation {donation.pk}",
        donation=donation,
    )


@require_POST
def donate(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    wait = ratelimits.donation_wait_seconds(request, count=False)
    if wait:
        return ratelimits.rate_limited_response(request, campaign, wait)
    form = DonationForm(request.POST)
    if not campaign.is_active:
        form.add_error(None, gettext("This campaign no longer accepts donations."))
    if not form.is_valid():
        if form.has_error(NON_FIELD_ERRORS, "honeypot"):
            logger.warning("Honeypot filled on %s from %s", slug, client_ip(request))
        return campaign_page(request, campaign=campaign, form=form, status=400)
    wait = ratelimits.donation_wait_seconds(request, count=True)
    if wait:
        return ratelimits.rate_limited_response(request, campaign, wait)
    busy = 0 if gateway.is_demo() else services.checkout_wait_seconds()
    if busy:
        # Before any row is written: a refused start leaves nothing pending.
        return busy_response(request, campaign, busy, resubmit=request.POST)
    data = form.cleaned_data
    if data.get("frequency") == "monthly":
        response = monthly.monthly_begin(request, campaign=campaign, data=data)
        _subscribe(data, campaign)
        return response
    donation = services.donation_start(
        campaign=campaign,
        amount=data["amount"],
        display_name=data["display_name"],
        message=data["message"],
        anonymous=data["anonymous"],
        show_amount=data["show_amount"],
        email=data["email"],
        language=translation.get_language() or "en",
        cover_fees=data.get("cover_fees", False),
    )
    _subscribe(data, campaign)
    return _checkout_redirect(request, donation)


def _subscribe(data: dict[str, Any], campaign: Campaign) -> None:
    if data.get("subscribe") and data["email"]:
        campaign_services.subscriber_request(
            campaign=campaign, email=data["email"], language=translation.get_language() or "en"
        )


@require_POST
def checkout_retry(request: HttpRequest, public_id: object) -> HttpResponse:
    """ "Try again" after the payment service failed: the same pending donation, the same
    idempotency key, so a session Stripe opened despite the error is reused, never doubled."""
    donation = _donation_or_404(public_id)
    if donation.state != DonationState.PENDING or gateway.is_demo():
        return redirect(donation.campaign.get_absolute_url())
    wait = ratelimits.donation_wait_seconds(request, count=True)
    if wait:
        return ratelimits.rate_limited_response(request, donation.campaign, wait)
    busy = services.checkout_wait_seconds()
    if busy:
        return busy_response(request, donation.campaign, busy, donation=donation)
    return _checkout_redirect(request, donation)


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
    # A cancelled donation is still asked about: the member may have gone back and paid.
    unconfirmed = (DonationState.PENDING, DonationState.PROCESSING, DonationState.CANCELLED)
    waiting = (DonationState.PENDING, DonationState.PROCESSING)
    if (
        donation.state in unconfirmed
        and not gateway.is_demo()
        and session_id
        and session_id == donation.checkout_session_id
    ):
        # The member may close this tab before the webhook arrives; asking Stripe here means
        # the gift counts at once, and the same fulfilment service keeps it from counting twice.
        try:
            result = gateway.checkout_session_retrieve(session_id=session_id)
            # Only a paid session counts from here. An unpaid one is left to the webhooks: the
            # session may still be open (this address can be typed before paying), and a bank
            # debit is reported by checkout.session.completed, then async_payment_succeeded.
            if result.payment_status in ("paid", "no_payment_required"):
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
            "buys": minutes_format(donation.campaign.minutes_for(donation.amount)),
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
