from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from campaign.models import Campaign
from core.money import MoneyManager, cad, money_field

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
    """Where a card dispute stands, from Stripe's `status` (`disputes.DISPUTE_STATES`)."""

    NONE = "", _("none")
    INQUIRY = "inquiry", _("inquiry (nothing withdrawn)")
    INQUIRY_CLOSED = "inq_closed", _("inquiry closed")
    OPEN = "open", _("disputed")
    APPEAL = "appeal", _("dispute under appeal")
    WON = "won", _("dispute won")
    LOST = "lost", _("dispute lost")
    PREVENTED = "prevented", _("dispute prevented")


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
        _("dispute"), max_length=12, choices=DisputeState.choices, default="", blank=True
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.STRIPE
    )
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    message = models.TextField(_("message"), max_length=500, blank=True)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    show_amount = models.BooleanField(_("show amount publicly"), default=True)
    message_hidden = models.BooleanField(
        _("message hidden"),
        default=False,
        help_text=_("Hidden by a moderator: the message is no longer shown in public."),
    )
    covers_fees = models.BooleanField(
        _("covers the fees"),
        default=False,
        help_text=_("The donor added the processing fee so the campaign nets the chosen gift."),
    )
    fee_covered = money_field(
        verbose_name=_("fee covered"),
        help_text=_("Part of the amount the donor added to cover the processing fee, in CAD."),
    )
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
    reference = models.CharField(
        _("reference"),
        max_length=120,
        blank=True,
        help_text=_("For offline gifts: cheque number, e-Transfer reference, receipt book page."),
    )
    dispute_id = models.CharField(max_length=255, blank=True)
    monthly_gift = models.ForeignKey(
        "donations.MonthlyGift",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="donations",
        help_text=_("The monthly gift this payment renews, if any (one donation per invoice)."),
    )
    invoice_id = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Stripe's invoice paid by this donation (monthly gifts only)."),
    )
    dispute_status = models.CharField(
        _("Stripe's dispute status"), max_length=40, blank=True, help_text=_("As Stripe sent it.")
    )
    dispute_amount = money_field(
        verbose_name=_("disputed amount"),
        help_text=_("What the cardholder disputes (the dispute's own amount), in CAD."),
    )
    dispute_withdrawn = money_field(
        verbose_name=_("withdrawn for the dispute"),
        help_text=_("What Stripe withdrew for the dispute and has not given back: held out."),
    )
    dispute_fee = money_field(
        verbose_name=_("dispute fee"),
        help_text=_("The dispute fees Stripe charged (less any returned), counted in the fees."),
    )
    attention = models.CharField(
        _("for the organizer"),
        max_length=500,
        blank=True,
        help_text=_("Something to look at; unlike a flag, it does not change the totals."),
    )
    fee_attempts = models.PositiveIntegerField(default=0, editable=False)
    fee_retry_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When Stripe is asked for the fee again.")
    )

    # Not plain models.Manager(): see MoneyManager, or Money in filters and F() updates breaks.
    objects = MoneyManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="donation_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_refunded__gte=0)
                & models.Q(amount_refunded__lte=models.F("amount")),
                name="donation_refund_within_amount",
            ),
            # A paid invoice is one gift however many times Stripe reports it.
            models.UniqueConstraint(
                fields=["invoice_id"],
                condition=~models.Q(invoice_id=""),
                name="donation_invoice_once",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "state", "-confirmed_at"], name="donation_wall_idx"),
            models.Index(fields=["campaign", "donor_key"], name="donation_donor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.get_state_display()})"

    def save(self, *args: object, **kwargs: object) -> None:
        # An erased donor (donations.privacy) keeps a random key with no email, so the donor count
        # stays exact; only a real email sets the key.
        if self.email or not self.donor_key.startswith(ERASED_KEY_PREFIX):
            self.donor_key = donor_key_for(self.email)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_counted(self) -> bool:
        return self.state in (DonationState.CONFIRMED, DonationState.REFUNDED) and not self.flag

    @property
    def net_amount(self) -> Money:
        return cad(self.contribution().gross - self.contribution().refunded)

    @property
    def gift(self) -> Money:
        """What the donor chose to give: the amount less any fee they added to cover."""
        return cad(self.amount.amount - self.fee_covered.amount)

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
        # Only what Stripe withdrew and kept for a dispute is held out: nothing for an inquiry,
        # part of the gift for a partial dispute, nothing once it was given back.
        disputed = min(max(self.dispute_withdrawn.amount, ZERO), amount - refunded)
        return Contribution(
            gross=amount,
            refunded=refunded,
            disputed=disputed,
            fees=self.fee.amount + self.dispute_fee.amount,
            offline=amount if self.channel not in ONLINE_CHANNELS else ZERO,
            donations=1 if refunded < amount else 0,
        )


ERASED_KEY_PREFIX = "erased:"


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
    offline = money_field(
        help_text=_("Part of the gross received offline (cheque, cash, e-Transfer).")
    )
    donation_count = models.PositiveIntegerField(default=0)
    donor_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MoneyManager()

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
    """How many counted gifts one donor (by email hash) has in a campaign: an exact donor count."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE)
    donor_key = models.CharField(max_length=64)
    counted = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "donor_key"], name="donor_tally_unique")
        ]

    def __str__(self) -> str:
        return f"{self.donor_key[:8]}: {self.counted}"


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
    # While failed, the failure in full (as dj-stripe keeps it): why the event did not apply,
    # readable in the admin without the server logs.
    traceback = models.TextField(blank=True)
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


# --- Monthly gifts: a Stripe subscription whose every paid invoice is one Donation ----------


class MonthlyStatus(models.TextChoices):
    PENDING = "pending", _("awaiting the first payment")
    ACTIVE = "active", _("active")
    PAST_DUE = "past_due", _("renewal failed")
    ENDING = "ending", _("ends at the end of the period")
    ENDED = "ended", _("ended")


class MonthlyEndReason(models.TextChoices):
    NONE = "", _("none")
    DONOR = "donor", _("cancelled by the donor")
    COVERED = "covered", _("the legal cost is covered")
    CLOSURE = "closure", _("the case is closed")
    ADMIN = "admin", _("cancelled by the organizer")
    STRIPE = "stripe", _("ended by Stripe")


class MonthlyGift(models.Model):
    """A gift renewed every month by a Stripe subscription.

    Money counts only through `donations`: each paid invoice is one Donation (unique on the
    invoice id) moved by `ledger.donation_change`, so a renewal counts once whatever the order and
    number of Stripe's events. `status` follows the subscription. `stop_claimed_at` is claimed by
    a conditional update, so an automatic stop (goal met, case closed) is made once, however many
    gifts cross the goal together.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="monthly_gifts")
    amount = money_field(
        verbose_name=_("monthly amount"),
        help_text=_("Charged every month, in CAD (the gift plus any fee the donor covers)."),
    )
    covers_fees = models.BooleanField(_("covers the fees"), default=False)
    fee_covered = money_field(
        verbose_name=_("fee covered"),
        help_text=_("Part of the monthly amount added to cover the processing fee, in CAD."),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=MonthlyStatus.choices,
        default=MonthlyStatus.PENDING,
        help_text=_("Follows the Stripe subscription; only paid invoices count in the totals."),
    )
    until_covered = models.BooleanField(
        _("until the legal cost is covered"),
        default=False,
        help_text=_("Ends by itself when the community goal is met or the case is closed."),
    )
    email = models.EmailField(_("email"))
    language = models.CharField(max_length=8, default="en", help_text=_("Language for emails."))
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    message = models.TextField(_("message"), max_length=500, blank=True)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    show_amount = models.BooleanField(_("show amount publicly"), default=True)
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    subscription_id = models.CharField(max_length=255, blank=True)
    customer_id = models.CharField(max_length=255, blank=True)
    current_period_end = models.DateTimeField(
        null=True, blank=True, help_text=_("When the paid month ends (the next renewal).")
    )
    end_reason = models.CharField(
        max_length=10, choices=MonthlyEndReason.choices, default="", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    stop_claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the automatic end (goal met, case closed) was claimed, once."),
    )
    ending_email_sent_at = models.DateTimeField(null=True, blank=True)

    objects = MoneyManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("monthly gift")
        verbose_name_plural = _("monthly gifts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="monthly_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["subscription_id"],
                condition=~models.Q(subscription_id=""),
                name="monthly_subscription_once",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "status"], name="monthly_campaign_status_idx")]

    def __str__(self) -> str:
        return f"{self.amount}/month ({self.get_status_display()})"

    @property
    def gift(self) -> Money:
        """What the donor chose to give each month, less any fee they cover."""
        return cad(self.amount.amount - self.fee_covered.amount)

    @property
    def public_name(self) -> str:
        if self.anonymous or not self.display_name.strip():
            return str(_("Anonymous"))
        return self.display_name

    @property
    def is_live(self) -> bool:
        """Still renewing (or retrying a failed renewal)."""
        return self.status in (MonthlyStatus.ACTIVE, MonthlyStatus.PAST_DUE)


