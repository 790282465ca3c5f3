from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from campaign.models import cad

from .forms import CleanTextField, parse_amount


class PledgeForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount to pledge (CAD)"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
    )
    email = forms.EmailField(
        label=_("Email"),
        help_text=_("For the confirmation and the link to cancel; never shown."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    display_name = CleanTextField(label=_("Name to show"), max_length=80, required=False)
    anonymous = forms.BooleanField(label=_("Pledge anonymously"), required=False)

    def clean_amount(self) -> Money:
        amount = parse_amount(self.cleaned_data.get("amount", ""))
        low, high = Decimal(settings.DONATION_MIN_CAD), Decimal(settings.DONATION_MAX_CAD)
        if amount < low:
            raise forms.ValidationError(
                _("The smallest pledge is %(min)s $.") % {"min": low}, code="min"
            )
        if amount > high:
            raise forms.ValidationError(
                _("The largest pledge is %(max)s $.") % {"max": high}, code="max"
            )
        return cad(amount)
