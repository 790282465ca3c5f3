from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from core.formatting import babel_locale
from core.forms import CleanTextField, parse_amount
from core.money import cad

PRESET_AMOUNTS = (10, 25, 50, 100, 250)


def _dollars(value: Decimal) -> str:
    """The number in a limit message, as the reader writes it: "10,000.00" / "10 000,00"."""
    return format_decimal(value, format="#,##0.00", locale=babel_locale())


SHOWN_AS_CHOICES = [
    ("name", _("My name")),
    ("nickname", _("A nickname")),
    ("anonymous", _("Nothing: “Anonymous”")),
]


FREQUENCY_CHOICES = [
    ("once", _("Once")),
    ("monthly", _("Every month")),
]


# Laid out by templates/campaign/_donor_choices.html, _cover_fees.html and
# templates/donations/_frequency.html, not by the generic loop.
GROUPED_FIELDS = (
    "amount", "cover_fees", "shown_as", "display_name", "show_amount", "message", "website",
    "frequency", "until_covered",
)  # fmt: skip
HONEYPOT_FIELD = "website"


class DonationForm(forms.Form):
    frequency = forms.ChoiceField(
        label=_("How often"),
        choices=FREQUENCY_CHOICES,
        initial="once",
        required=False,
        widget=forms.RadioSelect,
    )
    until_covered = forms.BooleanField(
        label=_("Stop my monthly gift by itself once the legal cost is covered"),
        help_text=_(
            "When members have given the whole community share (or the case is closed), the "
            "monthly gift ends and you get an email: nothing more is charged."
        ),
        required=False,
    )
    amount = forms.CharField(
        label=_("Amount (CAD)"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "transaction-amount", "size": 8}
        ),
    )
    display_name = CleanTextField(
        label=_("Name or nickname to show"),
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
    cover_fees = forms.BooleanField(
        label=_("Add the processing fee so the campaign receives my whole gift"),
        required=False,
    )
    shown_as = forms.ChoiceField(
        label=_("On the list of supporters, show"),
        choices=SHOWN_AS_CHOICES,
        initial="name",
        required=False,
        widget=forms.RadioSelect,
    )
    show_amount = forms.BooleanField(
        label=_("Show my amount publicly"), required=False, initial=True
    )
    email = forms.EmailField(
        label=_("Email for your receipt (optional, never shown)"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    subscribe = forms.BooleanField(
        label=_("Email me the campaign's updates (we send a link to confirm first)"),
        required=False,
    )

    # A honeypot against card-testing bots: hidden from people (templates/donations/_honeypot.html),
    # filled in by bots that fill every field. A filled one refuses the form before any payment.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_subscribe(self) -> bool:
        wanted = bool(self.cleaned_data.get("subscribe"))
        if wanted and not self.cleaned_data.get("email") and "email" not in self.errors:
            raise forms.ValidationError(
                _("Enter your email above to get the updates."), code="email_missing"
            )
        return wanted

    def clean_website(self) -> str:
        if (self.cleaned_data.get("website") or "").strip():
            self.add_error(
                None,
                forms.ValidationError(
                    _("Your donation could not be started. Please try again."), code="honeypot"
                ),
            )
        return ""

    def extra_fields(self) -> list[forms.BoundField]:
        """Fields the page does not lay out in its own groups (added by other features)."""
        return [self[name] for name in self.fields if name not in GROUPED_FIELDS]

    def clean_frequency(self) -> str:
        # Absent from older forms and scripts: a one-off gift, as before.
        return str(self.cleaned_data.get("frequency") or "once")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        monthly = data.get("frequency") == "monthly"
        data["until_covered"] = monthly and bool(data.get("until_covered"))
        if monthly and not data.get("email") and "email" not in self.errors:
            self.add_error(
                "email",
                forms.ValidationError(
                    _("A monthly gift needs your email: for its receipts and to stop it."),
                    code="email_missing",
                ),
            )
        # "anonymous" is still accepted from older forms and scripts posting the plain checkbox.
        shown_as = data.get("shown_as") or ("anonymous" if self.data.get("anonymous") else "")
        data["anonymous"] = shown_as == "anonymous"
        if data["anonymous"]:
            data["display_name"] = ""
        elif shown_as in ("name", "nickname") and not data.get("display_name"):
            if "display_name" not in self.errors:
                self.add_error(
                    "display_name",
                    forms.ValidationError(
                        _("Enter the name to show, or choose “Anonymous”."), code="name_missing"
                    ),
                )
        return data

    def clean_amount(self) -> Money:
        value = parse_amount(self.cleaned_data.get("amount", ""))
        minimum = Decimal(settings.DONATION_MIN_CAD)
        maximum = Decimal(settings.DONATION_MAX_CAD)
        if value < minimum:
            raise forms.ValidationError(
                _("The minimum gift is $%(min)s.") % {"min": _dollars(minimum)},
                code="min",
            )
        if value > maximum:
            raise forms.ValidationError(
                _("The maximum gift online is $%(max)s.") % {"max": _dollars(maximum)},
                code="max",
            )
        return cad(value)


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


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("We send a link to confirm. One click in any email unsubscribes you."),
    )
