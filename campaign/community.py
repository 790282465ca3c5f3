"""The community's share: how many members gave, and how few need to give to finish.

"If 1 in 500 members gives $25, we are done": the phrase is chosen from the amount still needed
and the community's size. Gifts are tried from the smallest suggested amount up, and for each the
smallest share of members (1 in 10,000 first, then 1 in 5,000, ... down to 1 in 10) whose gifts
cover what is left, so the ask is always the most modest one that is true.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from djmoney.money import Money

from core.money import cad

SUGGESTED_GIFTS = (Decimal("25"), Decimal("50"), Decimal("100"))
ONE_IN = (10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10)


@dataclass(frozen=True)
class CommunityShare:
    donor_count: int
    member_count: int
    percent_of_members: Decimal  # 2 places under 1%, else 1 place
    one_in: int | None  # "1 in N members": None when nothing is left or no phrase is true
    gift: Money | None
    givers: int  # members // one_in: how many gifts the phrase asks for


def community_share(
    *, donor_count: int, member_count: int, remaining: Money
) -> CommunityShare | None:
    if member_count <= 0:
        return None
    percent = Decimal(donor_count) * 100 / Decimal(member_count)
    places = Decimal("0.01") if percent < 1 else Decimal("0.1")
    share = percent.quantize(places, rounding=ROUND_HALF_UP)
    if remaining.amount > 0:
        for gift in SUGGESTED_GIFTS:
            for one_in in ONE_IN:
                givers = member_count // one_in
                if givers >= 1 and givers * gift >= remaining.amount:
                    return CommunityShare(
                        donor_count, member_count, share, one_in, cad(gift), givers
                    )
    return CommunityShare(donor_count, member_count, share, None, None, 0)
