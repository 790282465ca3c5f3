"""Fixtures only: the people, a campaign, the Stripe fake, settings every test runs under.

Helpers live in `tests/support/` (factories, payments, webhooks, mail, live processes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from campaign.models import Campaign
from config.celery import app as celery_app
from donations.services import checkout_rate
from testing.stripe_fake import StripeFake
from tests.support import stripe_contract
from tests.support.factories import CampaignFactory, UserFactory
from tests.support.webhooks import WEBHOOK_SECRET


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))
    has_broker = bool(os.environ.get("CELERY_BROKER_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)"))
        if "worker" in item.keywords and not has_broker:
            item.add_marker(
                pytest.mark.skip(reason="needs a broker: set CELERY_BROKER_URL (CI does)")
            )


@pytest.fixture(autouse=True)
def _tasks_in_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tasks run in-process unless a test asks for a real worker."""
    eager = "worker" not in request.keywords
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _stripe_contract(request: pytest.FixtureRequest) -> Iterator[None]:
    """A request the Stripe fake refused fails the test (tests/support/stripe_contract.py)."""
    start = len(stripe_contract.REJECTIONS)
    yield
    stripe_contract.hold_to_contract(
        stripe_contract.rejections_since(start),
        expected=stripe_contract.MARKER in request.keywords,
    )


@pytest.fixture(autouse=True)
def _isolated_settings(settings: Any) -> None:
    settings.PAYMENT_GATEWAY = "demo"
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRETS = [WEBHOOK_SECRET]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # The local-memory cache outlives each test's rolled-back database, so nothing cached by one
    # test may reach the next; and the page cache (on by default when CACHE_URL is set, as in CI's
    # second pass) is off unless a test of it turns it on, so both passes test the same thing.
    cache.clear()
    checkout_rate._local.clear()  # the limiter's own log, kept while the cache is not Redis
    settings.PAGE_CACHE = False
    # Donation rate limits would trip over tests that donate many times; their own tests
    # (tests/security/test_card_testing.py) turn them on with a cleared cache.
    settings.RATELIMIT_ENABLE = False


@pytest.fixture
def campaign(db: None) -> Campaign:
    return CampaignFactory.create(slug="legal-defense-fund")


@pytest.fixture
def admin_user(db: None) -> Any:
    return UserFactory.create(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def donor(db: None) -> dict[str, str]:
    """What a member types into the donation form."""
    return {
        "amount": "25",
        "display_name": "Marie-Ève",
        "message": "On lâche pas!",
        "email": "marie@example.ca",
        "show_amount": "on",
    }


@pytest.fixture
def outsider(db: None) -> Any:
    return UserFactory.create(username="outsider", is_staff=False)


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeFake]:
    fake = StripeFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def stripe_fake(stripe_server: StripeFake, settings: Any) -> StripeFake:
    """Switch the gateway to Stripe, pointed at the local fake."""
    stripe_server.reset()
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = stripe_server.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 2.0
    return stripe_server


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"