class MonthlyRenewalFailure(models.Model):
    """A renewal Stripe could not charge (`invoice.payment_failed`): counts nothing; the supporter
    is told once per invoice how to update the card, and Stripe's retries decide the rest."""

    gift = models.ForeignKey(MonthlyGift, on_delete=models.CASCADE, related_name="failures")
    invoice_id = models.CharField(max_length=255, unique=True)
    attempt_count = models.PositiveIntegerField(default=1)
    failed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    recovered = models.BooleanField(default=False, help_text=_("A later attempt paid the invoice."))

    class Meta:
        ordering = ["-failed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.invoice_id} ({self.attempt_count})"


class ReconcileCursor(models.Model):
    """Where reconciliation's last successful run stopped: the newest Stripe event it read.

    Written only when a run completes, so a run cut short starts again from the same place.
    """

    name = models.CharField(max_length=40, unique=True)
    event_created = models.BigIntegerField(help_text=_("Unix time of the newest event read."))
    event_id = models.CharField(max_length=255, blank=True)
    completed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("reconciliation cursor")
        verbose_name_plural = _("reconciliation cursors")

    def __str__(self) -> str:
        return f"{self.name} @ {self.event_created}"


class OfflineGift(Donation):
    """Gifts received outside Stripe (cheque, cash, Interac e-Transfer), recorded by the admin."""

    class Meta:
        proxy = True
        verbose_name = _("offline gift")
        verbose_name_plural = _("offline gifts")


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("requested")
    SUBMITTED = "submitted", _("sent to Stripe")
    CONFIRMED = "confirmed", _("confirmed by Stripe")
    FAILED = "failed", _("failed")
    CANCELED = "canceled", _("canceled at Stripe")


class Refund(models.Model):
    """A refund the admin asked for. Totals move only when Stripe's `charge.refunded` confirms."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    donation = models.ForeignKey(Donation, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field(verbose_name=_("amount"), help_text=_("Amount to give back, in CAD."))
    reason = models.CharField(_("reason"), max_length=500)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=RefundStatus.choices,
        default=RefundStatus.REQUESTED,
        help_text=_("Totals change only when Stripe confirms the refund."),
    )
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    payment_intent_id = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("The payment refunded when it is not the donation's own (a second payment)."),
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    objects = MoneyManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.get_status_display()})"

    @property
    def idempotency_key(self) -> str:
        return f"refund-{self.public_id}"


class DailyRollup(models.Model):
    """One campaign's totals moved on one day (local time), for the chart and the dashboard.

    Changed in the same transaction as `CampaignTotals`, from the same contribution deltas.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="daily_rollups")
    day = models.DateField()
    gross = money_field()
    refunded = money_field()
    disputed = money_field()
    fees = money_field()
    offline = money_field()
    donation_count = models.IntegerField(default=0)

    objects = MoneyManager()

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day"], name="daily_rollup_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day}"

    @property
    def raised(self) -> Decimal:
        return self.gross.amount - self.refunded.amount - self.disputed.amount


