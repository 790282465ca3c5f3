"""The campaign page, rendered by its own view and again by the donation form with its errors."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from donations import selectors as donation_selectors
from donations.forms import PRESET_AMOUNTS, DonationForm

from . import selectors
from .models import Campaign


def campaign_page(
    request: HttpRequest, *, campaign: Campaign, form: DonationForm | None = None, status: int = 200
) -> HttpResponse:
    totals = donation_selectors.campaign_totals(campaign=campaign)
    context = {
        "campaign": campaign,
        "totals": totals,
        "supporters": donation_selectors.recent_supporters(campaign=campaign, limit=5),
        "latest_update": selectors.update_latest(campaign=campaign),
        "form": form or DonationForm(),
        "presets": PRESET_AMOUNTS,
    }
    return render(request, "campaign/detail.html", context, status=status)
