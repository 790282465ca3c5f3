"""Reads for donations: totals, supporters, dashboard figures; `selectors.stages` for stages."""

from donations.selectors import monthly, stages
from donations.selectors.donations import (
    MAX_CHART_DAYS,
    PUBLIC_STATES,
    WALL_PAGE_SIZE,
    ChartPoint,
    Dashboard,
    PublicGift,
    Totals,
    campaign_dashboard,
    campaign_totals,
    chart_points,
    donation_by_public_id,
    donations_for_export,
    donor_wall,
    median_from_tally,
    public_gift,
    public_gifts_recent,
)
from donations.selectors.monthly import (
    MonthlyDashboard,
    MonthlyPace,
    monthly_dashboard,
    monthly_gifts_for_email,
    monthly_pace,
)

__all__ = [
    "ChartPoint",
    "Dashboard",
    "MAX_CHART_DAYS",
    "MonthlyDashboard",
    "MonthlyPace",
    "monthly",
    "monthly_dashboard",
    "monthly_gifts_for_email",
    "monthly_pace",
    "PUBLIC_STATES",
    "PublicGift",
    "Totals",
    "WALL_PAGE_SIZE",
    "campaign_dashboard",
    "campaign_totals",
    "chart_points",
    "donation_by_public_id",
    "donations_for_export",
    "donor_wall",
    "median_from_tally",
    "public_gift",
    "public_gifts_recent",
    "stages",
]
