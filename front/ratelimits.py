"""Rate limits on the public forms: starting a donation (card testing) per IP address and per
session; asking for updates by email (mail to strangers) per IP address and per target address.

Counters live in the cache (django-ratelimit's fixed windows): Redis in production, so every web
process shares them. A member who hits the limit sees when to try again; a cache outage lets
donations through (logged) rather than turning every member away.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext
from django_ratelimit.core import get_usage

from campaign.models import Campaign
from core.client_ip import client_ip
from core.outages import CACHE_ERRORS
from donations.models import donor_key_for

logger = logging.getLogger(__name__)

GROUP = "donations.start"
SUBSCRIBE_GROUP = "campaign.subscribe"


def _session_key(group: str, request: HttpRequest) -> str:
    if not request.session.session_key:
        # A first visit has no session yet: create one, so the limit follows this browser.
        request.session.save()
    return f"session:{request.session.session_key}"


def _usages(request: HttpRequest, *, increment: bool) -> list[dict[str, object]]:
    usages = []
    for key in ("ip", _session_key):
        usage = get_usage(
            request,
            group=GROUP,
            key=key,
            rate=settings.DONATION_RATE_LIMIT,
            method="POST",
            increment=increment,
        )
        if usage is not None:
            usages.append(usage)
    return usages


def donation_wait_seconds(request: HttpRequest, *, count: bool) -> int:
    """Seconds until this client may start another donation, 0 if it may now.

    With `count`, this attempt is counted (call it only for an attempt about to reach the payment
    service); without, the counters are only read.
    """
    try:
        usages = _usages(request, increment=count)
    except CACHE_ERRORS:  # only a cache outage lets an attempt through, never a bad address
        logger.exception(
            "Rate-limit cache unavailable; donation attempt from %s allowed", client_ip(request)
        )
        return 0
    waits = []
    for usage in usages:
        limit = int(usage["limit"])  # type: ignore[call-overload]
        used = int(usage["count"])  # type: ignore[call-overload]
        over = used > limit if count else used >= limit
        if over:
            waits.append(max(int(usage["time_left"]), 1))  # type: ignore[call-overload]
    return max(waits, default=0)


# Sign-in links to the donor's page: each sends an email, so per client address and per target
# address (hashed: no address is written to the cache), whether or not the address is known.
MY_GIFTS_GROUP = "donations.my_gifts"
MY_GIFTS_IP_RATE = "10/h"
MY_GIFTS_ADDRESS_RATE = "3/h"


def my_gifts_wait_seconds(request: HttpRequest, *, email: str) -> int:
    """Seconds until this client may ask for another sign-in link to `email`; counts this one."""
    address = f"address:{donor_key_for(email)}"
    limits = (("ip", MY_GIFTS_IP_RATE), (lambda group, request: address, MY_GIFTS_ADDRESS_RATE))
    waits = []
    try:
        for key, rate in limits:
            usage = get_usage(
                request, group=MY_GIFTS_GROUP, key=key, rate=rate, method="POST", increment=True
            )
            if usage is not None and int(usage["count"]) > int(usage["limit"]):
                waits.append(max(int(usage["time_left"]), 1))
    except CACHE_ERRORS:  # only a cache outage lets a request through
        logger.exception(
            "Rate-limit cache unavailable; sign-in link request from %s allowed", client_ip(request)
        )
        return 0
    return max(waits, default=0)


def rate_limited_response(
    request: HttpRequest, campaign: Campaign | None, wait_seconds: int
) -> HttpResponse:
    """429 with when to try again: card-testing bots stop here, before any payment request."""
    logger.warning("Donation attempts rate-limited for %s", client_ip(request))
    minutes = max(1, -(-wait_seconds // 60))
    response = render(
        request,
        "donations/rate_limited.html",
        {
            "campaign": campaign,
            "wait_minutes": minutes,
            "retry_at": timezone.localtime() + timedelta(seconds=wait_seconds),
        },
        status=429,
    )
    response["Retry-After"] = str(wait_seconds)
    return response


# --- Asking for updates by email ---------------------------------------------------------------


def _address_key(email: str) -> Callable[[str, HttpRequest], str]:
    # Hashed: no address is written to the cache.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return lambda group, request: f"address:{digest}"


def subscribe_wait_seconds(request: HttpRequest, *, email: str) -> int:
    """Seconds until this client may ask for a confirmation email to `email`, 0 if it may now.

    Counts this request (call it for a valid form only) against the client's address
    (`SUBSCRIBE_RATE_LIMIT`) and the target address (`SUBSCRIBE_ADDRESS_RATE_LIMIT`).
    """
    limits = (
        ("ip", settings.SUBSCRIBE_RATE_LIMIT),
        (_address_key(email), settings.SUBSCRIBE_ADDRESS_RATE_LIMIT),
    )
    waits = []
    try:
        for key, rate in limits:
            usage = get_usage(
                request, group=SUBSCRIBE_GROUP, key=key, rate=rate, method="POST", increment=True
            )
            if usage is not None and int(usage["count"]) > int(usage["limit"]):
                waits.append(max(int(usage["time_left"]), 1))
    except CACHE_ERRORS:  # only a cache outage lets a request through
        logger.exception(
            "Rate-limit cache unavailable; subscription request from %s allowed",
            client_ip(request),
        )
        return 0
    return max(waits, default=0)


def subscribe_limited_response(
    request: HttpRequest, campaign: Campaign, form: forms.Form, wait_seconds: int
) -> HttpResponse:
    """429 with the form and when to try again; the same answer whichever limit was reached."""
    logger.warning("Subscription requests rate-limited for %s", client_ip(request))
    minutes = max(1, -(-wait_seconds // 60))
    form.add_error(
        None,
        ngettext(
            "Too many subscription requests in a short time. Nothing was sent. "
            "You can try again in %(minutes)d minute.",
            "Too many subscription requests in a short time. Nothing was sent. "
            "You can try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
    )
    response = render(
        request,
        "campaign/subscribe.html",
        {"campaign": campaign, "subscribe_form": form},
        status=429,
    )
    response["Retry-After"] = str(wait_seconds)
    return response


def busy_response(
    request: HttpRequest,
    campaign: Campaign,
    wait_seconds: int,
    *,
    donation: object = None,
    resubmit: Mapping[str, str] | None = None,
) -> HttpResponse:
    """429 "many people are giving right now": the Checkout rate (ours or Stripe's) is reached.
    "Try again" re-sends the same gift: the pending `donation` (same idempotency key) when one was
    started, else the form's own fields (`resubmit`), so the donor types nothing again."""
    fields = [
        (name, value)
        for name, value in (resubmit or {}).items()
        if name != "csrfmiddlewaretoken" and isinstance(value, str)
    ]
    response = render(
        request,
        "donations/busy.html",
        {"campaign": campaign, "donation": donation, "fields": fields, "seconds": wait_seconds},
        status=429,
    )
    response["Retry-After"] = str(wait_seconds)
    return response
