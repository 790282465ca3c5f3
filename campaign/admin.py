from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from audit.models import MoneyAction
from audit.services import audit_record
from campaign import selectors, services
from campaign.models import Campaign, GoalChange, LegalCost, Subscriber, Update, UpdateDelivery
from core.formatting import minutes_format, money_format
from donations import selectors as donation_selectors

MONEY_FIELDS = ("legal_cost", "community_goal", "hourly_rate")


class GoalChangeInline(admin.TabularInline):
    model = GoalChange
    extra = 0
    can_delete = False
    fields = ("changed_at", "old_legal_cost", "new_legal_cost", "reason")
    readonly_fields = fields
    verbose_name_plural = _("goal history (follows the legal-cost ledger)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "legal_cost", "community_goal", "hourly_rate", "is_active")
    list_filter = ("is_active",)
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("totals_summary", "dashboard_link")
    fieldsets = (
        (None, {"fields": ("slug", "organizer_name")}),
        (
            # Each French field beside its English one; an empty French field shows the English.
            _("Text, English and French"),
            {"fields": (("title", "title_fr"), ("summary", "summary_fr"), "story", "story_fr")},
        ),
        (_("Money"), {"fields": ("legal_cost", "community_goal", "hourly_rate")}),
        (_("Dates"), {"fields": ("starts_on", "ends_on", "is_active")}),
        (
            _("Community and surplus rule"),
            {"fields": ("member_count", "surplus_rule", "surplus_cause", "surplus_minimum")},
        ),
        (_("Totals"), {"fields": ("dashboard_link", "totals_summary")}),
    )
    inlines = (GoalChangeInline,)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and LegalCost.objects.filter(campaign=obj).exists():
            # The ledger governs the legal cost once it has a line: edit the ledger instead.
            fields += ("legal_cost",)
        if obj is not None and obj.donations.filter(confirmed_at__isnull=False).exists():
            # The surplus rule is a promise made before the first gift: it cannot change after.
            fields += ("surplus_rule", "surplus_minimum")
            if obj.surplus_rule == "cause":
                fields += ("surplus_cause",)
        return fields

    @admin.display(description=_("dashboard"))
    def dashboard_link(self, obj: Campaign) -> str:
        if obj.pk is None:
            return "—"
        return format_html(
            '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a>',
            reverse("admin:donations_donation_dashboard", args=[obj.pk]),
            _("Open the totals dashboard"),
            reverse("admin:donations_donation_export", args=[obj.pk]),
            _("Download donations (CSV)"),
        )

    def save_model(self, request: Any, obj: Campaign, form: Any, change: bool) -> None:
        # Goal, cost and rate changes reframe what members are asked for: log who and when.
        money = [name for name in MONEY_FIELDS if name in form.changed_data]
        before = Campaign.objects.filter(pk=obj.pk).first() if change else None
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if money:
                audit_record(
                    user=request.user,
                    action=MoneyAction.GOAL_CHANGE,
                    obj=obj,
                    detail={
                        name: {
                            "from": str(getattr(before, name).amount) if before else None,
                            "to": str(getattr(obj, name).amount),
                        }
                        for name in money
                    },
                )

    @admin.display(description=_("totals"))
    def totals_summary(self, obj: Campaign) -> str:
        if obj.pk is None:
            return "—"
        t = donation_selectors.campaign_totals(campaign=obj)
        rows = [
            (_("Gross received"), money_format(t.gross)),
            (_("Refunded"), money_format(t.refunded)),
            (_("Disputed"), money_format(t.disputed)),
            (_("Fees"), money_format(t.fees)),
            (_("Net"), money_format(t.net)),
            (_("Donors"), str(t.donor_count)),
            (_("Donations"), str(t.donation_count)),
            (_("Lawyer time funded"), minutes_format(t.minutes_funded)),
            (_("Still needed"), money_format(t.remaining)),
        ]
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        )


