"""The monthly gifts' part of the donor's page (front/views/my_gifts.py): cancel at period end,
change the amount, update the card (Checkout in setup mode), change how the gift appears.

Each action finds the gift among this donor's own (`monthly_gifts_for_email`) by its unguessable
reference, then calls the monthly services (donations.services.monthly) by the gift's id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext

from donations import gateway
from donations.models import MonthlyGift, MonthlyStatus
from donations.selectors import monthly_gifts_for_email
from donations.selectors.donors import RECEIPT_STATES
from donations.services import donor_display, monthly
from donations.services.donor_access import DonorPass
from front.my_gifts_forms import DisplayForm, MonthlyAmountForm

logger = logging.getLogger(__name__)

CHANGEABLE = (MonthlyStatus.ACTIVE, MonthlyStatus.PAST_DUE)


class SeeOther(HttpResponseRedirect):
    status_code = 303


@dataclass(frozen=True)
class MonthlyRow:
    gift: MonthlyGift
    display_form: DisplayForm
    amount_form: MonthlyAmountForm
    renewals: list[object]

    @property
    def changeable(self) -> bool:
        return self.gift.status in CHANGEABLE and bool(self.gift.subscription_id)

    @property
    def card_updatable(self) -> bool:
        return self.gift.status != MonthlyStatus.ENDED and bool(
            self.gift.subscription_id and self.gift.customer_id
        )


def _amount_form(gift: MonthlyGift, data: object = None) -> MonthlyAmountForm:
    return MonthlyAmountForm(
        data,  # type: ignore[arg-type]
        initial={"amount": f"{gift.gift.amount:.2f}"},
        prefix=f"a-{gift.public_id}",
    )


def monthly_rows(email: str, forms: dict[str, object] | None = None) -> list[MonthlyRow]:
    forms = forms or {}
    rows = []
    for gift in monthly_gifts_for_email(email):
        display_form = forms.get(f"m-{gift.public_id}")
        amount_form = forms.get(f"a-{gift.public_id}")
        rows.append(
            MonthlyRow(
                gift=gift,
                display_form=display_form
                if isinstance(display_form, DisplayForm)
                else DisplayForm.for_gift(gift, prefix=f"m-{gift.public_id}"),
                amount_form=amount_form
                if isinstance(amount_form, MonthlyAmountForm)
                else _amount_form(gift),
                renewals=list(
                    gift.donations.filter(state__in=RECEIPT_STATES).order_by("-created_at")
                ),
            )
        )
    return rows


def _gift_or_404(donor: DonorPass, ref: object) -> MonthlyGift:
    gift = monthly_gifts_for_email(donor.email).filter(public_id=str(ref)).first()
    if gift is None:
        raise Http404("No such monthly gift.")
    return gift


def _back(gift: MonthlyGift) -> SeeOther:
    return SeeOther(f"{reverse('donations:my_gifts_page')}#monthly-{gift.public_id}")


def _unavailable(request: HttpRequest, error: Exception) -> None:
    logger.error("Monthly gift change at Stripe failed: %s", error)
    messages.error(
        request,
        gettext("The payment service did not answer. Nothing was changed; please try again."),
    )


def cancel(request: HttpRequest, donor: DonorPass, ref: object) -> HttpResponse:
    gift = _gift_or_404(donor, ref)
    try:
        gift = monthly.monthly_cancel(gift_id=gift.pk, actor="donor")
    except gateway.GatewayError as error:
        _unavailable(request, error)
    else:
        messages.success(
            request,
            gettext(
                "Your monthly gift is cancelled. Nothing more will be charged; "
                "the month already paid still counts."
            ),
        )
    return _back(gift)


def amount_change(
    request: HttpRequest, donor: DonorPass, ref: object
) -> tuple[MonthlyGift, dict[str, object]] | HttpResponse:
    """A redirect when done, or the gift and its invalid form to show again (400)."""
    gift = _gift_or_404(donor, ref)
    form = _amount_form(gift, request.POST)
    if not form.is_valid():
        return gift, {f"a-{gift.public_id}": form}
    try:
        monthly.monthly_amount_change(gift_id=gift.pk, amount=form.cleaned_data["amount"])
    except monthly.MonthlyRefused:
        messages.error(request, gettext("This monthly gift can no longer change its amount."))
    except gateway.GatewayError as error:
        _unavailable(request, error)
    else:
        messages.success(request, gettext("Your new monthly amount starts with the next renewal."))
    return _back(gift)


def card_update(request: HttpRequest, donor: DonorPass, ref: object) -> HttpResponse:
    gift = _gift_or_404(donor, ref)
    page = request.build_absolute_uri(reverse("donations:my_gifts_page"))
    try:
        redirect = monthly.monthly_card_update_session(
            gift_id=gift.pk, success_url=f"{page}?card=updated", cancel_url=page
        )
    except monthly.MonthlyRefused:
        messages.error(request, gettext("This monthly gift has no card to update."))
        return _back(gift)
    except gateway.GatewayError as error:
        _unavailable(request, error)
        return _back(gift)
    return SeeOther(redirect.url)


def display(
    request: HttpRequest, donor: DonorPass, ref: object
) -> tuple[MonthlyGift, dict[str, object]] | HttpResponse:
    gift = _gift_or_404(donor, ref)
    form = DisplayForm.for_gift(gift, data=request.POST, prefix=f"m-{gift.public_id}")
    if not form.is_valid():
        return gift, {f"m-{gift.public_id}": form}
    data = form.cleaned_data
    donor_display.monthly_display_change(
        gift=gift,
        shown_as=data["shown_as"],
        display_name=data["display_name"],
        show_amount=data["show_amount"],
        message=data["message"],
    )
    messages.success(request, gettext("Saved. The list of supporters shows your change now."))
    return _back(gift)
