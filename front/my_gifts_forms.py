"""Forms of the donor's page ("Manage my gifts"): the sign-in request and the gift actions.

The display choices are the donation form's (the same labels, lengths and rules)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from core.forms import CleanTextField, parse_amount
from core.money import cad
from donations.models import Donation, MonthlyGift
from front.forms import SHOWN_AS_CHOICES, _dollars


class MyGiftsSignInForm(forms.Form):
    email = forms.EmailField(
        label=_("The email you gave with"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("We send a sign-in link to this address. No account, no password."),
    )


class DisplayForm(forms.Form):
    shown_as = forms.ChoiceField(
        label=_("On the list of supporters, show"),
        choices=SHOWN_AS_CHOICES,
        widget=forms.RadioSelect,
    )
    display_name = CleanTextField(
        label=_("Name or nickname to show"), max_length=80, required=False
    )
    show_amount = forms.BooleanField(label=_("Show my amount publicly"), required=False)
    message = CleanTextField(
        label=_("Public message (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )

    @classmethod
    def for_gift(
        cls, gift: Donation | MonthlyGift, *, data: object = None, prefix: str = ""
    ) -> DisplayForm:
        initial = {
            "shown_as": "anonymous" if gift.anonymous else "name",
            "display_name": gift.display_name,
            "show_amount": gift.show_amount,
            "message": gift.message,
        }
        return cls(
            data,  # type: ignore[arg-type]
            initial=initial,
            prefix=prefix or f"d-{gift.public_id}",
        )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("shown_as") in ("name", "nickname") and not data.get("display_name"):
            if "display_name" not in self.errors:
                self.add_error(
                    "display_name",
                    forms.ValidationError(
                        _("Enter the name to show, or choose “Anonymous”."), code="name_missing"
                    ),
                )
        return data


class MonthlyAmountForm(forms.Form):
    amount = forms.CharField(
        label=_("New monthly amount (CAD)"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
    )

    def clean_amount(self) -> Money:
        value = parse_amount(self.cleaned_data.get("amount", ""))
        minimum = Decimal(settings.DONATION_MIN_CAD)
        maximum = Decimal(settings.DONATION_MAX_CAD)
        if value < minimum:
            raise forms.ValidationError(
                _("The minimum gift is $%(min)s.") % {"min": _dollars(minimum)}, code="min"
            )
        if value > maximum:
            raise forms.ValidationError(
                _("The maximum gift online is $%(max)s.") % {"max": _dollars(maximum)},
                code="max",
            )
        return cad(value)
