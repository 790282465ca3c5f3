"""The donor's own page ("Manage my gifts"): signed in by an emailed link, no account.

`/my-gifts/` asks for an email and answers the same whether or not it is known. The emailed link
(donations.services.donor_access) starts a short session for that email and redirects to a clean
address, so the token stays out of the history and of any referrer. Every page here is private:
never stored by a cache (`Cache-Control: private, no-store`, and no `cached_response`) and never
indexed. Following a valid link answers with `Referrer-Policy: no-referrer`; the other pages
send a referrer to this site only (`same-origin`, the site's default): under `no-referrer` a
browser posts a form with `Origin: null`, which Django's CSRF check refuses, and their addresses
carry no secret (a refused link's page shows a dead token, with the language switcher's form).
Every action is a POST (CSRF) naming a gift by its unguessable reference, and checks that the
gift is this donor's before doing anything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.client_ip import client_ip
from donations.models import ErasureRequest
from donations.selectors import donors as donor_selectors
from donations.services import donor_access, donor_display, pledges, privacy
from donations.services.donor_access import DonorPass
from front import ratelimits
from front.my_gifts_forms import DisplayForm, MyGiftsSignInForm
from front.views import my_gifts_monthly

logger = logging.getLogger(__name__)

SESSION_KEY = "my_gifts"
# How long the page stays open after the link was followed (an absolute limit, not idle time).
SESSION_SECONDS = 30 * 60

View = Callable[..., HttpResponse]


class SeeOther(HttpResponseRedirect):
    status_code = 303


def private_page(view: View) -> View:
    """Never cached, never indexed; a referrer only to this site unless the view says none."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return wrapped


def signed_in(request: HttpRequest) -> DonorPass | None:
    """The donor this session stands for, while its link is still the newest and not too old."""
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict) or float(data.get("until", 0)) < timezone.now().timestamp():
        return None
    donor = DonorPass(email=str(data.get("email", "")), nonce=str(data.get("nonce", "")))
    return donor if donor_access.donor_pass_current(donor) else None


def donor_required(view: Callable[..., HttpResponse]) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        donor = signed_in(request)
        if donor is None:
            request.session.pop(SESSION_KEY, None)
            if request.method == "POST":
                return render(request, "my_gifts/signed_out.html", status=403)
            return HttpResponseRedirect(reverse("donations:my_gifts"))
        return view(request, donor, *args, **kwargs)

    return private_page(wrapped)


def _page() -> str:
    return reverse("donations:my_gifts_page")


