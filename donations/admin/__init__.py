"""The organizer's admin for donations: gifts, refunds, events and offline gifts (`donations`),
stages, pledges and closing the case (`pledges`), monthly gifts (`monthly`), the dashboard and its
export (`views`)."""

from donations.admin.donations import DonationAdmin, OfflineGiftAdmin, RefundAdmin, StripeEventAdmin
from donations.admin.erasure import ErasureRequestAdmin
from donations.admin.monthly import MonthlyGiftAdmin
from donations.admin.pledges import CaseClosureAdmin, PledgeAdmin, StageAdmin

__all__ = [
    "CaseClosureAdmin",
    "DonationAdmin",
    "ErasureRequestAdmin",
    "MonthlyGiftAdmin",
    "OfflineGiftAdmin",
    "PledgeAdmin",
    "RefundAdmin",
    "StageAdmin",
    "StripeEventAdmin",
]
