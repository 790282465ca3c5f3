from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from campaign.models import Campaign, cad, money_field

ZERO = Decimal("0.00")


class DonationState(models.TextChoices):
    PENDING = "pending", _("pending")
    PROCESSING = "processing", _("processing")
    CONFIRMED = "confirmed", _("confirmed")
    REFUNDED = "refunded", _("refunded")
    FAILED = "failed", _("failed")
    EXPIRED = "expired", _("expired")
    CANCELLED = "cancelled", _("cancelled")


class Channel(models.TextChoices):
    STRIPE = "stripe", _("Stripe")
    DEMO = "demo", _("Demo gateway")
    CHEQUE = "cheque", _("Cheque")
    CASH = "cash", _("Cash")
    INTERAC = "interac", _("Interac e-Transfer")


ONLINE_CHANNELS = (Channel.STRIPE, Channel.DEMO)


class DisputeState(models.TextChoices):
    NONE = "", _("none")
    OPEN = "open", _("disputed")
    WON = "won", _("dispute won")
    LOST = "lost", _("dispute lost")


@dataclass(frozen=True)
class Contribution:
    """What one donation adds to its campaign's totals, derived from its own fields only."""

    gross: Decimal = ZERO
    refunded: Decimal = ZERO
    disputed: Decimal = ZERO
    fees: Decimal = ZERO
    offline: Decimal = ZERO
    donations: int = 0


class Donation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="donations")
    amount = money_field(verbose_name=_("amount"), help_text=_("The gift, in CAD."))
    amount_refunded = money_field(
        verbose_name=_("refunded"), help_text=_("Total refunded so far, as Stripe reports it.")
    )
    fee = money_field(
        verbose_name=_("processing fee"), help_text=_("Stripe's fee, from the balance transaction.")
    )
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=DonationState.choices,
        default=DonationState.PENDING,
        help_text=_("Only confirmed (and partly refunded) donations count in the totals."),
    )
    dispute_state = models.CharField(
        _("dispute"), max_length=8, choices=DisputeState.choices, default="", blank=True
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.STRIPE
    )
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    message = models.TextField(_("message"), max_length=500, blank=True)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    show_amount = models.BooleanField(_("show amount publicly"), default=True)
    email = models.EmailField(_("email"), blank=True)
    language = models.CharField(max_length=8, default="en", help_text=_("Language for emails."))
    # A hash of the normalized email, so donors are counted once without reading emails.
    donor_key = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    flag = models.CharField(
        _("flag for the admin"),
        max_length=255,
        blank=True,
        help_text=_("Set when a payment did not match this donation; it is not counted."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="donation_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(amount_refunded__gte=0)
                & models.Q(amount_refunded__lte=models.F("amount")),
                name="donation_refund_within_amount",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "state", "-confirmed_at"], name="donation_wall_idx"),
            models.Index(fields=["campaign", "donor_key"], name="donation_donor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.get_state_display()})"

    def save(self, *args: object, **kwargs: object) -> None:
        self.donor_key = donor_key_for(self.email)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_counted(self) -> bool:
        return (
            self.state in (DonationState.CONFIRMED, DonationState.REFUNDED) and not self.flag
        )

    @property
    def net_amount(self) -> Money:
        return cad(self.contribution().gross - self.contribution().refunded)

    @property
    def public_name(self) -> str:
        if self.anonymous or not self.display_name.strip():
            return str(_("Anonymous"))
        return self.display_name

    def contribution(self) -> Contribution:
        if not self.is_counted:
            return Contribution()
        amount = self.amount.amount
        refunded = min(self.amount_refunded.amount, amount)
        disputed = (
            amount - refunded
            if self.dispute_state in (DisputeState.OPEN, DisputeState.LOST)
            else ZERO
        )
        return Contribution(
            gross=amount,
            refunded=refunded,
            disputed=disputed,
            fees=self.fee.amount,
            offline=amount if self.channel not in ONLINE_CHANNELS else ZERO,
            donations=1 if refunded < amount else 0,
        )


def donor_key_for(email: str) -> str:
    normalized = email.strip().lower()
    return hashlib.sha256(normalized.encode()).hexdigest() if normalized else ""


class CampaignTotals(models.Model):
    """Running totals of one campaign, changed in the same transaction as the donations.

    Pages read this one row instead of summing every donation, so they cost the same at a thousand
    donations and at a million.
    """

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, primary_key=True, related_name="totals"
    )
    gross = money_field(help_text=_("Everything received, before refunds."))
    refunded = money_field(help_text=_("Refunded to donors."))
    disputed = money_field(help_text=_("Held or lost in card disputes."))
    fees = money_field(help_text=_("Payment processing fees."))
    offline = money_field(help_text=_("Part of the gross received offline (cheque, cash, e-Transfer)."))
    donation_count = models.PositiveIntegerField(default=0)
    donor_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("campaign totals")
        verbose_name_plural = _("campaign totals")

    def __str__(self) -> str:
        return f"Totals of {self.campaign_id}"

    @property
    def raised(self) -> Money:
        """Money the campaign keeps: received less refunds and disputes."""
        return cad(self.gross.amount - self.refunded.amount - self.disputed.amount)

    @property
    def net(self) -> Money:
        return cad(self.raised.amount - self.fees.amount)


class DonorTally(models.Model):
    """How many counted gifts one donor (by email hash) has in a campaign, for an exact donor count."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE)
    donor_key = models.CharField(max_length=64)
    counted = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "donor_key"], name="donor_tally_unique")
        ]


class EventStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    PROCESSED = "processed", _("processed")
    IGNORED = "ignored", _("ignored")
    FLAGGED = "flagged", _("flagged")
    FAILED = "failed", _("failed")


class StripeEvent(models.Model):
    """Every webhook event accepted, kept with its outcome (as dj-stripe does)."""

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    headers = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=EventStatus.choices, default=EventStatus.RECEIVED, db_index=True
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    donation = models.ForeignKey(
        Donation, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"
