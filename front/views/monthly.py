"""Monthly gifts on the public side: Checkout in subscription mode, the thank-you page, and the
demo gateway's stand-ins for Checkout (no money moves)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from campaign.models import Campaign
from donations import gateway, selectors, services
from donations.models import MonthlyGift, MonthlyStatus
from front.views.checkout_pages import SeeOther, checkout_response

logger = logging.getLogger(__name__)

MONTH_SECONDS = 30 * 24 * 3600


def _gift_or_404(public_id: object) -> MonthlyGift:
    gift = selectors.monthly_gift_by_public_id(public_id=str(public_id))
    if gift is None:
        raise Http404("No such monthly gift.")
    return gift


def monthly_begin(
    request: HttpRequest, *, campaign: Campaign, data: dict[str, Any]
) -> HttpResponse:
    """The donation form chose "every month": a pending gift, then Checkout in subscription mode."""
    gift = services.monthly_start(
        campaign=campaign,
        amount=data["amount"],
        email=data["email"],
        display_name=data["display_name"],
        message=data["message"],
        anonymous=data["anonymous"],
        show_amount=data["show_amount"],
        language=translation.get_language() or "en",
        cover_fees=data.get("cover_fees", False),
        until_covered=data.get("until_covered", False),
    )
    thanks = reverse("donations:monthly_thanks", kwargs={"public_id": gift.public_id})
    return checkout_response(
        request,
        campaign,
        lambda: services.monthly_checkout_begin(
            gift=gift,
            success_url=request.build_absolute_uri(thanks) + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=request.build_absolute_uri(campaign.get_absolute_url()),
            locale="fr" if (translation.get_language() or "").startswith("fr") else "en",
        ),
        what=f"monthly gift {gift.pk}",
        resubmit=request.POST,
    )


def monthly_thanks(request: HttpRequest, public_id: object) -> HttpResponse:
    gift = _gift_or_404(public_id)
    session_id = request.GET.get("session_id", "")
    if (
        gift.status == MonthlyStatus.PENDING
        and not gateway.is_demo()
        and session_id
        and session_id == gift.checkout_session_id
    ):
        # As for a one-off gift: the first month counts at once, whoever reports it first.
        try:
            checkout = gateway.subscription_checkout_retrieve(session_id=session_id)
            services.monthly_events.monthly_checkout_complete(checkout=checkout)
            gift.refresh_from_db()
        except (gateway.GatewayError, services.DonationNotFound) as error:
            logger.warning("Could not confirm monthly gift %s from its page: %s", gift.pk, error)
    return render(
        request,
        "donations/monthly_thanks.html",
        {
            "gift": gift,
            "campaign": gift.campaign,
            "waiting": gift.status == MonthlyStatus.PENDING,
            "demo": gateway.is_demo(),
        },
    )


@require_http_methods(["GET", "POST"])
def monthly_demo(request: HttpRequest, public_id: object) -> HttpResponse:
    """The demo's Checkout for a monthly gift; once it runs, a button plays next month's renewal."""
    if not gateway.is_demo():
        raise Http404("The demo gateway is off.")
    gift = _gift_or_404(public_id)
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("pay", "renew") and gift.status not in (
            MonthlyStatus.ENDING,
            MonthlyStatus.ENDED,
        ):
            number = gift.donations.count() + 1
            services.monthly_events.monthly_invoice_paid(
                invoice=gateway.demo_invoice(
                    monthly_ref=str(gift.public_id),
                    number=number,
                    amount=gift.amount,
                    period_end=int(time.time()) + number * MONTH_SECONDS,
                )
            )
        elif action == "cancel" and gift.status == MonthlyStatus.PENDING:
            return SeeOther(gift.campaign.get_absolute_url())
        return SeeOther(reverse("donations:monthly_thanks", kwargs={"public_id": gift.public_id}))
    return render(request, "donations/monthly_demo.html", {"gift": gift})


@require_http_methods(["GET", "POST"])
def monthly_demo_card(request: HttpRequest, public_id: object) -> HttpResponse:
    """The demo's setup-mode Checkout: "saving" a card changes nothing, then goes back."""
    if not gateway.is_demo():
        raise Http404("The demo gateway is off.")
    gift = _gift_or_404(public_id)
    back = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("donations:monthly_thanks", kwargs={"public_id": gift.public_id})
    if request.method == "POST":
        if request.POST.get("action") == "save":
            services.monthly_events.monthly_card_updated(
                update=gateway.CardUpdate(
                    session_id=f"demo_card_{gift.public_id}",
                    monthly_ref=str(gift.public_id),
                    subscription_id=gift.subscription_id,
                    setup_intent_id=f"demo_seti_{gift.public_id}",
                )
            )
        return SeeOther(back)
    return render(request, "donations/monthly_demo_card.html", {"gift": gift, "back": back})
