from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from campaign.formatting import hours_format, money_format
from donations import selectors as donation_selectors

from .models import Campaign, Update


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "legal_cost", "community_goal", "hourly_rate", "is_active")
    list_filter = ("is_active",)
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("totals_summary",)
    fieldsets = (
        (None, {"fields": ("title", "slug", "summary", "story", "organizer_name")}),
        (_("Money"), {"fields": ("legal_cost", "community_goal", "hourly_rate")}),
        (_("Dates"), {"fields": ("starts_on", "ends_on", "is_active")}),
        (_("Totals"), {"fields": ("totals_summary",)}),
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
            (_("Lawyer time funded"), hours_format(t.hours_funded)),
            (_("Still needed"), money_format(t.remaining)),
        ]
        cells = "".join(
            str(format_html("<tr><th>{}</th><td>{}</td></tr>", label, value))
            for label, value in rows
        )
        return format_html("<table>{}</table>", format_html(cells))  # noqa: S308


@admin.register(Update)
class UpdateAdmin(admin.ModelAdmin):
    list_display = ("title", "campaign", "is_published", "published_at", "edited_at")
    list_filter = ("campaign", "is_published")
    search_fields = ("title", "body")
    prepopulated_fields = {"slug": ("title",)}
    date_hierarchy = "published_at"
