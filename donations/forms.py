from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from campaign.models import cad

PRESET_AMOUNTS = (10, 25, 50, 100, 250)
# Digits, optionally one decimal separator ("." or "," as in French) and at most two decimals.
# Anything else (exponents, signs, NaN, thousands separators, letters) is refused outright.
AMOUNT_PATTERN = re.compile(r"^\$?\s*(\d{1,7})(?:[.,](\d{1,2}))?\s*\$?$")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_amount(raw: str) -> Decimal:
    text = (raw or "").strip().replace("\u00a0", " ")
    if not text:
        raise forms.ValidationError(_("Enter an amount."), code="required")
    match = AMOUNT_PATTERN.match(text)
    if not match:
        if re.search(r"[.,]\d{3,}$", text):
            raise forms.ValidationError(
                _("Use at most two decimals, like 25 or 25.50."), code="decimals"
            )
        raise forms.ValidationError(
            _("Enter an amount in dollars, like 25 or 25.50."), code="invalid"
        )
    whole, cents = match.groups()
    try:
        return Decimal(f"{whole}.{(cents or '0').ljust(2, '0')}")
    except InvalidOperation as error:  # pragma: no cover - the pattern already excludes this
        raise forms.ValidationError(_("Enter a valid amount."), code="invalid") from error


class CleanTextField(forms.CharField):
    """Text from the public: control characters refused, surrounding space trimmed."""

    def clean(self, value: object) -> str:
        text: str = super().clean(value)
        if CONTROL_CHARS.search(text):
            raise forms.ValidationError(_("Remove the control characters."), code="control")
        return text


class DonationForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount (CAD)"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "transaction-amount", "size": 8}
        ),
    )
    display_name = CleanTextField(
        label=_("Name to show (optional)"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )
    message = CleanTextField(
        label=_("Public message (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )
    anonymous = forms.BooleanField(label=_("Give anonymously"), required=False)
    show_amount = forms.BooleanField(
        label=_("Show my amount publicly"), required=False, initial=True
    )
    email = forms.EmailField(
        label=_("Email for your receipt (optional, never shown)"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_amount(self) -> Money:
        value = parse_amount(self.cleaned_data.get("amount", ""))
        minimum = Decimal(settings.DONATION_MIN_CAD)
        maximum = Decimal(settings.DONATION_MAX_CAD)
        if value < minimum:
            raise forms.ValidationError(
                _("The minimum gift is $%(min)s.") % {"min": f"{minimum:.2f}"}, code="min"
            )
        if value > maximum:
            raise forms.ValidationError(
                _("The maximum gift online is $%(max)s.") % {"max": f"{maximum:,.2f}"},
                code="max",
            )
        return cad(value)
