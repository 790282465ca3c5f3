"""What a visitor gets when a Checkout Session is asked for: the redirect to Stripe, or the page
saying why not. One place for every kind of gift (one-off, monthly), so each gets the same pages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from campaign.models import Campaign
from donations import gateway
from front.ratelimits import busy_response

logger = logging.getLogger(__name__)


class SeeOther(HttpResponseRedirect):
    status_code = 303


def checkout_response(
    request: HttpRequest,
    campaign: Campaign,
    begin: Callable[[], gateway.CheckoutRedirect],
    *,
    what: str,
    donation: object = None,
    resubmit: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Run `begin` (it opens the session) and answer: 303 to Checkout; on Stripe's rate limit the
    429 "many people are giving" page (it created nothing: "Try again" re-sends the pending
    `donation`, same idempotency key, or the form's fields `resubmit`); on any other failure the
    503 page, the pending row kept for reconciliation and "Try again"."""
    try:
        checkout = begin()
    except gateway.GatewayBusy as error:
        logger.warning("Checkout for %s rate-limited by Stripe: %s", what, error)
        return busy_response(
            request, campaign, error.retry_after, donation=donation, resubmit=resubmit
        )
    except gateway.GatewayError as error:
        logger.error("Checkout for %s failed: %s", what, error)
        return render(
            request,
            "donations/unavailable.html",
            {"campaign": campaign, "donation": donation},
            status=503,
        )
    return SeeOther(checkout.url)