def _minutes() -> int:
    return max(1, settings.MY_GIFTS_LINK_MAX_AGE // 60)


# --- Signing in ----------------------------------------------------------------------------------


@private_page
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and signed_in(request) is not None:
        return HttpResponseRedirect(_page())
    form = MyGiftsSignInForm(request.POST or None)
    context: dict[str, object] = {"form": form, "minutes": _minutes()}
    if request.method != "POST":
        return render(request, "my_gifts/start.html", context)
    if not form.is_valid():
        return render(request, "my_gifts/start.html", context, status=400)
    email = form.cleaned_data["email"]
    wait = ratelimits.my_gifts_wait_seconds(request, email=email)
    if wait:
        logger.warning("Sign-in link requests rate-limited for %s", client_ip(request))
        context["wait_minutes"] = max(1, -(-wait // 60))
        response = render(request, "my_gifts/start.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response
    # Known or not, the same job is queued and the same page answers (no enumeration).
    donor_access.donor_link_request(email=email, language=translation.get_language() or "en")
    return render(request, "my_gifts/start.html", {**context, "sent": True})


@private_page
@require_GET
def open_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        donor = donor_access.donor_link_open(token=token)
    except donor_access.LinkInvalid:
        return render(request, "my_gifts/link_invalid.html", status=400)
    except donor_access.LinkExpired:
        return render(request, "my_gifts/link_invalid.html", {"expired": True}, status=410)
    request.session.cycle_key()  # a new session id: nobody holding the old one rides along
    request.session[SESSION_KEY] = {
        "email": donor.email,
        "nonce": donor.nonce,
        "until": timezone.now().timestamp() + SESSION_SECONDS,
    }
    response = SeeOther(_page())
    response["Referrer-Policy"] = "no-referrer"
    return response


@private_page
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return SeeOther(reverse("donations:my_gifts"))


# --- The page ------------------------------------------------------------------------------------


def gifts_page(
    request: HttpRequest,
    donor: DonorPass,
    *,
    forms: dict[str, object] | None = None,
    status: int = 200,
    **extra: object,
) -> HttpResponse:
    gifts = donor_selectors.donor_gifts(email=donor.email)
    forms = forms or {}
    donations = [
        (d, forms.get(f"d-{d.public_id}") or DisplayForm.for_gift(d)) for d in gifts.donations
    ]
    monthly = my_gifts_monthly.monthly_rows(donor.email, forms)
    erasure = ErasureRequest.objects.filter(email=donor.email, confirmed_at__isnull=True).first()
    context = {
        "donor_email": donor.email,
        "donations": donations,
        "pledges": gifts.pledges,
        "monthly": monthly,
        "empty": gifts.empty and not monthly,
        "erasure": erasure,
        "receipt_states": donor_selectors.RECEIPT_STATES,
        "pledge_cancellable": donor_selectors.PLEDGE_CANCELLABLE,
        **extra,
    }
    return render(request, "my_gifts/page.html", context, status=status)


@donor_required
@require_GET
def page(request: HttpRequest, donor: DonorPass) -> HttpResponse:
    if request.GET.get("card") == "updated":  # back from Checkout (setup mode)
        messages.info(
            request,
            gettext(
                "Thank you. Your new card is used from the next renewal, once Stripe confirms."
            ),
        )
        return HttpResponseRedirect(_page())
    return gifts_page(request, donor)


@donor_required
@require_GET
def receipt(request: HttpRequest, donor: DonorPass, ref: object) -> HttpResponse:
    donation = donor_selectors.donor_donation(email=donor.email, ref=ref)
    if donation is None or donation.state not in donor_selectors.RECEIPT_STATES:
        raise Http404("No such receipt.")
    return render(
        request, "my_gifts/receipt.html", {"donation": donation, "campaign": donation.campaign}
    )


# --- Actions -------------------------------------------------------------------------------------


@donor_required
@require_POST
def display(request: HttpRequest, donor: DonorPass, ref: object) -> HttpResponse:
    donation = donor_selectors.donor_donation(email=donor.email, ref=ref)
    if donation is None:
        raise Http404("No such gift.")
    form = DisplayForm.for_gift(donation, data=request.POST)
    if not form.is_valid():
        return gifts_page(request, donor, forms={f"d-{donation.public_id}": form}, status=400)
    data = form.cleaned_data
    donor_display.donation_display_change(
        donation=donation,
        shown_as=data["shown_as"],
        display_name=data["display_name"],
        show_amount=data["show_amount"],
        message=data["message"],
    )
    messages.success(request, gettext("Saved. The list of supporters shows your change now."))
    return SeeOther(f"{_page()}#gift-{donation.public_id}")


@donor_required
@require_POST
def pledge_cancel(request: HttpRequest, donor: DonorPass, ref: object) -> HttpResponse:
    pledge = donor_selectors.donor_pledge(email=donor.email, ref=ref)
    if pledge is None:
        raise Http404("No such pledge.")
    try:
        pledges.pledge_cancel(pledge=pledge)
    except pledges.PledgeError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, gettext("Your pledge is cancelled. Nothing will be charged for it.")
        )
    return SeeOther(f"{_page()}#pledge-{pledge.public_id}")


@donor_required
@require_POST
def data_export(request: HttpRequest, donor: DonorPass) -> HttpResponse:
    """The same export as `manage.py donor_data --export`."""
    data = privacy.donor_data_export(email=donor.email)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="my-gifts-data.json"'
    return response


@donor_required
@require_POST
def erasure(request: HttpRequest, donor: DonorPass) -> HttpResponse:
    if request.POST.get("confirm") != "yes":
        return gifts_page(request, donor, erasure_error=True, status=400)
    donor_access.erasure_request(email=donor.email, language=translation.get_language() or "en")
    messages.success(
        request,
        gettext("Your request is sent. The organizer confirms it, and we email you about it."),
    )
    return SeeOther(f"{_page()}#erasure")


# --- Monthly gifts (front/views/my_gifts_monthly.py) ---------------------------------------------


def _shown(request: HttpRequest, donor: DonorPass, outcome: object) -> HttpResponse:
    """The action's redirect, or the page again with the form it refused (400)."""
    if isinstance(outcome, HttpResponse):
        return outcome
    refused: dict[str, object] = outcome[1]  # type: ignore[index]
    return gifts_page(request, donor, forms=refused, status=400)


@donor_required
@require_POST
def monthly_cancel(request: HttpRequest, donor: DonorPass, ref: object) -> HttpResponse:
    return my_gifts_monthly.cancel(request, donor, ref)


@donor_required
@require_POST
def monthly_amount(request: HttpRequest, donor: DonorPass, ref: object) -> HttpResponse:
    return _shown(request, donor, my_gifts_monthly.amount_change(request, donor, ref))


@donor_required
@require_POST
def monthly_card(request: HttpRequest, donor: DonorPass, ref: object) -> HttpResponse:
    return my_gifts_monthly.card_update(request, donor, ref)


@donor_required
@require_POST
def monthly_display(request: HttpRequest, donor: DonorPass, ref: object) -> HttpResponse:
    return _shown(request, donor, my_gifts_monthly.display(request, donor, ref))