@admin.register(Update)
class UpdateAdmin(admin.ModelAdmin):
    list_display = (
        "title", "campaign", "is_published", "published_at", "edited_at", "emails_summary",
    )  # fmt: skip
    list_filter = ("campaign", "is_published")
    search_fields = ("title", "body", "title_fr", "body_fr")
    prepopulated_fields = {"slug": ("title",)}
    date_hierarchy = "published_at"
    readonly_fields = ("edited_at", "fanout_started_at", "emails_progress")
    fieldsets = (
        (None, {"fields": ("campaign", ("title", "title_fr"), "slug", "body", "body_fr")}),
        (
            _("Publishing"),
            {
                "fields": ("is_published", "published_at", "edited_at"),
                "description": _(
                    "A published update with a future time appears, and is emailed to "
                    "subscribers, on its own at that time."
                ),
            },
        ),
        (_("Emails to subscribers"), {"fields": ("fanout_started_at", "emails_progress")}),
    )

    def save_model(self, request: Any, obj: Update, form: Any, change: bool) -> None:
        changed = change and bool({"title", "body", "title_fr", "body_fr"} & set(form.changed_data))
        services.update_save(update=obj, content_changed=changed)

    @admin.display(description=_("emails"))
    def emails_summary(self, obj: Update) -> str:
        if obj.fanout_started_at is None:
            return "—"
        p = selectors.update_delivery_progress(update=obj)
        return str(
            _("%(sent)d sent, %(failed)d failed, %(pending)d pending")
            % {"sent": p["sent"], "failed": p["failed"], "pending": p["pending"] + p["sending"]}
        )

    @admin.display(description=_("progress"))
    def emails_progress(self, obj: Update) -> str:
        if obj.pk is None or obj.fanout_started_at is None:
            return str(
                _("Not sent yet: emails go out when the update is published and its time comes.")
            )
        p = selectors.update_delivery_progress(update=obj)
        url = reverse("admin:campaign_updatedelivery_changelist") + f"?update__id__exact={obj.pk}"
        rows = [
            (_("Sent"), p["sent"]),
            (_("Failed"), p["failed"]),
            (_("Pending"), p["pending"]),
            (_("Sending (interrupted if it stays)"), p["sending"]),
        ]
        return format_html(
            '<table>{}</table><a href="{}">{}</a>',
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
            url,
            _("See every delivery"),
        )


@admin.register(UpdateDelivery)
class UpdateDeliveryAdmin(admin.ModelAdmin):
    list_display = ("update", "subscriber", "status", "sent_at", "error")
    list_filter = ("status", "update")
    search_fields = ("subscriber__email",)
    list_select_related = ("update", "subscriber")
    readonly_fields = ("update", "subscriber", "status", "error", "claimed_at", "sent_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ("email", "campaign", "state", "language", "created_at", "confirmed_at")
    list_filter = ("state", "campaign", "language")
    search_fields = ("email",)
    readonly_fields = (
        "campaign", "email", "state", "created_at", "confirmation_sent_at", "confirmed_at",
        "unsubscribed_at",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people subscribe themselves, and confirm by email (double opt-in)


class LegalCostForm(forms.ModelForm):
    class Meta:
        model = LegalCost
        fields = (
            "campaign", "date", "kind", "description", "hours", "rate", "flat_amount",
            "is_paid", "paid_on", "is_private",
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        hours, flat = data.get("hours"), data.get("flat_amount")
        if hours is None and flat is None:
            raise forms.ValidationError(_("Enter the hours billed, or a flat amount."))
        if hours is not None and flat is not None:
            raise forms.ValidationError(_("Enter hours or a flat amount, not both."))
        if hours is not None and hours <= 0:
            self.add_error("hours", _("Hours must be more than zero."))
        if flat is not None and flat.amount <= 0:
            self.add_error("flat_amount", _("The amount must be more than zero."))
        rate = data.get("rate")
        if rate is not None and rate.amount <= 0:
            self.add_error("rate", _("The rate must be more than zero."))
        return data


@admin.register(LegalCost)
class LegalCostAdmin(admin.ModelAdmin):
    """The case's ledger. Saving goes through the service, so the goal follows with a history."""

    form = LegalCostForm

    list_display = (
        "date", "campaign", "kind", "description", "hours", "rate", "amount", "is_paid",
        "is_private",
    )  # fmt: skip
    list_filter = ("campaign", "kind", "is_paid", "is_private")
    search_fields = ("description",)
    date_hierarchy = "date"
    fields = (
        "campaign", "date", "kind", "description", "hours", "rate", "flat_amount", "amount",
        "is_paid", "paid_on", "is_private",
    )  # fmt: skip
    readonly_fields = ("amount",)

    def save_model(self, request: Any, obj: LegalCost, form: Any, change: bool) -> None:
        services.legal_cost_save(entry=obj)

    def delete_model(self, request: Any, obj: LegalCost) -> None:
        services.legal_cost_delete(entry=obj)

    def delete_queryset(self, request: Any, queryset: QuerySet[LegalCost]) -> None:
        for entry in queryset:
            services.legal_cost_delete(entry=entry)
