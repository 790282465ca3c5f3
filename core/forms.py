"""Form fields every app's forms share: amounts as Canadians type them, and text from the public."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

# Digits, optionally one decimal separator ("." or "," as in French) and at most two decimals.
# Anything else (exponents, signs, NaN, thousands separators, letters) is refused outright.
AMOUNT_PATTERN = re.compile(r"^\$?\s*([0-9]{1,7})(?:[.,]([0-9]{1,2}))?\s*\$?$", re.ASCII)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_amount(raw: str) -> Decimal:
    text = (raw or "").strip().replace("\u00a0", " ")
    if not text:
        raise forms.ValidationError(_("Enter an amount."), code="required")
    match = AMOUNT_PATTERN.match(text)
    if not match:
        if re.search(r"[.,][0-9]{3,}$", text):
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
