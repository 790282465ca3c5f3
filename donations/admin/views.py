"""Staff pages inside the admin: the totals dashboard, the CSV export and the refund step.

Routed from `DonationAdmin.get_urls`, wrapped in `admin_site.admin_view` (staff only, no cache).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaign.models import Campaign
from core.forms import parse_amount
from core.money import cad
from donations import selectors, services
from donations.admin import charts, exports
from donations.models import Donation


def dashboard(model_admin: ModelAdmin, request: HttpRequest, campaign_id: int) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    data = selectors.campaign_dashboard(campaign=campaign)
    points = selectors.chart_points(campaign=campaign)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Dashboard: %(title)s") % {"title": campaign.title},
        "campaign": campaign,
        "d": data,
        "t": data.totals,
        "points": points,
        "monthly": selectors.monthly_dashboard(campaign=campaign),
        "chart": charts.chart_svg(
            points=points,
            goal=cad(campaign.community_goal.amount),
            title=gettext("Money raised over time"),
        ),
        "opts": model_admin.model._meta,
        "export_url": reverse("admin:donations_donation_export", args=[campaign.pk]),
    }
    return TemplateResponse(request, "admin/donations/dashboard.html", context)


def export_csv(
    model_admin: ModelAdmin, request: HttpRequest, campaign_id: int
) -> StreamingHttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    response = StreamingHttpResponse(
        exports.csv_lines(campaign=campaign), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="{campaign.slug}-donations-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


class RefundForm(forms.Form):
    amount = forms.CharField(label=_("Amount to refund (CAD)"), max_length=32)
    reason = forms.CharField(
        label=_("Reason (kept with the refund)"), max_length=500, widget=forms.Textarea({"rows": 3})
    )

    def __init__(self, *args: Any, available: Decimal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.available = available

    def clean_amount(self) -> Decimal:
        value = parse_amount(self.cleaned_data.get("amount", ""))
        if value <= 0 or value > self.available:
            raise forms.ValidationError(
                _("Enter an amount from $0.01 to $%(max)s.") % {"max": f"{self.available:.2f}"}
            )
        return value


def refund(model_admin: ModelAdmin, request: HttpRequest, object_id: int) -> HttpResponse:
    """Two steps: the form, then a confirmation page; only the confirmed POST asks for a refund."""
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    donation = get_object_or_404(Donation.objects.select_related("campaign"), pk=object_id)
    change_url = reverse("admin:donations_donation_change", args=[donation.pk])
    available = services.refund_available(donation=donation)
    form = RefundForm(
        request.POST or None,
        available=available.amount,
        initial={"amount": f"{available.amount:.2f}"},
    )
    confirming = False
    if request.method == "POST" and form.is_valid():
        amount = cad(form.cleaned_data["amount"])
        if request.POST.get("confirm") == "yes":
            try:
                with transaction.atomic():
                    services.refund_request(
                        donation=donation,
                        amount=amount,
                        reason=form.cleaned_data["reason"],
                        user=request.user,
                    )
            except services.RefundRefused as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    gettext(
                        "Refund of %(amount)s sent to Stripe. The totals change when Stripe "
                        "confirms it."
                    )
                    % {"amount": amount},
                )
                return redirect(change_url)
        else:
            confirming = True
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Refund a donation"),
        "donation": donation,
        "available": available,
        "form": form,
        "confirming": confirming,
        "amount": cad(form.cleaned_data["amount"]) if confirming else None,
        "opts": model_admin.model._meta,
        "original": donation,
        "change_url": change_url,
    }
    return TemplateResponse(request, "admin/donations/refund.html", context)