class AmountTally(models.Model):
    """How many counted gifts keep each amount, so the median is read without scanning donations."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="amount_tallies")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "amount"], name="amount_tally_unique")
        ]

    def __str__(self) -> str:
        return f"{self.amount} × {self.count}"


# --- Contingent pledges toward a possible stage, and the surplus at the case's end -----------


class PledgeState(models.TextChoices):
    SETUP = "setup", _("saving card")
    PLEDGED = "pledged", _("pledged")
    CHARGING = "charging", _("charging")
    CHARGED = "charged", _("charged")
    NEEDS_ACTION = "needs_action", _("needs action")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled by the pledger")
    RELEASED = "released", _("released")


# Pledges that still promise money: what a stage shows as "pledged".
PLEDGE_OPEN_STATES = (
    PledgeState.PLEDGED,
    PledgeState.CHARGING,
    PledgeState.NEEDS_ACTION,
    PledgeState.FAILED,
)


class Pledge(models.Model):
    """A promise to give toward a possible stage, charged off session only if it goes ahead.

    The card is saved through Checkout in setup mode. Charging moves the row, under a row lock,
    pledged → charging → charged / needs_action / failed; the Stripe call in between carries an
    idempotency key derived from the pledge, so a retried task or a dead worker never charges twice.
    The money counts only through `donation`, when Stripe's payment_intent.succeeded arrives.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    stage = models.ForeignKey("campaign.Stage", on_delete=models.PROTECT, related_name="pledges")
    amount = money_field(verbose_name=_("amount"), help_text=_("Charged only if the stage starts."))
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=PledgeState.choices,
        default=PledgeState.SETUP,
        help_text=_("Charged means Stripe accepted the payment; the totals follow the webhook."),
    )
    email = models.EmailField(_("email"))
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    # Off unless the pledger ticks it: a pledge form that never asked must not publish the amount.
    show_amount = models.BooleanField(
        _("show amount publicly"),
        default=False,
        help_text=_("The pledger asked to show the amount on the list of supporters once charged."),
    )
    language = models.CharField(max_length=8, default="en")
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    customer_id = models.CharField(max_length=255, blank=True)
    payment_method_id = models.CharField(max_length=255, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    donation = models.OneToOneField(
        Donation, null=True, blank=True, on_delete=models.PROTECT, related_name="pledge"
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    pledged_at = models.DateTimeField(null=True, blank=True)
    charge_started_at = models.DateTimeField(null=True, blank=True)
    charged_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    # One stamp per email kind: a pledger asked to authenticate still hears that it was released.
    outcome_sent_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the 'action needed' email was sent.")
    )
    declined_sent_at = models.DateTimeField(null=True, blank=True)
    released_sent_at = models.DateTimeField(null=True, blank=True)
    detached_at = models.DateTimeField(null=True, blank=True)

    objects = MoneyManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("pledge")
        verbose_name_plural = _("pledges")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="pledge_amount_positive"),
        ]
        indexes = [models.Index(fields=["stage", "state"], name="pledge_stage_state_idx")]

    def __str__(self) -> str:
        return f"{self.amount} ({self.get_state_display()})"

    @property
    def public_name(self) -> str:
        if self.anonymous or not self.display_name.strip():
            return str(_("Anonymous"))
        return self.display_name


