from __future__ import annotations

from django.contrib import admin

from .models import Donation, StripeEvent


@admin.register(Donation)
class DonationAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "campaign", "amount", "amount_refunded", "state", "dispute_state",
        "channel", "display_name", "anonymous", "email", "checkout_session_id", "flag",
    )  # fmt: skip
    list_filter = ("state", "channel", "dispute_state", "campaign", "anonymous")
    search_fields = (
        "display_name", "email", "message", "checkout_session_id", "payment_intent_id",
        "charge_id", "public_id",
    )  # fmt: skip
    date_hierarchy = "created_at"
    list_select_related = ("campaign",)
    show_full_result_count = False
    readonly_fields = (
        "public_id", "campaign", "amount", "amount_refunded", "fee", "state", "dispute_state",
        "channel", "checkout_session_id", "payment_intent_id", "charge_id", "created_at",
        "confirmed_at", "receipt_sent_at", "donor_key", "language",
    )  # fmt: skip

    def has_add_permission(self, request: object) -> bool:
        # Online donations come from payments only; money never changes by editing a row.
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "type", "stripe_id", "status", "attempts", "donation")
    list_filter = ("status", "type")
    search_fields = ("stripe_id", "type")
    readonly_fields = [f.name for f in StripeEvent._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
