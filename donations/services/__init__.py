"""Writes for donations. Each sub-domain is one module; `services.<name>` reaches the common ones.

`ledger` is the money choke point every state change goes through; `pledges`, `surplus`,
`recovery`, `privacy`, `moderation` and `fees` are reached as modules
(`services.pledges.pledge_start`)."""

from donations.services import fees, moderation, pledges, privacy, recovery, surplus
from donations.services.checkout import (
    FlagNotResolvable,
    checkout_begin,
    donation_cancel,
    donation_expire,
    donation_fee_record,
    donation_flag_resolve,
    donation_fulfil,
    donation_payment_failed,
    donation_start,
    receipt_mark_sent,
)
from donations.services.checkout_rate import checkout_wait_seconds
from donations.services.disputes import DISPUTE_OUTCOMES
from donations.services.ledger import (
    CONFIRMABLE,
    DonationNotFound,
    donation_change,
    donation_locked,
    is_uuid,
    milestones_check,
    rollups_rebuild,
    totals_for_update,
)
from donations.services.offline import (
    OFFLINE_CHANNELS,
    OFFLINE_EARLIEST,
    OfflineGiftRefused,
    offline_gift_check,
    offline_gift_record,
)
from donations.services.refunds import (
    RefundRefused,
    refund_available,
    refund_failure_record,
    refund_give_up,
    refund_record,
    refund_request,
    refund_submit,
    refunds_settle,
)
from donations.services.stripe_events import HANDLERS, event_process, event_record

__all__ = [
    "CONFIRMABLE",
    "DISPUTE_OUTCOMES",
    "DonationNotFound",
    "HANDLERS",
    "FlagNotResolvable",
    "OFFLINE_CHANNELS",
    "OFFLINE_EARLIEST",
    "OfflineGiftRefused",
    "RefundRefused",
    "checkout_begin",
    "checkout_wait_seconds",
    "donation_cancel",
    "donation_change",
    "donation_expire",
    "donation_fee_record",
    "donation_flag_resolve",
    "donation_fulfil",
    "donation_locked",
    "donation_payment_failed",
    "donation_start",
    "event_process",
    "event_record",
    "fees",
    "is_uuid",
    "milestones_check",
    "moderation",
    "offline_gift_check",
    "offline_gift_record",
    "pledges",
    "privacy",
    "receipt_mark_sent",
    "recovery",
    "refund_available",
    "refund_failure_record",
    "refund_give_up",
    "refund_record",
    "refund_request",
    "refund_submit",
    "refunds_settle",
    "rollups_rebuild",
    "stages",
    "surplus",
    "totals_for_update",
]