class ClosureState(models.TextChoices):
    REFUNDING = "refunding", _("refunding")
    DONE = "done", _("done")


class CaseClosure(models.Model):
    """The case is over: the final accounts, frozen when the admin confirmed them."""

    campaign = models.OneToOneField(Campaign, on_delete=models.PROTECT, related_name="closure")
    rule = models.CharField(max_length=8, help_text=_("The surplus rule in force at closing."))
    cause = models.CharField(max_length=200, blank=True)
    raised = money_field(
        help_text=_("Kept from donations at closing: gross less refunds, disputes.")
    )
    fees = money_field(help_text=_("Processing fees paid."))
    spent = money_field(help_text=_("Legal costs paid, the sum of the stages' spent amounts."))
    recovered = money_field(help_text=_("Money recovered from the other side (costs awarded)."))
    surplus = money_field(help_text=_("raised − fees + recovered − spent, never negative."))
    refunded = money_field(help_text=_("Part of the surplus returned to donors."))
    given = money_field(help_text=_("Part of the surplus given to the named cause."))
    state = models.CharField(max_length=10, choices=ClosureState.choices)
    closed_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.CharField(max_length=150, blank=True)

    objects = MoneyManager()

    class Meta:
        verbose_name = _("case closure")
        verbose_name_plural = _("case closures")

    def __str__(self) -> str:
        return f"Closure of {self.campaign_id}"

    @property
    def balance(self) -> Money:
        """What is left once everything is accounted for: zero when the books are right."""
        return cad(
            self.raised.amount
            - self.fees.amount
            + self.recovered.amount
            - self.spent.amount
            - self.refunded.amount
            - self.given.amount
        )


