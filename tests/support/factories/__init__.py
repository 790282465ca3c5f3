"""factory_boy factories for every model, with traits (`PledgeFactory(charged=True)`).

Where money counts, a trait goes through the service that moves it, so the campaign's totals agree
with the rows; each factory's docstring says when it builds a row only.
"""

from tests.support.factories.audit import MoneyAuditLogFactory
from tests.support.factories.campaign import (
    CampaignFactory,
    GoalChangeFactory,
    LegalCostFactory,
    StageFactory,
    SubscriberFactory,
    UpdateDeliveryFactory,
    UpdateFactory,
)
from tests.support.factories.donations import (
    AmountTallyFactory,
    CampaignTotalsFactory,
    CaseClosureFactory,
    DailyRollupFactory,
    DonationFactory,
    DonorTallyFactory,
    OfflineGiftFactory,
    PledgeFactory,
    RefundFactory,
    StripeEventFactory,
    SurplusShareFactory,
    confirmed_donation,
    pay,
)
from tests.support.factories.donor_page import DonorAccessFactory, ErasureRequestFactory
from tests.support.factories.monthly import MonthlyGiftFactory, MonthlyRenewalFailureFactory
from tests.support.factories.people import UserFactory

__all__ = [
    "MonthlyGiftFactory",
    "MonthlyRenewalFailureFactory",
    "AmountTallyFactory",
    "CampaignFactory",
    "CampaignTotalsFactory",
    "CaseClosureFactory",
    "DailyRollupFactory",
    "DonationFactory",
    "DonorAccessFactory",
    "DonorTallyFactory",
    "ErasureRequestFactory",
    "GoalChangeFactory",
    "LegalCostFactory",
    "MoneyAuditLogFactory",
    "OfflineGiftFactory",
    "PledgeFactory",
    "RefundFactory",
    "StageFactory",
    "StripeEventFactory",
    "SubscriberFactory",
    "SurplusShareFactory",
    "UpdateDeliveryFactory",
    "UpdateFactory",
    "UserFactory",
    "confirmed_donation",
    "pay",
]
