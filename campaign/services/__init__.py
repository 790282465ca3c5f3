"""Writes for campaigns: updates and their emails, subscriptions, the legal-cost ledger,
milestones, the demo seed. Callers use `services.<name>`; each sub-domain is one module."""

from campaign.services.demo import campaign_seed_demo
from campaign.services.legal_costs import legal_cost_delete, legal_cost_save, legal_cost_sync
from campaign.services.milestones import MILESTONES, milestone_drafts_prepare, milestones_reached
from campaign.services.subscriptions import (
    CONFIRM_MAX_AGE,
    CONFIRM_SALT,
    RESEND_CONFIRMATION_AFTER,
    UNSUBSCRIBE_SALT,
    subscriber_confirm,
    subscriber_confirm_token,
    subscriber_request,
    subscriber_resubscribe,
    subscriber_unsubscribe,
    subscriber_unsubscribe_token,
)
from campaign.services.updates import (
    STALE_SENDING,
    deliveries_expire_stale,
    deliveries_send,
    update_fanout_start,
    update_save,
    updates_due,
)

__all__ = [
    "CONFIRM_MAX_AGE",
    "CONFIRM_SALT",
    "MILESTONES",
    "RESEND_CONFIRMATION_AFTER",
    "STALE_SENDING",
    "UNSUBSCRIBE_SALT",
    "campaign_seed_demo",
    "deliveries_expire_stale",
    "deliveries_send",
    "legal_cost_delete",
    "legal_cost_save",
    "legal_cost_sync",
    "milestone_drafts_prepare",
    "milestones_reached",
    "subscriber_confirm",
    "subscriber_confirm_token",
    "subscriber_request",
    "subscriber_resubscribe",
    "subscriber_unsubscribe",
    "subscriber_unsubscribe_token",
    "update_fanout_start",
    "update_save",
    "updates_due",
]