class ShareState(models.TextChoices):
    PENDING = "pending", _("pending")
    REQUESTED = "requested", _("refund requested")  # its Refund row tells sent/confirmed/failed
    FAILED = "failed", _("failed")
    MANUAL = "manual", _("to repay by hand")


class SurplusShare(models.Model):
    """One gift's share of the surplus, refunded through the gateway or repaid by hand (offline)."""

    closure = models.ForeignKey(CaseClosure, on_delete=models.CASCADE, related_name="shares")
    donation = models.ForeignKey(Donation, on_delete=models.PROTECT, related_name="surplus_shares")
    amount = money_field(help_text=_("Exact share in CAD (largest remainder method)."))
    state = models.CharField(max_length=10, choices=ShareState.choices, default=ShareState.PENDING)
    refund = models.OneToOneField(
        "donations.Refund",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="surplus_share",
        help_text=_("The refund sent through the gateway, with its outcome."),
    )
    error = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MoneyManager()

    class Meta:
        ordering = ["closure", "id"]
        constraints = [
            models.UniqueConstraint(fields=["closure", "donation"], name="surplus_share_once"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="surplus_share_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} → {self.donation_id} ({self.outcome})"

    @property
    def outcome(self) -> str:
        """What became of the share: the refund's status once one was requested."""
        if self.refund is not None:
            return str(self.refund.status)
        return str(self.state)


# --- The donor's page ("Manage my gifts") -------------------------------------------------------


class DonorAccess(models.Model):
    """The newest sign-in link to one donor's page. A link carries this row's nonce, so issuing a
    newer link voids every older one, and erasing the donor (which blanks the email of every row
    holding it, donations.services.privacy) voids them all."""

    email = models.EmailField(_("email"), db_index=True)
    nonce = models.CharField(max_length=32)
    issued_at = models.DateTimeField()

    class Meta:
        verbose_name = _("donor sign-in link")
        verbose_name_plural = _("donor sign-in links")

    def __str__(self) -> str:
        return f"Link issued {self.issued_at:%Y-%m-%d %H:%M}"


class ErasureRequest(models.Model):
    """A donor asked, from their page, for their personal data to be erased. The organizer confirms
    it in the admin, which runs the erasure: the money records stay, the person's details go."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(
        _("email"), blank=True, help_text=_("Blank once the erasure is done: it erased this too.")
    )
    language = models.CharField(max_length=8, default="en")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.CharField(_("confirmed by"), max_length=150, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("erasure request")
        verbose_name_plural = _("erasure requests")

    def __str__(self) -> str:
        state = "confirmed" if self.confirmed_at else "waiting"
        return f"Erasure requested {self.requested_at:%Y-%m-%d} ({state})"
