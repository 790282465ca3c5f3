"""Fixtures for the abuse tests: the donation rate limits switched on, with fresh counters."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture
def limits_on(settings):
    settings.RATELIMIT_ENABLE = True
    settings.DONATION_RATE_LIMIT = "5/10m"
    cache.clear()
    yield
    cache.clear()
