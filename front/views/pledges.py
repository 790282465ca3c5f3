"""Public pages for pledges: pledge toward a stage, save the card, cancel or finish from a link."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_http_methods

from campaign.models import Stage
from donations import gateway, services
from donations.models import Pledge, PledgeState
from donations.selectors import stages as stage_selectors
from donations.services import pledges
from front import ratelimits
from front.forms import PledgeForm

logger = logging.getLogger(__name__)


class SeeOther(HttpResponseRedirect):
    status_code = 303


def _locale() -> str:
    return "fr" if (translation.get_language() or "").startswith("fr") else "en"


def _pledge_or_404(public_id: object) -> Pledge:
    pledge = stage_selectors.pledge_by_public_id(public_id=str(public_id))
    if pledge is None:
        raise Http404("No such pledge.")
    return pledge


@require_http_methods(["GET", "POST"])
def pledge_new(request: HttpRequest, slug: str, stage_id: int) -> HttpResponse:
    stage: Stage = get_object_or_404(
        Stage.objects.select_related("campaign"), pk=stage_id, campaign__slug=slug
    )
    form = PledgeForm(request.POST or None)
    context = {"stage": stage, "campaign": stage.campaign, "form": form}
    if not stage.takes_pledges or not stage.campaign.is_active:
        return render(
            request, "donations/pledge_form.html", {**context, "closed": True}, status=409
        )
    if request.method != "POST" or not form.is_valid():
        return render(
            request, "donations/pledge_form.html", context, status=400 if form.is_bound else 200
        )
    # Saving a card is as useful to a card tester as a payment: the same limit applies.
    wait = ratelimits.donation_wait_seconds(request, count=True)
    if wait:
        return ratelimits.rate_limited_response(request, stage.campaign, wait)
    data = form.cleaned_data
    try:
        pledge = pledges.pledge_start(
            stage=stage,
            amount=data["amount"],
            email=data["email"],
            display_name=data["display_name"],
            anonymous=data["anonymous"],
            show_amount=data["show_amount"],
            language=translation.get_language() or "en",
        )
        saved = reverse("donations:pledge_saved", kwargs={"public_id": pledge.public_id})
        redirect = pledges.pledge_setup_begin(
            pledge=pledge,
            success_url=request.build_absolute_uri(saved) + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=request.build_absolute_uri(stage.campaign.get_absolute_url()),
            locale=_locale(),
        )
    except pledges.PledgeError as error:
        form.add_error(None, str(error))
        return render(request, "donations/pledge_form.html", context, status=400)
    except gateway.GatewayError as error:
        logger.error("Setup checkout for a pledge failed: %s", error)
        return render(
            request,
            "donations/unavailable.html",
            {"campaign": stage.campaign},
            status=503,
        )
    return SeeOther(redirect.url)


@require_http_methods(["GET", "POST"])
def pledge_demo_setup(request: HttpRequest, public_id: object) -> HttpResponse:
    """Stands in for Checkout in setup mode when the site runs without Stripe keys."""
    if not gateway.is_demo():
        raise Http404("The demo gateway is off.")
    pledge = _pledge_or_404(public_id)
    if request.method == "POST":
        if request.POST.get("action") == "save":
            pledges.pledge_setup_complete(
                result=gateway.demo_setup_result(pledge_ref=str(pledge.public_id))
            )
            return SeeOther(reverse("donations:pledge_saved", kwargs={"public_id": public_id}))
        return SeeOther(pledge.stage.campaign.get_absolute_url())
    return render(request, "donations/pledge_demo_setup.html", {"pledge": pledge})


def pledge_saved(request: HttpRequest, public_id: object) -> HttpResponse:
    pledge = _pledge_or_404(public_id)
    session_id = request.GET.get("session_id", "")
    if (
        pledge.state == PledgeState.SETUP
        and not gateway.is_demo()
        and session_id
        and session_id == pledge.checkout_session_id
    ):
        # As for donations: the member may leave before the webhook; both paths are idempotent.
        try:
            pledges.pledge_setup_complete(
                result=gateway.setup_session_retrieve(session_id=session_id)
            )
            pledge = _pledge_or_404(public_id)
        except (gateway.GatewayError, services.DonationNotFound) as error:
            logger.warning("Could not confirm pledge %s from the return page: %s", pledge.pk, error)
    return render(
        request,
        "donations/pledge_saved.html",
        {"pledge": pledge, "campaign": pledge.stage.campaign, "waiting": pledge.state == "setup"},
    )


@require_http_methods(["GET", "POST"])
def pledge_cancel(request: HttpRequest, public_id: object) -> HttpResponse:
    """From the signed link in the confirmation email: GET asks, POST cancels (link scanners only
    GET, so an email security scanner can never cancel a pledge)."""
    pledge = _pledge_or_404(public_id)
    token = request.POST.get("t") or request.GET.get("t", "")
    if not pledges.pledge_token_valid(pledge=pledge, token=token, salt=pledges.CANCEL_SALT):
        return render(request, "donations/pledge_link_invalid.html", status=403)
    context = {"pledge": pledge, "campaign": pledge.stage.campaign, "token": token}
    if request.method == "POST":
        try:
            pledge = pledges.pledge_cancel(pledge=pledge)
        except pledges.PledgeError as error:
            return render(
                request,
                "donations/pledge_cancel.html",
                {**context, "error": str(error)},
                status=409,
            )
        return render(request, "donations/pledge_cancel.html", {**context, "pledge": pledge})
    return render(request, "donations/pledge_cancel.html", context)


@require_http_methods(["GET", "POST"])
def pledge_pay(request: HttpRequest, public_id: object) -> HttpResponse:
    """From the email after an off-session charge needed authentication or was declined."""
    pledge = _pledge_or_404(public_id)
    token = request.POST.get("t") or request.GET.get("t", "")
    if not pledges.pledge_token_valid(pledge=pledge, token=token, salt=pledges.PAY_SALT):
        return render(request, "donations/pledge_link_invalid.html", status=403)
    context = {"pledge": pledge, "campaign": pledge.stage.campaign, "token": token}
    if request.method == "POST" and pledge.donation is not None:
        donation = pledge.donation
        thanks = reverse("donations:thanks", kwargs={"public_id": donation.public_id})
        try:
            redirect = pledges.pledge_finish_begin(
                pledge=pledge,
                success_url=request.build_absolute_uri(thanks)
                + "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=request.build_absolute_uri(request.get_full_path()),
                locale=_locale(),
            )
        except pledges.PledgeError as error:
            return render(
                request, "donations/pledge_pay.html", {**context, "error": str(error)}, status=409
            )
        except gateway.GatewayError as error:
            logger.error("Checkout to finish pledge %s failed: %s", pledge.pk, error)
            return render(
                request, "donations/unavailable.html", {"campaign": context["campaign"]}, status=503
            )
        return SeeOther(redirect.url)
    return render(request, "donations/pledge_pay.html", context)
