from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.money import cad
from donations import services
from donations.admin import views as admin_views
from donations.models import Channel, Donation, OfflineGift, Refund, StripeEvent


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = (
        "created_at",
        "amount",
        "reason",
        "status",
        "requested_by",
        "stripe_refund_id",
        "payment_intent_id",
        "error",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AttentionFilter(admin.SimpleListFilter):
    """Donations with something for the organizer (a second payment refunded, a fee Stripe never
    reported, a dispute status the site does not know), which do not change the totals."""

    title = _("for the organizer")
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Something to look at"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Donation]) -> QuerySet[Donation]:
        if self.value() == "yes":
            return queryset.exclude(attention="")
        return queryset


@admin.register(Donation)
class DonationAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "campaign", "amount", "amount_refunded", "state", "dispute_state",
        "channel", "display_name", "anonymous", "message_hidden", "email", "checkout_session_id",
        "flag", "attention",
    )  # fmt: skip
    list_filter = (
        "state", "channel", "dispute_state", AttentionFilter, "campaign", "anonymous",
        "message_hidden",
    )  # fmt: skip
    search_fields = (
        "display_name", "email", "message", "checkout_session_id", "payment_intent_id",
        "charge_id", "public_id",
    )  # fmt: skip
    date_hierarchy = "created_at"
    actions = ("hide_messages", "show_messages", "resolve_flags")
    list_select_related = ("campaign",)
    show_full_result_count = False
    readonly_fields = (
        "public_id", "campaign", "amount", "amount_refunded", "fee", "state", "dispute_state",
        "channel", "checkout_session_id", "payment_intent_id", "charge_id", "created_at",
        "confirmed_at", "receipt_sent_at", "donor_key", "language", "covers_fees", "fee_covered",
        "reference", "refund_link", "flag", "attention", "email", "dispute_id", "dispute_status",
        "dispute_amount", "dispute_withdrawn", "dispute_fee", "fee_attempts", "fee_retry_at",
    )  # fmt: skip
    # What an edit may write: display choices only. Everything else moves money or the donor count
    # and goes through a service (e.g. `resolve_flags`), so totals move with it.
    editable_fields = ("display_name", "message", "anonymous", "show_amount", "message_hidden")
    inlines = (RefundInline,)

    def has_add_permission(self, request: object) -> bool:
        # Online donations come from payments only; money never changes by editing a row.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A deleted row would leave the totals counting it; refunds and flags are the way out.
        return False

    def save_model(self, request: HttpRequest, obj: Donation, form: Any, change: bool) -> None:
        # Only the display fields the admin changed: a full save would overwrite the state or
        # refunded amount a webhook wrote while the form was open.
        changed = [name for name in form.changed_data if name in self.editable_fields]
        if change and changed:
            obj.save(update_fields=changed)

    @admin.action(description=_("Accept the flagged payment as received and count it"))
    def resolve_flags(self, request: HttpRequest, queryset: QuerySet[Donation]) -> None:
        resolved = 0
        for donation in queryset.exclude(flag=""):
            with transaction.atomic():
                try:
                    services.donation_flag_resolve(donation=donation, user=request.user)
                except services.FlagNotResolvable as error:
                    self.message_user(request, f"{donation}: {error}", level=messages.ERROR)
                    continue
            resolved += 1
        self.message_user(request, _("%(count)d flagged payment(s) counted.") % {"count": resolved})

    @admin.display(description=_("refund"))
    def refund_link(self, obj: Donation) -> str:
        if (
            obj.pk is None
            or not obj.is_counted
            or obj.channel not in (Channel.STRIPE, Channel.DEMO)
        ):
            return "—"
        if services.refund_available(donation=obj).amount <= 0:
            return str(_("Nothing left to refund."))
        url = reverse("admin:donations_donation_refund", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Refund…"))

    def get_urls(self) -> list[URLPattern]:
        def wrap(view: Any) -> Any:
            def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return view(self, request, *args, **kwargs)

            return self.admin_site.admin_view(inner)

        return [
            path(
                "<int:object_id>/refund/",
                wrap(admin_views.refund),
                name="donations_donation_refund",
            ),
            path(
                "dashboard/<int:campaign_id>/",
                wrap(admin_views.dashboard),
                name="donations_donation_dashboard",
            ),
            path(
                "export/<int:campaign_id>/",
                wrap(admin_views.export_csv),
                name="donations_donation_export",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=_("Hide the public message of the selected donations"))
    def hide_messages(self, request: HttpRequest, queryset: QuerySet[Donation]) -> None:
        count = services.moderation.donation_messages_hide(donations=queryset, hidden=True)
        self.message_user(request, _("%(count)d message(s) hidden.") % {"count": count})

    @admin.action(description=_("Show the public message of the selected donations again"))
    def show_messages(self, request: HttpRequest, queryset: QuerySet[Donation]) -> None:
        count = services.moderation.donation_messages_hide(donations=queryset, hidden=False)
        self.message_user(request, _("%(count)d message(s) shown again.") % {"count": count})


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "type", "stripe_id", "status", "attempts", "donation")
    list_filter = ("status", "type")
    search_fields = ("stripe_id", "type")
    readonly_fields = [f.name for f in StripeEvent._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


class OfflineGiftForm(forms.ModelForm):
    received_on = forms.DateField(
        label=_("Received on"), initial=timezone.localdate, help_text=_("The date on the cheque.")
    )
    gift_amount = forms.DecimalField(
        label=_("Amount (CAD)"), min_value=cad("0.01").amount, max_digits=12, decimal_places=2
    )
    channel = forms.ChoiceField(
        label=_("Received by"),
        choices=[(c.value, c.label) for c in services.OFFLINE_CHANNELS],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("campaign") is not None and data.get("received_on") is not None:
            try:
                services.offline_gift_check(
                    campaign=data["campaign"], received_on=data["received_on"]
                )
            except services.OfflineGiftRefused as error:
                self.add_error("received_on", str(error))
        return data

    class Meta:
        model = OfflineGift
        fields = (
            "campaign", "channel", "reference", "display_name", "email", "anonymous",
            "show_amount", "message",
        )  # fmt: skip


@admin.register(OfflineGift)
class OfflineGiftAdmin(admin.ModelAdmin):
    """Cheques, cash and e-Transfers: recorded through the service so totals move with them."""

    form = OfflineGiftForm
    list_display = (
        "confirmed_at", "campaign", "amount", "channel", "reference", "display_name", "state",
    )  # fmt: skip
    list_filter = ("channel", "campaign")
    search_fields = ("display_name", "email", "reference")
    date_hierarchy = "confirmed_at"

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(channel__in=services.OFFLINE_CHANNELS)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return (
                "campaign", "received_on", "gift_amount", "channel", "reference",
                "display_name", "email", "anonymous", "show_amount", "message",
            )  # fmt: skip
        return (
            "campaign", "confirmed_at", "amount", "channel", "reference", "display_name",
            "email", "anonymous", "show_amount", "message", "state",
        )  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A recorded gift is part of the totals: amounts and dates never change by editing.
        return self.get_fields(request, obj) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return
        data = form.cleaned_data
        with transaction.atomic():
            gift = services.offline_gift_record(
                campaign=data["campaign"],
                amount=cad(data["gift_amount"]),
                channel=data["channel"],
                received_on=data["received_on"],
                display_name=data.get("display_name", ""),
                email=data.get("email", ""),
                anonymous=data.get("anonymous", False),
                show_amount=data.get("show_amount", True),
                message=data.get("message", ""),
                reference=data.get("reference", ""),
                user=request.user,
            )
        obj.pk = gift.pk
        obj._state.adding = False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "donation",
        "amount",
        "status",
        "requested_by",
        "stripe_refund_id",
    )
    list_filter = ("status",)
    search_fields = ("stripe_refund_id", "reason", "donation__public_id")
    readonly_fields = [f.name for f in Refund._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # refunds start from the donation's "Refund…" button, with a confirmation

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
